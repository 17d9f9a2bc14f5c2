"""Rescheduling a session, with the reflow of the later ones (R8), or a dry run of it."""

import uuid
from datetime import datetime, timedelta

from api.services.change_notices import mark_told
from api.services.clinic import get_clinic
from api.services.lifecycle import course_changed
from api.services.openings import REFLOW_REASON, refuse_held
from api.services.planning import decide_on_reach, planner_values
from api.services.views import session_read
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import Practitioner, Session
from models.record import Rescheduled, SessionReschedule
from scheduling import CourseSession, Move, plan_reschedule, reschedule_reach
from scheduling.lifecycle import ACTIVE, CourseStatus
from scheduling.protocol import CHOSEN_OUTSIDE_WINDOW_MESSAGE, OUTSIDE_WINDOW_MESSAGE


def reschedule(
    *,
    uow: UnitOfWork,
    session_id: uuid.UUID,
    request: SessionReschedule,
    now: datetime,
    ignore_hold: uuid.UUID | None = None,
) -> Rescheduled:
    """Move session k; with reflow, re-plan the later sessions that now break R3/R4. A dry run is the same
    use case in a unit of work that is rolled back (api/store/unit_of_work.py). A waitlist hold on the new
    time refuses it (409 `slot_held`), except the hold of the opening whose offer is being accepted."""
    # two staff racing for one slot are serialised by the writers' locks (R11)
    found, course = uow.lock_session(session_id, with_owners=True)
    practitioner = uow.get(Practitioner, found.practitioner_id)  # locked just now
    if course.status in (CourseStatus.cancelled, CourseStatus.on_hold):  # R9: its sessions stay where they are
        raise Conflict(f"the course is {course.status}: its sessions cannot move", current_status=course.status)
    sessions = uow.course_sessions(course.id, lock=True)
    zone = get_clinic(uow).zone
    values = planner_values(course, len(sessions))
    if ignore_hold is None:
        refuse_held(uow, practitioner.id, request.start, request.start + timedelta(minutes=values.session_minutes), now)
    later = [s.start_at for s in sessions if s.number > found.number and s.status in ACTIVE]
    plan = decide_on_reach(
        uow,
        reschedule_reach(values, zone, new_start_at=request.start, later_start_ats=later),
        lambda calendar: plan_reschedule(
            calendar,
            values,
            [CourseSession(s.number, s.start_at, s.end_at, s.status) for s in sessions],
            number=found.number,
            new_start_at=request.start,
            anchor_time=sessions[0].start_at.astimezone(zone).time(),
            now=now,
            reflow=request.reflow,
        ),
        practitioner=practitioner,
        patient_id=course.patient_id,  # everyone else's bookings: the course's own are the plan's
        now=now,
        exclude_course_id=course.id,
        ignore_hold=ignore_hold,  # an accepted offer moves into its own opening's hold (R44)
    )
    by_number = {s.number: s for s in sessions}
    moved_reason = f"{REFLOW_REASON} session {found.number} moved"  # openings read it (R40)
    session = _apply(by_number[plan.session.number], plan.session, request.reason or "rescheduled", chosen=True)
    moved = [_apply(by_number[m.number], m, moved_reason, chosen=False) for m in plan.moved]
    answer = Rescheduled(session=session_read(session, zone), moved=[session_read(m, zone) for m in moved])
    if not request.notify_patient:
        mark_told([session, *moved], now)  # R37: the patient is at the desk
    # the sessions that stay where they are (plan.flagged among them) come into their windows or leave them
    # there (api/services/windows.py); a dry run is rolled back whole (api/store/unit_of_work.py)
    course_changed(uow, course, now)
    return answer


def _apply(row: Session, move: Move, reason: str, *, chosen: bool) -> Session:
    """A session at its new time; `chosen`: staff picked it (R8), else the reflow planned it (R3, R6)."""
    message = CHOSEN_OUTSIDE_WINDOW_MESSAGE if chosen else OUTSIDE_WINDOW_MESSAGE
    row.previous_start_at = row.start_at
    row.start_at = move.start_at
    row.end_at = move.end_at
    row.change_reason = reason
    row.warnings = _warnings(move, message)
    return row


def _warnings(move: Move, message: str) -> list[dict[str, str]]:
    return [{"code": code, "message": message} for code in move.warnings]
