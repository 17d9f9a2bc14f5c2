"""API keys with roles (SPEC S4). Only a hash of each key is stored."""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import SingleLine, new_id, utc_column


class Role(StrEnum):
    admin = "admin"
    clinician = "clinician"
    frontdesk = "frontdesk"
    dispatcher = "dispatcher"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    name: str
    role: str
    key_hash: str = SQLField(unique=True)
    created_at: datetime = SQLField(sa_column=utc_column())
    revoked_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    # the minute it last authenticated a request (written at most once a minute per key and process)
    last_used_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))


class ApiKeyCreate(BaseModel):
    name: SingleLine = Field(min_length=1, max_length=200, examples=["Front desk PC 1"])
    role: Role


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="The minute this key last authenticated a request (minute resolution)"
    )


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="Shown only once: store it now")
