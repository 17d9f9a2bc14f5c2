"""A course as a FHIR R4 Bundle of type `collection`, for the clinic's EHR (S10).

The Bundle holds the Patient, the Practitioner, the clinic as an Organization, the
course as a CarePlan (each session an activity referring to its Appointment, each
aftercare rule after each session an activity; NSAID avoidance with `doNotPerform`),
every session as an Appointment and every reminder as a CommunicationRequest. Each
entry's fullUrl is `urn:uuid:<id>`, and every reference points at an entry.
"""

import uuid
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from api.fhir import resources as fhir
from api.services.aftercare import session_windows
from api.services.clinic import get_clinic
from api.store.unit_of_work import UnitOfWork
from models import Course, Patient, Practitioner, Reminder, Session, WaitlistEntry
from scheduling.aftercare import AVOID_MEDICATION, FOLLOW_UP, WINDOW_STATUSES, SessionRef, Window, rules_from
from scheduling.medications import find_in_class
from scheduling.messages import NSAID_ALTERNATIVE, aftercare_title, span_text
from scheduling.waitlist import EntryStatus


def urn(value: uuid.UUID | str) -> str:
    return f"urn:uuid:{value}"


def course_bundle(*, uow: UnitOfWork, course_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """The course, its patient, practitioner, sessions and reminders as one FHIR R4 Bundle."""
    course = uow.get(Course, course_id)
    patient = uow.get(Patient, course.patient_id)
    practitioner = uow.get(Practitioner, course.practitioner_id)
    clinic = get_clinic(uow)
    zone = clinic.zone
    sessions = list(
        uow.execute(select(Session).where(col(Session.course_id) == course.id).order_by(col(Session.number))).scalars()
    )
    reminders = list(
        uow.execute(
            select(Reminder)
            .where(col(Reminder.session_id).in_([s.id for s in sessions]))
            .where(col(Reminder.inbound_message_id).is_(None))  # what the plan sends, not staff items about texts
            .order_by(col(Reminder.due_at), col(Reminder.id))
        ).scalars()
    )
    # The clinic has no UUID of its own: one derived from its name names it the same in every export.
    clinic_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:prolo:clinic:{clinic.name}"))
    urls = {
        "patient": urn(patient.id),
        "practitioner": urn(practitioner.id),
        "clinic": urn(clinic_id),
        "care_plan": urn(course.id),
    }
    # Every session's windows, cancelled ones too: their activities show the aftercare was called off.
    rules = rules_from(course.rules)
    windows = session_windows(uow, clinic, [(SessionRef(str(s.id), s.start_at), rules) for s in sessions])
    by_session = {str(s.id): s for s in sessions}
    by_id = {r.id: r for r in reminders}
    # R38: a rider may ride with a message of the patient's other course; it shows that carrier's fate
    away = sorted({r.merged_into for r in reminders if r.merged_into and r.merged_into not in by_id})
    if away:
        by_id |= {r.id: r for r in uow.execute(select(Reminder).where(col(Reminder.id).in_(away))).scalars()}
    today = now.astimezone(zone).date()
    activities = [fhir.session_activity(urn(s.id), s.number) for s in sessions] + [
        fhir.aftercare_activity(
            w,
            fhir.activity_status(w, by_session[w.session_id].status in WINDOW_STATUSES, today),
            urls["practitioner"] if w.kind == FOLLOW_UP else urls["patient"],
            _description(w, by_session[w.session_id], patient),
        )
        for w in windows
    ]
    period = (sessions[0].start_at, sessions[-1].end_at) if sessions else None
    waits = requested_periods(uow, course.id, zone)
    names = {"patient": f"{patient.given_name} {patient.family_name}", "practitioner": practitioner.name}
    resources = [
        fhir.patient(patient),
        fhir.practitioner(practitioner),
        fhir.organization(clinic, clinic_id),
        fhir.care_plan(course, urls, activities, period),
        *(fhir.appointment(s, course, urls, names, _advice(s, windows), waits.get(s.id)) for s in sessions),
        *(
            fhir.communication_request(
                r, {**urls, "appointment": urn(r.session_id)}, by_id.get(r.merged_into) if r.merged_into else None
            )
            for r in reminders
            if r.session_id is not None
        ),
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": fhir.instant(now),
        "entry": [{"fullUrl": urn(r["id"]), "resource": r} for r in resources],
    }


def requested_periods(
    uow: UnitOfWork, course_id: uuid.UUID, zone: ZoneInfo
) -> dict[uuid.UUID, tuple[datetime, datetime]]:
    """S10: a waiting entry's session wants a time from its earliest date (or from when it was made) until now."""
    waiting = select(WaitlistEntry).where(
        col(WaitlistEntry.course_id) == course_id, col(WaitlistEntry.status) == EntryStatus.waiting
    )
    found = {}
    for entry in uow.execute(waiting).scalars():
        session = uow.get(Session, entry.session_id)
        start = entry.created_at
        if entry.earliest_date is not None:
            start = max(start, datetime.combine(entry.earliest_date, time(), zone))
        found[session.id] = (start, session.start_at)
    return found


def _description(window: Window, session: Session, patient: Patient) -> str:
    text = f"After session {session.number}: {window.instruction}"
    if window.kind == AVOID_MEDICATION:
        drugs = find_in_class(window.medication_class or "", patient.medications)
        text += "".join(f" Pause {match.medication} (contains {match.drug})." for match in drugs)
    return text


def _advice(session: Session, windows: list[Window]) -> str:
    """What the patient avoids after this session and when ("No … from Mon 1 Mar to Fri 5 Mar")."""
    avoid = [w for w in windows if w.session_id == str(session.id) and w.kind == AVOID_MEDICATION]
    lines = [f"{aftercare_title(w.kind, w.medication_class)} {span_text(w.from_date, w.until_date)}." for w in avoid]
    return " ".join([*lines, NSAID_ALTERNATIVE] if lines else lines)
