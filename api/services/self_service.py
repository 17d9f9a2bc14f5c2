"""A patient's own move of a session (R27): the course and the clinic's limits, loaded for the core.

The alternatives are planned by `scheduling/alternatives.py` on a calendar loaded for exactly
the dates the core says they reach, without the course's own sessions (the plan holds them).
"""

from datetime import datetime, timedelta

from api.services.calendars import load_calendar
from api.services.planning import planner_values
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Course, Practitioner, Session
from scheduling import CourseSession
from scheduling.aftercare import rules_from
from scheduling.alternatives import Alternative, SelfService, alternatives, alternatives_reach, planned_choice


def self_service(uow: UnitOfWork, session: Session, course: Course, clinic: Clinic, now: datetime) -> SelfService:
    """Everything R27 plans a patient's move of `session` with."""
    rows = uow.course_sessions(course.id)
    values = planner_values(course, len(rows))
    sessions = [CourseSession(s.number, s.start_at, s.end_at, s.status) for s in rows]
    zone = clinic.zone
    span = alternatives_reach(values, zone, sessions, session.number)
    calendar = load_calendar(
        uow,
        practitioner=uow.get(Practitioner, course.practitioner_id),
        patient_id=course.patient_id,
        span=span,
        now=now,
        clinic=clinic,
        exclude_course_id=course.id,
    )
    return SelfService(
        calendar=calendar,
        protocol=values,
        sessions=sessions,
        rules=rules_from(course.rules),
        anchor_time=rows[0].start_at.astimezone(zone).time().replace(tzinfo=None),
        notice=timedelta(hours=clinic.reschedule_notice_hours),
        max_moves=clinic.self_service_max_moves,
        now=now,
        today=now.astimezone(zone).date(),
    )


def offered(
    uow: UnitOfWork, session: Session, course: Course, clinic: Clinic, now: datetime
) -> tuple[Alternative, ...]:
    """The alternatives the patient's page shows for `session` now."""
    service = self_service(uow, session, course, clinic, now)
    return alternatives(service, session.number, limit=clinic.self_service_alternatives)


def still_offered(
    uow: UnitOfWork, session: Session, course: Course, clinic: Clinic, now: datetime, choice: str
) -> Alternative | None:
    """The alternative `choice` names, if planning it again now gives exactly what the page showed."""
    return planned_choice(self_service(uow, session, course, clinic, now), session.number, choice)
