"""Sessions: one appointment of a course, planned in local time and stored in UTC (R1)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy import inspect
from sqlmodel import Field as SQLField
from sqlmodel import Session as DbSession
from sqlmodel import SQLModel

from models.base import Warning, enum_column, json_column, new_id, utc_column
from scheduling.lifecycle import ACTIVE, SessionStatus


class Session(SQLModel, table=True):
    __tablename__ = "session"
    __table_args__ = (
        sa.UniqueConstraint("course_id", "number"),
        sa.Index("ix_session_practitioner_id_start_at", "practitioner_id", "start_at"),
        sa.Index("ix_session_patient_id_start_at", "patient_id", "start_at"),
    )

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    course_id: uuid.UUID = SQLField(foreign_key="course.id")
    patient_id: uuid.UUID = SQLField(foreign_key="patient.id")
    practitioner_id: uuid.UUID = SQLField(foreign_key="practitioner.id")
    number: int
    start_at: datetime = SQLField(sa_column=utc_column(index=True))
    end_at: datetime = SQLField(sa_column=utc_column())
    status: SessionStatus = SQLField(default=SessionStatus.scheduled, sa_column=enum_column(SessionStatus))
    warnings: list[dict[str, str]] = SQLField(sa_column=json_column())
    previous_start_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    change_reason: str | None = None
    record: dict[str, Any] | None = SQLField(default=None, sa_column=json_column(nullable=True))
    # R37: the start the patient was told at booking or at the desk (None: never told, or told it was
    # cancelled), and when; a change notice sent later says what the patient was told since.
    told_start_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    told_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    # The calendar event's SEQUENCE (RFC 5545, S9): one more whenever start, end or status change
    # (counted at flush by count_revisions below), so calendar apps take the moved or cancelled event.
    sequence: int = SQLField(default=0, sa_column_kwargs={"server_default": "0"})


# What a calendar app must see change (RFC 5545 §3.8.7.4: start, end and status are "significant").
_REVISED = ("start_at", "end_at", "status")


def count_revisions(db: DbSession, _context: Any, _instances: Any) -> None:
    """Raise the sequence of every session whose time or status changed, in the flush that stores it.

    A `before_flush` hook of Prolo's own sessions (api/store/unit_of_work.py): one place for every write
    path (reschedule and reflow, cancel, no-show, hold, course cancel, and whatever comes next), so no
    path can forget it. Rows inserted start at 0; a path that
    updates sessions with Core UPDATE statements instead of the ORM must raise it itself.
    """
    for row in db.dirty:
        if isinstance(row, Session):
            state = inspect(row)
            if any(state.attrs[name].history.has_changes() for name in _REVISED):
                row.sequence = (row.sequence or 0) + 1


@dataclass(frozen=True)
class Freed:
    """A span of a practitioner's time a session gave up in this transaction (R40): moved away or stopped."""

    session_id: uuid.UUID
    course_id: uuid.UUID
    practitioner_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    moved: bool  # False: the session stopped (cancelled, no-show, …)
    change_reason: str | None
    status_before: SessionStatus  # an active one


FREED = "prolo_freed_spans"


def gather_freed(db: DbSession, _context: Any, _instances: Any) -> None:
    """Note every span an active session gives up, in the flush that stores the change (a `before_flush` hook
    beside :func:`count_revisions`): whatever path moves or stops a session, its old time is known to the use
    case that opens the waitlist's openings (api/services/openings.py), so no path can forget one. The same
    notes give a course's sessions as they were, for the warnings kept true after it (api/services/windows.py)."""
    for row in db.dirty:
        if not isinstance(row, Session):
            continue
        state = inspect(row)
        start, end, status = (state.attrs[name].history for name in _REVISED)
        was = status.deleted[0] if status.deleted else row.status
        if was not in ACTIVE:
            continue
        old_start = start.deleted[0] if start.deleted else row.start_at
        old_end = end.deleted[0] if end.deleted else row.end_at
        moved = row.status in ACTIVE and old_start != row.start_at
        if moved or row.status not in ACTIVE:
            freed = Freed(row.id, row.course_id, row.practitioner_id, old_start, old_end, moved, row.change_reason, was)
            db.info.setdefault(FREED, []).append(freed)


class SessionRead(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    number: int
    start: datetime = Field(description="UTC", examples=["2027-03-01T08:00:00Z"])
    end: datetime = Field(description="UTC", examples=["2027-03-01T08:45:00Z"])
    start_local: datetime = Field(
        description="Clinic-local time with its offset", examples=["2027-03-01T09:00:00+01:00"]
    )
    status: SessionStatus
    warnings: list[Warning] = Field(default_factory=list)
    previous_start: datetime | None = None
    change_reason: str | None = None
    record: dict[str, Any] | None = None
