"""Secret calendar-feed URLs (S9): one token per patient or practitioner, stored only as its SHA-256."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import new_id, utc_column


class CalendarToken(SQLModel, table=True):
    """The hash of the one token that opens an owner's feed; a new token replaces the row (the old one stops)."""

    __tablename__ = "calendar_token"
    __table_args__ = (sa.CheckConstraint("(patient_id IS NULL) <> (practitioner_id IS NULL)", name="one_owner"),)

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    token_hash: str = SQLField(unique=True)
    patient_id: uuid.UUID | None = SQLField(default=None, foreign_key="patient.id", unique=True)
    practitioner_id: uuid.UUID | None = SQLField(default=None, foreign_key="practitioner.id", unique=True)
    created_at: datetime = SQLField(sa_column=utc_column())


class CalendarFeedUrl(BaseModel):
    """A new secret feed URL: shown once, never stored (only its hash is)."""

    url: str = Field(
        description="Subscribe to it in a calendar app (iPhone, Google, Outlook: 'add calendar from URL'). "
        "Anyone holding it can read the feed, so hand it only to its owner; asking for a new one revokes it.",
        examples=["https://prolo.example.org/v1/calendar/3q2-7wEa9yH0b4T1rYg5nV8kLmZx6cPdQfJsUuWiAoE.ics"],
    )
