"""Session state changes (R9, R10): confirm, check in, complete with the clinical record, cancel, no-show.

Every change re-derives its course's status and review flag in the same transaction.
"""

import uuid
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from api.services.change_notices import mark_told
from api.services.clinic import get_clinic
from api.services.openings import after_change
from api.services.planning import new_session, plan_sessions, planner_values
from api.services.reminder_plans import sync_course_reminders
from api.services.views import session_read
from api.services.windows import keep_windows_true
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import Course, Patient, Practitioner, Session, SessionRead
from models.record import ClinicalRecord, SessionCancelled, SessionComplete
from scheduling.aftercare import SessionRef, rules_from, windows_for
from scheduling.lifecycle import (
    CANCELLABLE,
    INJECTED,
    Action,
    CourseStatus,
    SessionStatus,
    SessionTimes,
    course_status,
    needs_review,
    next_status,
)
from scheduling.medications import medication_warnings
from scheduling.safety import PastEvent, adverse_event_warnings, allergy_warnings


def course_changed(uow: UnitOfWork, course: Course, now: datetime) -> None:
    """After any change to a course or its sessions, in the same transaction: window warnings stay true (R3, R6),
    status and review flag follow the sessions (R9; cancelled and on-hold courses keep theirs), reminders are
    replanned (R19)."""
    changed = uow.freed()  # what moved or stopped in this transaction, as it was
    sessions = uow.course_sessions(course.id)
    keep_windows_true(uow, course, sessions, changed, get_clinic(uow).zone)  # R3, R6: also where nothing moved
    after_change(uow, changed, now)  # R40: freed time opens for the waitlist; R39: moved sessions' entries close
    statuses = [s.status for s in sessions]
    course.status = course_status(course.status, statuses)
    course.needs_review = needs_review(statuses)
    uow.add(course)
    sync_course_reminders(uow, course, now)


def stop_course(
    uow: UnitOfWork, course: Course, *, status: CourseStatus, reason: str, session_reason: str, now: datetime
) -> None:
    """A course stops, cancelled (R9) or on hold: its sessions still to come are cancelled with
    `session_reason`, locked after the course (the writers' order); its reminders stop with it."""
    for session in uow.course_sessions(course.id, lock=True):
        if session.status in CANCELLABLE and session.start_at >= now:
            session.status = SessionStatus.cancelled
            session.change_reason = session_reason
    course.status = status
    course.status_reason = reason
    course_changed(uow, course, now)


def _change_status(
    uow: UnitOfWork, session_id: uuid.UUID, action: Action, now: datetime, *, planning: bool = False
) -> tuple[Session, Course, ZoneInfo]:
    row, course = uow.lock_session(session_id, with_owners=planning)
    zone = get_clinic(uow).zone
    # an IllegalTransition (R10) reaches the API as a 409 naming the current state
    row.status = next_status(row.status, action, times=SessionTimes(row.start_at, zone), now=now)
    uow.add(row)
    return row, course, zone


def confirm(*, uow: UnitOfWork, session_id: uuid.UUID, now: datetime) -> SessionRead:
    """The patient confirmed they will come; what asked them to is cancelled (R35)."""
    row, course, zone = _change_status(uow, session_id, Action.confirm, now)
    course_changed(uow, course, now)
    return session_read(row, zone)


def no_show(*, uow: UnitOfWork, session_id: uuid.UUID, now: datetime) -> SessionRead:
    """The patient did not come (only after the start time); two of them flag the course for review."""
    row, course, zone = _change_status(uow, session_id, Action.no_show, now)
    course_changed(uow, course, now)
    return session_read(row, zone)


def check_in(*, uow: UnitOfWork, session_id: uuid.UUID, now: datetime) -> SessionRead:
    """The patient arrived (on the session's local day); safety warnings come with the answer."""
    row, course, zone = _change_status(uow, session_id, Action.check_in, now)
    warnings = [{"code": w.code, "message": w.message} for w in _safety(uow, row, course, zone)]
    row.warnings = [*(w for w in row.warnings if w not in warnings), *warnings]
    uow.flush()
    return session_read(row, zone)


def _safety(uow: UnitOfWork, row: Session, course: Course, zone: ZoneInfo) -> list[Any]:
    patient = uow.get(Patient, row.patient_id)
    earlier = [s for s in uow.course_sessions(course.id) if s.number < row.number and s.record]
    events = [
        PastEvent(s.number, e["type"], e["severity"])
        for s in earlier
        for e in (s.record or {}).get("adverse_events", [])
    ]
    windows = windows_for([SessionRef(str(row.id), row.start_at)], rules_from(course.rules), zone)
    return [
        *adverse_event_warnings(events),
        *medication_warnings(patient.medications, windows),
        *allergy_warnings(patient.allergies, course.injectate),
    ]


def complete(*, uow: UnitOfWork, session_id: uuid.UUID, record: SessionComplete, now: datetime) -> SessionRead:
    """The session took place: store the clinical record; the course becomes active or completed."""
    row, course, zone = _change_status(uow, session_id, Action.complete, now)
    row.record = ClinicalRecord(**record.model_dump(), completed_at=now).model_dump(mode="json")
    course_changed(uow, course, now)
    return session_read(row, zone)


def cancel(
    *, uow: UnitOfWork, session_id: uuid.UUID, reason: str, replace: bool, now: datetime, notify_patient: bool = True
) -> SessionCancelled:
    """Cancel one session; with `replace`, append session n+1 planned by R3 from the last active one (R9).
    Without `notify_patient` the patient knows already (R37)."""
    row, course, zone = _change_status(uow, session_id, Action.cancel, now, planning=replace)
    if replace and course.status in (CourseStatus.cancelled, CourseStatus.on_hold):
        raise Conflict(f"the course is {course.status}: no replacement is planned", current_status=course.status)
    row.change_reason = reason
    replacement = _replacement(uow, course, zone, now) if replace else None
    if not notify_patient:
        mark_told([row, *([replacement] if replacement else [])], now)
    course_changed(uow, course, now)
    return SessionCancelled(
        session=session_read(row, zone), replacement=session_read(replacement, zone) if replacement else None
    )


def _replacement(uow: UnitOfWork, course: Course, zone: ZoneInfo, now: datetime) -> Session:
    uow.flush()  # the cancelled session no longer blocks its own time
    sessions = uow.course_sessions(course.id)
    done = [s for s in sessions if s.status in INJECTED]
    previous = done[-1] if done else None
    first = sessions[0].start_at.astimezone(zone).time() if sessions else time(9)
    number = max(s.number for s in sessions) + 1
    plan = plan_sessions(
        uow,
        practitioner=uow.get(Practitioner, course.practitioner_id),  # locked by _change_status (lock_session)
        patient_id=course.patient_id,
        clinic=get_clinic(uow),
        values=planner_values(course, number - 1),
        # R3 from the last session that took place or will; none: R2 from today (the planner never plans the past)
        start_date=previous.start_at.astimezone(zone).date() if previous else now.astimezone(zone).date(),
        preferred_time=None if previous else first,
        now=now,
        first_number=number,
        count=1,
        previous_start_at=previous.start_at if previous else None,
        anchor_time=first,
    )
    replacement = new_session(course, plan.sessions[0], change_reason="replacement for a cancelled session")
    uow.add(replacement)
    return replacement
