"""Between booked courses and the planner: a course's timing as planner values, planned sessions as rows."""

from typing import Any

from models import Course, Protocol, Session, SessionStatus
from models.base import new_id
from scheduling import PlannedSession, ProtocolValues

_OUTSIDE_WINDOW_MESSAGE = "placed after its interval window: no slot fitted inside it (R6)"


def planner_values(source: Course | Protocol, session_count: int) -> ProtocolValues:
    """The timing a course was booked with (or a protocol's), for planning `session_count` sessions (1..12)."""
    return ProtocolValues(
        session_count=min(12, max(1, session_count)),
        interval_days=source.interval_days,
        interval_tolerance_days=source.interval_tolerance_days,
        min_interval_days=source.min_interval_days,
        session_minutes=source.session_minutes,
    )


def session_values(course: Course, planned: PlannedSession, *, change_reason: str | None = None) -> dict[str, Any]:
    """Every column of a new session the planner placed."""
    return {
        "id": new_id(),
        "course_id": course.id,
        "patient_id": course.patient_id,
        "practitioner_id": course.practitioner_id,
        "number": planned.number,
        "start_at": planned.start_at,
        "end_at": planned.end_at,
        "status": SessionStatus.scheduled.value,
        "warnings": [{"code": code, "message": _OUTSIDE_WINDOW_MESSAGE} for code in planned.warnings],
        "previous_start_at": None,
        "change_reason": change_reason,
        "record": None,
    }


def new_session(course: Course, planned: PlannedSession, *, change_reason: str | None = None) -> Session:
    """A row for a session the planner placed, to add to the database session."""
    return Session(**session_values(course, planned, change_reason=change_reason))
