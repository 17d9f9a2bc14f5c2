"""Patient links (R23, R24, R28): one row per issued link, holding its token's SHA-256, never the token."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import new_id, utc_column


class PatientLink(SQLModel, table=True):
    """A link issued to a patient: for one purpose (`manage`: one session), under its subject's version and
    the patient's epoch. Revoked by a row (`revoked_at`, or a newer epoch), so every process sees it at once."""

    __tablename__ = "patient_link"
    __table_args__ = (sa.Index("ix_patient_link_session_id_version", "session_id", "version"),)

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    token_hash: str = SQLField(unique=True)
    purpose: str
    session_id: uuid.UUID | None = SQLField(default=None, foreign_key="session.id")
    offer_id: uuid.UUID | None = None
    patient_id: uuid.UUID = SQLField(foreign_key="patient.id", index=True)
    version: int
    epoch: int
    created_at: datetime = SQLField(sa_column=utc_column())
    expires_at: datetime = SQLField(sa_column=utc_column())
    revoked_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))


class LinkSecret(SQLModel, table=True):
    """The link secret Prolo made at its first start, when `PROLO_LINK_SECRET` is not set (R23)."""

    __tablename__ = "link_secret"

    id: int = SQLField(default=1, primary_key=True)
    secret: str
    created_at: datetime = SQLField(sa_column=utc_column())


class SessionLink(BaseModel):
    """A session's current `manage` link: the same URL until it is revoked or expires."""

    link_id: uuid.UUID
    url: str = Field(
        description="Send it to the patient only: whoever holds it can confirm, cancel or move this session",
        examples=["https://prolo.example.org/p/q8Xz1v0cR2mN5tYb7LkPaw"],
    )
    purpose: str = Field(examples=["manage"])
    expires_at: datetime


class PatientLinkRead(BaseModel):
    """A link as staff see it: never its token."""

    id: uuid.UUID
    purpose: str = Field(examples=["manage"])
    session_id: uuid.UUID | None = None
    offer_id: uuid.UUID | None = None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = Field(
        default=None,
        description="When staff revoked it, the patient's phone or email changed, or they were archived",
    )
