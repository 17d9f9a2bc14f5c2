"""Course use cases: preview, book, list, read, cancel (R2–R7, R9, R11)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from api.services.clinic import get_clinic
from api.services.lifecycle import stop_course
from api.services.planning import decide_on_reach, planner_values, session_values
from api.services.protocols import default_protocol
from api.services.reminder_plans import plan_new_course_reminders
from api.services.views import course_read, sessions_by_course
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import (
    Clinic,
    Course,
    CourseCreate,
    CourseRead,
    Page,
    Patient,
    Practitioner,
    Protocol,
    Session,
)
from models.base import table_of
from scheduling import CoursePlan, NoSlotAvailable, course_reach
from scheduling.aftercare import rules_from
from scheduling.booking import plan_booking
from scheduling.lifecycle import CourseStatus
from scheduling.reach import FIRST_SESSION_SEARCH_DAYS

# Session 1 is looked for within this many days of start_date (R2): a short first pass keeps
# the loaded calendar small, the core's full search runs only when the short one finds nothing.
FIRST_SESSION_PASSES = (14, FIRST_SESSION_SEARCH_DAYS)
_COURSE = table_of(Course)
_SESSION = table_of(Session)


@dataclass(frozen=True)
class _Planned:
    """A course planned for a request, with what booking it needs again."""

    course: Course
    plan: CoursePlan
    patient: Patient
    clinic: Clinic


def _plan(uow: UnitOfWork, *, request: CourseCreate, now: datetime, lock: bool) -> _Planned:
    if lock:  # a booking that loses the race for this practitioner waits here, then plans around the winner
        locked = uow.lock_for_change(practitioner_id=request.practitioner_id, patient_id=request.patient_id)
        practitioner, patient = locked.practitioner, locked.patient
    else:
        practitioner = uow.get(Practitioner, request.practitioner_id)
        patient = uow.get(Patient, request.patient_id)
    assert practitioner is not None and patient is not None  # found, or NotFound was raised
    if patient.archived:
        raise Conflict("the patient is archived; restore them before booking", patient_id=str(patient.id))
    protocol = uow.get(Protocol, request.protocol_id) if request.protocol_id else default_protocol(uow)
    clinic = get_clinic(uow)
    zone = clinic.zone
    values = planner_values(protocol, request.session_count or protocol.session_count)
    preferred = time.fromisoformat(request.preferred_time) if request.preferred_time else None
    rules = rules_from(protocol.rules)
    booking = None
    for search_days in FIRST_SESSION_PASSES:
        reach = course_reach(values, zone, start_date=request.start_date, first_session_search_days=search_days)
        try:
            booking = decide_on_reach(
                uow,
                reach,
                lambda calendar: plan_booking(
                    calendar,
                    values,
                    start_date=request.start_date,
                    preferred_time=preferred,
                    rules=rules,
                    medications=patient.medications,
                    now=now,
                    first_session_search_days=search_days,  # noqa: B023 - called at once, in this pass
                ),
                practitioner=practitioner,
                patient_id=patient.id,
                now=now,
                clinic=clinic,
            )
            break
        except NoSlotAvailable as exc:
            if exc.session_number != 1 or search_days == FIRST_SESSION_PASSES[-1]:
                raise
    assert booking is not None
    # model_construct: the values are the validated request's and the planner's own
    course = Course.model_construct(
        patient_id=patient.id,
        practitioner_id=practitioner.id,
        protocol_id=protocol.id,
        condition=request.condition,
        start_date=request.start_date,
        preferred_time=request.preferred_time,
        session_count=values.session_count,
        interval_days=values.interval_days,
        interval_tolerance_days=values.interval_tolerance_days,
        min_interval_days=values.min_interval_days,
        session_minutes=values.session_minutes,
        injectate=protocol.injectate,
        rules=protocol.rules,
        warnings=[{"code": n.code, "message": n.message} for n in booking.notices],
        created_at=now,
    )
    return _Planned(course, booking.plan, patient, clinic)


def _read_only(rows: list[dict[str, Any]]) -> list[Session]:
    """Session objects to read from, never added to the database session (see book_course)."""
    return [Session.model_construct(**row) for row in rows]


def preview_course(*, uow: UnitOfWork, request: CourseCreate, now: datetime) -> CourseRead:
    """Plan a course exactly as booking would, and store nothing (R7). Ids are not stored."""
    planned = _plan(uow, request=request, now=now, lock=False)
    rows = [session_values(planned.course, session) for session in planned.plan.sessions]
    return course_read(planned.course, _read_only(rows), planned.clinic.zone)


def book_course(*, uow: UnitOfWork, request: CourseCreate, now: datetime) -> CourseRead:
    """Plan and store a whole course in one transaction."""
    planned = _plan(uow, request=request, now=now, lock=True)
    course = planned.course
    rows = [session_values(course, session) for session in planned.plan.sessions]
    # Bulk inserts, not ORM objects: nothing in this transaction changes these rows again, and
    # building and flushing objects was a large part of a booking's time (bench/README.md).
    uow.insert(Course, [course.model_dump()])
    uow.insert(Session, rows)
    sessions = _read_only(rows)
    plan_new_course_reminders(uow, course, sessions, now, patient=planned.patient, clinic=planned.clinic)
    return course_read(course, sessions, planned.clinic.zone)


def get_course(*, uow: UnitOfWork, course_id: uuid.UUID) -> CourseRead:
    """One course with its sessions."""
    course = uow.get(Course, course_id)
    return _read_many(uow, [course])[0]


def course_for_change(*, uow: UnitOfWork, course_id: uuid.UUID) -> CourseRead:
    """One course as GET shows it, its practitioner, patient and itself locked in the writers' order."""
    uow.lock_course(course_id)
    return get_course(uow=uow, course_id=course_id)


def list_courses(
    *, uow: UnitOfWork, patient_id: uuid.UUID | None, status: CourseStatus | None, limit: int, offset: int
) -> Page[CourseRead]:
    """Courses, newest first, each with its sessions (one query for all of them)."""
    query = select(Course)
    if patient_id is not None:
        query = query.where(col(Course.patient_id) == patient_id)
    if status is not None:
        query = query.where(col(Course.status) == status)
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    courses = (
        uow.execute(query.order_by(col(Course.created_at).desc(), col(Course.id)).limit(limit).offset(offset))
        .scalars()
        .all()
    )
    return Page(items=_read_many(uow, courses), total=total, limit=limit, offset=offset)


def _read_many(uow: UnitOfWork, courses: Sequence[Course]) -> list[CourseRead]:
    if not courses:
        return []
    zone = get_clinic(uow).zone
    sessions = uow.execute(select(Session).where(col(Session.course_id).in_([c.id for c in courses]))).scalars().all()
    grouped = sessions_by_course(sessions)
    return [course_read(c, grouped.get(c.id, []), zone) for c in courses]


def cancel_course(*, uow: UnitOfWork, course_id: uuid.UUID, reason: str, now: datetime) -> CourseRead:
    """Cancel a course and all its future sessions in one transaction (R9)."""
    course = uow.lock(Course, course_id)
    if course.status in (CourseStatus.cancelled, CourseStatus.completed):
        raise Conflict(f"the course is {course.status} already", current_status=course.status)
    stop_course(uow, course, status=CourseStatus.cancelled, reason=reason, session_reason=reason, now=now)
    return get_course(uow=uow, course_id=course.id)
