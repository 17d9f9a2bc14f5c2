"""The course-aware waitlist (R39–R45): entries, openings and offers, and how the API shows them."""

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import SingleLine, enum_column, json_column, new_id, only_where, utc_column
from models.hours import WeekHours
from scheduling.waitlist import EntryStatus, Mode, OfferStatus, OpeningStatus, Priority


class WaitlistEntry(SQLModel, table=True):
    """A patient who wants one booked session earlier (R39); one waiting entry per course."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        sa.Index(
            "uq_waitlist_entry_course_id_waiting",
            "course_id",
            unique=True,
            **only_where("status = 'waiting'"),
        ),
        sa.Index("ix_waitlist_entry_practitioner_id_status", "practitioner_id", "status"),
    )

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    course_id: uuid.UUID = SQLField(foreign_key="course.id")
    session_id: uuid.UUID = SQLField(foreign_key="session.id", index=True)
    patient_id: uuid.UUID = SQLField(foreign_key="patient.id", index=True)
    practitioner_id: uuid.UUID = SQLField(foreign_key="practitioner.id")
    priority: Priority = SQLField(sa_column=enum_column(Priority))
    earliest_date: date | None = None
    availability: list[dict[str, str]] = SQLField(sa_column=json_column())
    expires_on: date | None = None
    note: str | None = None
    status: EntryStatus = SQLField(default=EntryStatus.waiting, sa_column=enum_column(EntryStatus))
    close_reason: str | None = None
    offers_count: int = 0
    created_at: datetime = SQLField(sa_column=utc_column())  # R42: first come, first served (then the id)


class WaitlistOpening(SQLModel, table=True):
    """A freed span of one practitioner's time (R40)."""

    __tablename__ = "waitlist_opening"
    __table_args__ = (sa.Index("ix_waitlist_opening_status_eligible_at", "status", "eligible_at"),)

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    practitioner_id: uuid.UUID = SQLField(foreign_key="practitioner.id", index=True)
    start_at: datetime = SQLField(sa_column=utc_column())
    end_at: datetime = SQLField(sa_column=utc_column())
    source: str  # cancel | reschedule | reflow | course_cancel | course_hold | manual
    source_session_id: uuid.UUID | None = SQLField(default=None, foreign_key="session.id")
    status: OpeningStatus = SQLField(default=OpeningStatus.settling, sa_column=enum_column(OpeningStatus))
    eligible_at: datetime = SQLField(sa_column=utc_column())
    hold_until: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    end_reason: str | None = None
    created_at: datetime = SQLField(sa_column=utc_column())


class WaitlistOffer(SQLModel, table=True):
    """One opening offered to one entry (R43); never the same opening to the same entry twice (R45)."""

    __tablename__ = "waitlist_offer"
    __table_args__ = (sa.UniqueConstraint("opening_id", "entry_id"),)

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    opening_id: uuid.UUID = SQLField(foreign_key="waitlist_opening.id")
    entry_id: uuid.UUID = SQLField(foreign_key="waitlist_entry.id", index=True)
    patient_id: uuid.UUID = SQLField(foreign_key="patient.id", index=True)
    session_id: uuid.UUID = SQLField(foreign_key="session.id")
    status: OfferStatus = SQLField(default=OfferStatus.open, sa_column=enum_column(OfferStatus))
    proposed: dict[str, Any] = SQLField(sa_column=json_column())  # {session, moved}: the dry run offered
    sent_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    expires_at: datetime | None = SQLField(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = SQLField(sa_column=utc_column())


class WaitlistSettingsWrite(BaseModel):
    """The clinic's waitlist (R40–R43)."""

    mode: Mode = Field(default=Mode.staff, description="off; staff: a staff item lists the candidates; auto: offers")
    settle_minutes: int = Field(default=10, ge=0, le=1440, description="Freed time waits this long: reshuffles")
    hold_minutes: int = Field(default=15, ge=1, le=1440, description="An offer is open this long after it is sent")
    batch_size: int = Field(default=3, ge=1, le=20, description="How many patients `auto` offers one opening to")
    min_lead_minutes: int = Field(default=180, ge=0, le=20160, description="Nothing nearer than this is offered")
    min_gain_days: int = Field(default=1, ge=1, le=365, description="An offer moves a session at least this earlier")
    max_offers_per_week: int = Field(default=3, ge=1, le=50, description="Offers per patient in 7 days, at most")


class WaitlistCreate(BaseModel):
    session_id: uuid.UUID = Field(
        description="The booked session the patient wants earlier", examples=["0193f1a2-7c4e-7d21-9a43-5b6c7d8e9f01"]
    )
    priority: Priority = Field(default=Priority.normal, examples=["urgent"])
    earliest_date: date | None = Field(default=None, description="Local date: nothing before it is offered")
    availability: list[WeekHours] = Field(
        default_factory=list, description="When the patient can come (local week hours); empty: any time"
    )
    expires_on: date | None = Field(default=None, description="Local date on which the entry closes")
    note: SingleLine | None = Field(default=None, max_length=500)


class WaitlistUpdate(BaseModel):
    priority: Priority | None = Field(default=None, examples=["urgent"])
    earliest_date: date | None = None
    availability: list[WeekHours] | None = None
    expires_on: date | None = None
    note: SingleLine | None = Field(default=None, max_length=500)


class WaitlistClose(BaseModel):
    reason: SingleLine = Field(min_length=1, max_length=200, examples=["patient no longer wants it earlier"])


class WaitlistEntryRead(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    session_id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    priority: Priority
    earliest_date: date | None
    availability: list[WeekHours]
    expires_on: date | None
    note: str | None
    status: EntryStatus
    close_reason: str | None = None
    offers_count: int
    created_at: datetime


class OpeningCreate(BaseModel):
    practitioner_id: uuid.UUID
    start: datetime = Field(examples=["2027-03-26T08:00:00Z"])
    end: datetime = Field(examples=["2027-03-26T08:45:00Z"])


class OpeningWithdraw(BaseModel):
    reason: SingleLine = Field(min_length=1, max_length=200, examples=["kept free for an emergency"])


class OpeningRead(BaseModel):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    start: datetime
    end: datetime
    start_local: datetime
    source: str
    source_session_id: uuid.UUID | None = None
    status: OpeningStatus
    eligible_at: datetime
    hold_until: datetime | None = None
    end_reason: str | None = None


class OfferCreate(BaseModel):
    entry_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=50,
        description="The waiting entries to offer the opening to, each must fit now",
        examples=[["0193f1a2-7c4e-7d21-9a43-5b6c7d8e9f01"]],
    )


class OfferRead(BaseModel):
    id: uuid.UUID
    opening_id: uuid.UUID
    entry_id: uuid.UUID
    patient_id: uuid.UUID
    session_id: uuid.UUID
    status: OfferStatus
    proposed: dict[str, Any] = Field(description="{session, moved}: the move the offer makes, as its dry run gave it")
    sent_at: datetime | None = None
    expires_at: datetime | None = None


class CandidateRead(BaseModel):
    entry_id: uuid.UUID
    rank: int
    proposed: dict[str, Any]
