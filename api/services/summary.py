"""A course's summary: progress, the next session, the pain trend and adverse events."""

import uuid
from datetime import datetime

from api.services.clinic import get_clinic
from api.services.views import session_read
from api.store.unit_of_work import UnitOfWork
from models import Course
from models.course import AdverseEventEntry, CourseSummary, PainPoint
from scheduling.lifecycle import ACTIVE, SessionStatus


def course_summary(*, uow: UnitOfWork, course_id: uuid.UUID, now: datetime) -> CourseSummary:
    """Completed and remaining sessions, the next one, pain before each session, every adverse event."""
    course = uow.get(Course, course_id)
    zone = get_clinic(uow).zone
    sessions = uow.course_sessions(course.id)
    done = [s for s in sessions if s.status == SessionStatus.completed and s.record]
    active = sorted((s for s in sessions if s.status in ACTIVE), key=lambda s: s.start_at)
    upcoming = next((s for s in active if s.end_at > now), None)
    return CourseSummary(
        completed=len(done),
        remaining=len(active),
        next_session=session_read(upcoming, zone) if upcoming else None,
        pain_trend=[PainPoint(number=s.number, pain_before=(s.record or {})["pain_before"]) for s in done],
        adverse_events=[
            AdverseEventEntry(session_id=s.id, number=s.number, **event)
            for s in done
            for event in (s.record or {}).get("adverse_events", [])
        ],
    )
