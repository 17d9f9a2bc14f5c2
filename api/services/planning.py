"""Between booked courses and the planner: a course's timing as planner values, planned sessions as rows,
and a plan made on exactly the dates it reaches."""

import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any, TypeVar

from api.services.calendars import load_calendar
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Course, Practitioner, Protocol, Session
from models.base import new_id
from scheduling import Calendar, CoursePlan, PlannedSession, ProtocolValues, course_reach, plan_course
from scheduling.lifecycle import SessionStatus
from scheduling.protocol import OUTSIDE_WINDOW_MESSAGE
from scheduling.reach import FIRST_SESSION_SEARCH_DAYS
from scheduling.spans import DateRange

T = TypeVar("T")


def planner_values(source: Course | Protocol, session_count: int) -> ProtocolValues:
    """The timing a course was booked with (or a protocol's), for planning `session_count` sessions (1..12)."""
    return ProtocolValues(
        session_count=min(12, max(1, session_count)),
        interval_days=source.interval_days,
        interval_tolerance_days=source.interval_tolerance_days,
        min_interval_days=source.min_interval_days,
        session_minutes=source.session_minutes,
    )


def session_values(
    course: Course, planned: PlannedSession, *, change_reason: str | None = None, told: bool = True
) -> dict[str, Any]:
    """Every column of a new session the planner placed; ``told``: the patient learns of it now (booking, R37)."""
    return {
        "id": new_id(),
        "course_id": course.id,
        "patient_id": course.patient_id,
        "practitioner_id": course.practitioner_id,
        "number": planned.number,
        "start_at": planned.start_at,
        "end_at": planned.end_at,
        "status": SessionStatus.scheduled,
        "warnings": [{"code": code, "message": OUTSIDE_WINDOW_MESSAGE} for code in planned.warnings],
        "previous_start_at": None,
        "change_reason": change_reason,
        "record": None,
        "told_start_at": planned.start_at if told else None,
        "told_at": None,
    }


def new_session(course: Course, planned: PlannedSession, *, change_reason: str | None = None) -> Session:
    """A row for a session added to a booked course (a replacement, a resume): the patient is told by a
    change notice (R37)."""
    return Session(**session_values(course, planned, change_reason=change_reason, told=False))


def plan_sessions(
    uow: UnitOfWork,
    *,
    practitioner: Practitioner,
    patient_id: uuid.UUID,
    clinic: Clinic,
    values: ProtocolValues,
    now: datetime,
    start_date: date,
    preferred_time: time | None = None,
    first_number: int = 1,
    count: int | None = None,
    previous_start_at: datetime | None = None,
    anchor_time: time | None = None,
    first_session_search_days: int = FIRST_SESSION_SEARCH_DAYS,
) -> CoursePlan:
    """`plan_course` on a calendar loaded for exactly the dates the core says the question reaches."""
    span = course_reach(
        values,
        clinic.zone,
        start_date=start_date,
        first_number=first_number,
        count=count,
        previous_start_at=previous_start_at,
        first_session_search_days=first_session_search_days,
    )
    return decide_on_reach(
        uow,
        span,
        lambda calendar: plan_course(
            calendar,
            values,
            start_date=start_date,
            preferred_time=preferred_time,
            now=now,
            first_number=first_number,
            count=count,
            previous_start_at=previous_start_at,
            anchor_time=anchor_time,
            first_session_search_days=first_session_search_days,
        ),
        practitioner=practitioner,
        patient_id=patient_id,
        now=now,
        clinic=clinic,
    )


def decide_on_reach(
    uow: UnitOfWork,
    reach: DateRange,
    decide: Callable[[Calendar], T],
    *,
    practitioner: Practitioner,
    patient_id: uuid.UUID,
    now: datetime,
    clinic: Clinic | None = None,
    exclude_course_id: uuid.UUID | None = None,
    ignore_hold: uuid.UUID | None = None,
) -> T:
    """Every planning question is asked the same way: the core says which dates it reaches
    (scheduling/reach.py), exactly those are loaded, and the core decides on them at once."""
    calendar = load_calendar(
        uow,
        practitioner=practitioner,
        patient_id=patient_id,
        span=reach,
        now=now,
        clinic=clinic,
        exclude_course_id=exclude_course_id,
        ignore_hold=ignore_hold,
    )
    return decide(calendar)
