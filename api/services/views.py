"""Stored rows as the API shows them: UTC instants with `Z`, plus the clinic-local time (S1)."""

from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from models import CourseRead, Session, SessionRead, Warning
from models.course import Course


def session_read(row: Any, zone: ZoneInfo) -> SessionRead:
    """A session (an ORM object or a Core row with the same names) for the API."""
    return SessionRead(
        id=row.id,
        course_id=row.course_id,
        patient_id=row.patient_id,
        practitioner_id=row.practitioner_id,
        number=row.number,
        start=row.start_at,
        end=row.end_at,
        start_local=row.start_at.astimezone(zone),
        status=row.status,
        warnings=[Warning(**w) for w in row.warnings or ()],
        previous_start=row.previous_start_at,
        change_reason=row.change_reason,
        record=row.record,
    )


def course_read(course: Course, sessions: Sequence[Session], zone: ZoneInfo) -> CourseRead:
    """A course with its sessions in course order."""
    ordered = sorted(sessions, key=lambda s: s.number)
    return CourseRead.model_validate(
        {
            **course.model_dump(),
            "sessions": [session_read(s, zone) for s in ordered],
            "warnings": course.warnings or [],
        }
    )


def sessions_by_course(sessions: Iterable[Session]) -> dict[Any, list[Session]]:
    grouped: dict[Any, list[Session]] = {}
    for item in sessions:
        grouped.setdefault(item.course_id, []).append(item)
    return grouped
