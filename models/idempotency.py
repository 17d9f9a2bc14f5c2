"""Stored first answers to POSTs, under their Idempotency-Key (SPEC S5)."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import utc_column


class IdempotencyRecord(SQLModel, table=True):
    """A POST's first answer, kept 24 h under the caller's `Idempotency-Key` (SPEC S5)."""

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.Index("ix_idempotency_record_created_at", "created_at"),)

    api_key_id: uuid.UUID = SQLField(primary_key=True)
    key: str = SQLField(primary_key=True)
    fingerprint: str  # SHA-256 of the method, path and body
    created_at: datetime = SQLField(sa_column=utc_column())
    status_code: int
    body: str  # the answer as sent; for a secret shown once, what was made instead
    location: str | None = None
    secret: bool = False  # the answer held a secret: a retry is refused (409), never given it again
