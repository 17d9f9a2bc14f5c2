"""A patient's aftercare: the windows of every session of every non-cancelled course (R12–R15)."""

import uuid
from datetime import date

from sqlalchemy import select
from sqlmodel import col

from api.services.clinic import get_clinic
from api.store.db import DbSession
from api.store.lookups import get_or_404
from models import Course, Patient, Session
from models.aftercare import AftercareList, AftercareWindow, Restrictions
from models.base import Warning
from scheduling.aftercare import WINDOW_STATUSES, Restriction, Rule, SessionRef, Window, restrictions_on, windows_for
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


def rules_of(course: Course) -> list[Rule]:
    return [Rule(**rule) for rule in course.rules]


def patient_windows(db: DbSession, patient: Patient) -> list[Window]:
    """Every window of the patient's sessions that took place or will (R14: cancelled ones leave none)."""
    zone = get_clinic(db).zone
    rows = db.execute(
        select(Session, Course)
        .join(Course, col(Course.id) == col(Session.course_id))
        .where(
            col(Session.patient_id) == patient.id,
            col(Course.status) != CourseStatus.cancelled,
            col(Session.status).in_(WINDOW_STATUSES),
        )
        .order_by(col(Session.start_at))
    ).all()
    windows: list[Window] = []
    for session, course in rows:
        windows.extend(windows_for([SessionRef(str(session.id), session.start_at)], rules_of(course), zone))
    return sorted(windows, key=lambda w: (w.from_date, w.rule_code, w.session_start_at))


def list_aftercare(*, db: DbSession, patient_id: uuid.UUID) -> AftercareList:
    """Every aftercare window of a patient, by first day."""
    patient = get_or_404(db, Patient, patient_id)
    return AftercareList(items=[_window(w) for w in patient_windows(db, patient)])


def restrictions(*, db: DbSession, patient_id: uuid.UUID, on: date) -> Restrictions:
    """What is in force on `on` and until when; an NSAID in the medication list is named with its pause dates."""
    patient = get_or_404(db, Patient, patient_id)
    in_force = restrictions_on(patient_windows(db, patient), on)
    warnings = [Warning(code=w.code, message=w.message) for w in medication_warnings(patient.medications, in_force)]
    return Restrictions(on=on, restrictions=[_window(r) for r in in_force], warnings=warnings)
