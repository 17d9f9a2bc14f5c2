"""A patient's aftercare: the windows of every session of every non-cancelled course (R12–R15).

Every window staff or the patient see (this list, the restrictions, the handout, the calendar
feeds, the FHIR CarePlan) comes from :func:`session_windows`, so each shows a follow-up call on
the same open day as its reminder (R16).
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlmodel import col

from api.services.calendars import load_open_days
from api.services.clinic import get_clinic
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Course, Patient, Session
from models.aftercare import AftercareList, AftercareWindow, Restrictions
from models.base import Warning
from scheduling.aftercare import (
    WINDOW_STATUSES,
    Restriction,
    Rule,
    SessionRef,
    Window,
    follow_up_rule_days,
    restrictions_on,
    rules_from,
    windows_for,
)
from scheduling.lifecycle import CourseStatus
from scheduling.medications import medication_warnings


def _window(w: Window | Restriction) -> AftercareWindow:
    return AftercareWindow(
        rule_code=w.rule_code,
        kind=w.kind,
        medication_class=w.medication_class,
        from_date=w.from_date,
        until_date=w.until_date,
        instruction=w.instruction,
        session_id=uuid.UUID(w.session_id),
    )


def session_windows(
    uow: UnitOfWork, clinic: Clinic, sessions: Iterable[tuple[SessionRef, Sequence[Rule]]]
) -> list[Window]:
    """Every window of these sessions, each with its course's rules, by first day; follow-up calls
    on the clinic's open days (R16), with the closures they may reach loaded."""
    pairs = list(sessions)
    zone = clinic.zone
    days = [day for ref, rules in pairs for day in follow_up_rule_days([ref], rules, zone)]
    open_days = load_open_days(uow, clinic=clinic, follow_up_days=days)
    windows = [w for ref, rules in pairs for w in windows_for([ref], rules, zone, open_days=open_days)]
    return sorted(windows, key=lambda w: (w.from_date, w.rule_code, w.session_start_at))


def patient_windows(uow: UnitOfWork, patient: Patient) -> list[Window]:
    """Every window of the patient's sessions that took place or will (R14: cancelled ones leave none)."""
    rows = uow.execute(
        select(Session, Course)
        .join(Course, col(Course.id) == col(Session.course_id))
        .where(
            col(Session.patient_id) == patient.id,
            col(Course.status) != CourseStatus.cancelled,
            col(Session.status).in_(WINDOW_STATUSES),
        )
        .order_by(col(Session.start_at))
    ).all()
    pairs = [(SessionRef(str(session.id), session.start_at), rules_from(course.rules)) for session, course in rows]
    return session_windows(uow, get_clinic(uow), pairs)


def list_aftercare(*, uow: UnitOfWork, patient_id: uuid.UUID) -> AftercareList:
    """Every aftercare window of a patient, by first day."""
    patient = uow.get(Patient, patient_id)
    return AftercareList(items=[_window(w) for w in patient_windows(uow, patient)])


def restrictions(*, uow: UnitOfWork, patient_id: uuid.UUID, on: date) -> Restrictions:
    """What is in force on `on` and until when; an NSAID in the medication list is named with its pause dates."""
    patient = uow.get(Patient, patient_id)
    in_force = restrictions_on(patient_windows(uow, patient), on)
    warnings = [Warning(code=w.code, message=w.message) for w in medication_warnings(patient.medications, in_force)]
    return Restrictions(on=on, restrictions=[_window(r) for r in in_force], warnings=warnings)
