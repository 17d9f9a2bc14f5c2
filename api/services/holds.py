"""Putting a course on hold and resuming it (R9).

On hold, a course's future sessions are cancelled (their time freed). Resuming plans
the sessions still owed — the course's count less those completed — again from the
resume date, numbered after the last one, never within the minimum interval (R4)
of the last completed session.
"""

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from api.services.clinic import get_clinic
from api.services.courses import get_course
from api.services.lifecycle import course_changed, stop_course
from api.services.planning import new_session, plan_sessions, planner_values
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import Course, CourseRead, Session
from scheduling.lifecycle import INJECTED, CourseStatus

_HOLDABLE = (CourseStatus.planned, CourseStatus.active)


def hold(*, uow: UnitOfWork, course_id: uuid.UUID, reason: str, now: datetime) -> CourseRead:
    """Pause a course: its future sessions are cancelled in the same transaction."""
    course = uow.lock(Course, course_id)
    if course.status not in _HOLDABLE:
        raise Conflict(f"a {course.status} course cannot be put on hold", current_status=course.status)
    stop_course(
        uow, course, status=CourseStatus.on_hold, reason=reason, session_reason=f"course on hold: {reason}", now=now
    )
    return get_course(uow=uow, course_id=course.id)


def resume(
    *, uow: UnitOfWork, course_id: uuid.UUID, start_date: date, preferred_time: str | None, now: datetime
) -> CourseRead:
    """Plan the sessions still owed again, from `start_date` (R2 for the first, then R3/R4)."""
    practitioner, course = uow.lock_course(course_id)
    if course.status != CourseStatus.on_hold:
        raise Conflict(
            f"only a course on hold can be resumed; this one is {course.status}", current_status=course.status
        )
    clinic = get_clinic(uow)
    zone = clinic.zone
    sessions = uow.course_sessions(course.id, lock=True)
    # what took place or still may (a session checked in before the hold is still in the chair)
    kept = [s for s in sessions if s.status in INJECTED]
    owed = course.session_count - len(kept)
    first_number = (sessions[-1].number if sessions else 0) + 1
    if owed > 0:
        anchor = time.fromisoformat(preferred_time) if preferred_time else _first_time(sessions, zone)
        values = planner_values(course, owed)
        earliest = start_date
        if kept:  # R4: never within the minimum interval of the last injection, done or still to come
            last = max(s.start_at for s in kept).astimezone(zone).date()
            earliest = max(earliest, last + values.min_gap)
        plan = plan_sessions(
            uow,
            practitioner=practitioner,
            patient_id=course.patient_id,
            clinic=clinic,
            values=values,
            start_date=earliest,
            preferred_time=anchor,
            now=now,
            first_number=first_number,
            count=owed,
            anchor_time=anchor,
        )
        for planned in plan.sessions:
            uow.add(new_session(course, planned, change_reason="planned again when the course resumed"))
    course.status = CourseStatus.planned
    course.status_reason = None
    course_changed(uow, course, now)
    return get_course(uow=uow, course_id=course.id)


def _first_time(sessions: list[Session], zone: ZoneInfo) -> time:
    return sessions[0].start_at.astimezone(zone).time() if sessions else time(9)
