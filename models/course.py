"""Courses: one patient's series of sessions under one protocol, with one practitioner."""

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField

from models.base import PlanDate, SingleLine, Warning, enum_column, json_column, new_id, utc_column
from models.hours import LocalTime
from models.protocol import ProtocolTiming
from models.session import SessionRead
from scheduling.lifecycle import CourseStatus


class Course(ProtocolTiming, table=True):
    __tablename__ = "course"

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = SQLField(foreign_key="patient.id", index=True)
    practitioner_id: uuid.UUID = SQLField(foreign_key="practitioner.id", index=True)
    protocol_id: uuid.UUID = SQLField(foreign_key="protocol.id")
    status: CourseStatus = SQLField(default=CourseStatus.planned, sa_column=enum_column(CourseStatus, index=True))
    condition: str
    needs_review: bool = False
    start_date: date
    preferred_time: str | None = None
    # The protocol's values as booked (these and its timing, ProtocolTiming): later protocol edits never rewrite it.
    injectate: str
    rules: list[dict[str, Any]] = SQLField(sa_column=json_column())
    warnings: list[dict[str, str]] = SQLField(sa_column=json_column())
    status_reason: str | None = None
    created_at: datetime = SQLField(sa_column=utc_column())


class CourseCreate(BaseModel):
    """A whole course, planned in one call (R2–R7)."""

    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    protocol_id: uuid.UUID | None = Field(default=None, description="Omit for the default protocol")
    start_date: PlanDate = Field(examples=["2027-03-01"], description="Clinic-local date: session 1 on or after it")
    preferred_time: LocalTime | None = Field(default=None, description="Clinic-local time for the sessions")
    condition: SingleLine = Field(min_length=1, max_length=200, examples=["chronic low back pain, sacroiliac joint"])
    session_count: int | None = Field(default=None, ge=1, le=12, description="Overrides the protocol's count")


class CourseRead(ProtocolTiming):
    id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    protocol_id: uuid.UUID
    status: CourseStatus
    condition: str
    needs_review: bool
    start_date: date
    preferred_time: str | None
    injectate: str
    sessions: list[SessionRead]
    warnings: list[Warning]
    status_reason: str | None = None


class CourseCancel(BaseModel):
    reason: SingleLine = Field(min_length=1, max_length=500, examples=["Patient moved away"])


class CourseHold(BaseModel):
    reason: SingleLine = Field(min_length=1, max_length=500, examples=["Patient travelling for a month"])


class CourseResume(BaseModel):
    start_date: PlanDate = Field(
        examples=["2027-05-03"], description="Clinic-local date: the next session on or after it"
    )
    preferred_time: LocalTime | None = Field(default=None, description="Clinic-local time; default: session 1's")


class PainPoint(BaseModel):
    number: int
    pain_before: int


class AdverseEventEntry(BaseModel):
    session_id: uuid.UUID
    number: int
    type: str
    severity: str
    notes: str | None = None


class CourseSummary(BaseModel):
    """Where a course stands, for the clinician."""

    completed: int = Field(description="Sessions completed")
    remaining: int = Field(description="Active sessions still to come")
    next_session: SessionRead | None
    pain_trend: list[PainPoint] = Field(description="Pain before each completed session, NRS 0–10")
    adverse_events: list[AdverseEventEntry]
