"""Patients' SMS replies (R29–R34): each message received, and the numbers that asked for no more texts."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import Instant, SingleLine, enum_column, json_column, new_id, utc_column
from models.patient import Phone
from scheduling.replies import Intent, Outcome


class InboundMessage(SQLModel, table=True):
    __tablename__ = "inbound_message"
    __table_args__ = (
        # R30: a provider's retry finds the first delivery, whose effects are already stored with it
        sa.UniqueConstraint("provider", "provider_message_id"),
        sa.Index("ix_inbound_message_from_number_received_at", "from_number", "received_at"),
    )

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    provider: str
    provider_message_id: str
    from_number: str  # E.164 when it could be read as a number, else as the provider sent it
    to_number: str | None = None
    body: str
    received_at: datetime = SQLField(sa_column=utc_column())
    created_at: datetime = SQLField(sa_column=utc_column())
    patient_id: uuid.UUID | None = SQLField(default=None, foreign_key="patient.id", index=True)
    session_ids: list[str] = SQLField(sa_column=json_column())
    intent: Intent = SQLField(sa_column=enum_column(Intent))
    outcome: Outcome = SQLField(sa_column=enum_column(Outcome))


class InboundMessageRead(BaseModel):
    id: uuid.UUID
    provider: str = Field(examples=["twilio"])
    provider_message_id: str = Field(examples=["SM0123456789abcdef0123456789abcdef"])
    from_number: str = Field(examples=["+14155550101"])
    to_number: str | None = None
    body: str = Field(examples=["C"])
    received_at: datetime
    patient_id: uuid.UUID | None = Field(default=None, description="Whose reply it is, when Prolo could tell")
    session_ids: list[uuid.UUID] = Field(description="The sessions of the open prompt it answered (R31)")
    intent: Intent = Field(description="What Prolo understood (R32)")
    outcome: Outcome = Field(
        description="`applied`: a session or the number's opt-out changed; `staff_item`: a person looks at it;"
        " `answered`: Prolo texted back; `none`: nothing to do"
    )


class SmsOptOut(SQLModel, table=True):
    __tablename__ = "sms_opt_out"

    number: str = SQLField(primary_key=True)  # E.164
    created_at: datetime = SQLField(sa_column=utc_column())
    source: str  # keyword | possible_opt_out | staff
    inbound_message_id: uuid.UUID | None = SQLField(default=None, foreign_key="inbound_message.id")
    source_note: str | None = None
    # lifted (an opt-in, or staff with their reason): kept with why, so the trail and the row both say it
    cleared_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    cleared_note: str | None = None


class SmsOptOutRead(BaseModel):
    number: str = Field(examples=["+14155550101"])
    created_at: datetime
    source: str = Field(examples=["keyword"], description="`keyword`, `possible_opt_out` or `staff`")
    inbound_message_id: uuid.UUID | None = None
    source_note: str | None = None


class SmsOptOutCreate(BaseModel):
    """An opt-out staff heard (by phone, at the desk): no more texts to this number."""

    number: Phone
    source_note: SingleLine = Field(
        min_length=1, max_length=500, examples=["Patient asked by phone on 3 Dec, no more texts"]
    )


class InboundSms(BaseModel):
    """R29 `prolo` provider: one received text, as the clinic's own gateway posts it."""

    message_id: SingleLine = Field(min_length=1, max_length=200)
    from_: str = Field(alias="from", min_length=1, max_length=40)
    to: str | None = Field(default=None, max_length=40)
    body: str = Field(max_length=8000)
    received_at: Instant | None = Field(default=None, description="When the provider got it; default: when posted")
