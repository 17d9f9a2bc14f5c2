"""Reminders: one message to one audience at one time, with its delivery state (R16–R22)."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import enum_column, json_column, new_id, only_where, utc_column
from scheduling.reminders import ReminderKind, ReminderStatus


class Reminder(SQLModel, table=True):
    __tablename__ = "reminder"
    __table_args__ = (
        # the dispatcher's claim: due pending reminders in due order
        sa.Index("ix_reminder_status_due_at", "status", "due_at"),
        # R19: at most one pending reminder per (session, kind, rule, offset)
        sa.Index(
            "uq_reminder_pending_slot",
            "session_id",
            "kind",
            "rule_code",
            "offset_minutes",
            unique=True,
            **only_where("status = 'pending'"),
        ),
        # R21: a key is made from its session's id (scheduling.reminders.reminder_key), so a key unique
        # within its session is unique everywhere. Session first: session ids are time-ordered, so a
        # booking's three dozen keys land together at the index's end, not on three dozen random pages
        # (a quarter of the pages a booking's commit wrote). It also finds a session's reminders.
        sa.Index("uq_reminder_session_id_idempotency_key", "session_id", "idempotency_key", unique=True),
        # R30: what one inbound text causes is made once (its answer, its staff items), whatever retries come;
        # only reminders that answer a text are in it (a booking's dozens are not: migration 0014)
        sa.Index(
            "uq_reminder_inbound_message_id_idempotency_key",
            "inbound_message_id",
            "idempotency_key",
            unique=True,
            **only_where("inbound_message_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    kind: ReminderKind = SQLField(sa_column=enum_column(ReminderKind))
    audience: str
    channel: str
    due_at: datetime = SQLField(sa_column=utc_column())
    # After this instant the message is stale (the appointment began, the window ended): R20 expires it.
    expires_at: datetime = SQLField(sa_column=utc_column())
    status: ReminderStatus = SQLField(default=ReminderStatus.pending, sa_column=enum_column(ReminderStatus))
    attempts: int = 0
    next_attempt_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    lease_until: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    leased_by: str | None = None
    idempotency_key: str
    # none for an answer to, or a staff item about, a text from a number no patient has (R31)
    patient_id: uuid.UUID | None = SQLField(default=None, foreign_key="patient.id", index=True)
    # none for what is about a message, not a session (R30, R34)
    session_id: uuid.UUID | None = SQLField(default=None, foreign_key="session.id")
    # the patient's text it answers (`sms_reply`) or asks staff to read (`reply_review`)
    inbound_message_id: uuid.UUID | None = SQLField(default=None, foreign_key="inbound_message.id")
    offer_id: uuid.UUID | None = SQLField(default=None, foreign_key="waitlist_offer.id")  # a `waitlist_offer`'s
    rule_code: str = ""  # "" for appointment reminders
    offset_minutes: int = 0  # 0 for date-based reminders
    reason: str | None = None
    last_error: str | None = None
    sent_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    provider_id: str | None = None
    to_address: str | None = None
    subject: str | None = None
    body: str
    created_at: datetime = SQLField(sa_column=utc_column())
    # R38: the message that carries this one's text (status merged)
    merged_into: uuid.UUID | None = SQLField(default=None, foreign_key="reminder.id")
    # R37: what a change notice tells, session id → the start it announces (None: cancelled)
    announces: dict[str, str | None] | None = SQLField(default=None, sa_column=json_column(nullable=True))


class ReminderRead(BaseModel):
    id: uuid.UUID
    kind: ReminderKind
    audience: str = Field(examples=["patient"])
    channel: str = Field(examples=["sms"])
    due_at: datetime
    due_local: datetime = Field(description="Clinic-local time with its offset")
    status: ReminderStatus
    attempts: int
    next_attempt_at: datetime | None = None
    idempotency_key: str
    patient_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    inbound_message_id: uuid.UUID | None = Field(
        default=None, description="The patient's text this answers (`sms_reply`) or asks staff to read (`reply_review`)"
    )
    offer_id: uuid.UUID | None = Field(default=None, description="The waitlist offer a `waitlist_offer` carries")
    rule_code: str | None = None
    reason: str | None = Field(
        default=None,
        description="Why it was skipped or cancelled: no_consent, channel_none, no_email, no_phone, patient_archived, "
        "already_confirmed, session_not_active, course_on_hold, course_cancelled, no_net_change, sms_opted_out, "
        "possible_opt_out; for a staff item (`reply_review`, `patient_action`), why a person must look",
    )
    body: str | None = Field(default=None, description="A staff item's text (outbox reminders only)")
    last_error: str | None = None
    sent_at: datetime | None = None
    merged_into: uuid.UUID | None = Field(
        default=None, description="Status merged: the reminder whose message carries this one's text (R38)"
    )
    session_ids: list[uuid.UUID] = Field(
        default_factory=list, description="Every session the message names (a change notice names several)"
    )


class DispatchRequest(BaseModel):
    limit: int | None = Field(
        default=None, ge=1, le=5000, examples=[500], description="At most this many claimed (default 500)"
    )


class DispatchSummary(BaseModel):
    claimed: int
    sent: int
    retried: int
    failed: int
    expired: int
    ready: int = Field(default=0, description="Put in the outbox for front-desk software")
    openings_settled: int = Field(default=0, description="Waitlist openings settled: offered, or put to staff")
    offers_made: int = Field(default=0, description="Waitlist offers made (their messages go in this pass)")
    openings_lapsed: int = Field(default=0, description="Waitlist openings whose time went, or nobody fitted")
