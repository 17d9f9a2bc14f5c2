"""Calendar feeds (S9): a patient's sessions and aftercare days, a practitioner's sessions.

A feed is read two ways. Staff software reads it with an API key (`FeedView.staff`) and
may see what staff see: the patient's name, the condition, the drugs to pause. A
calendar app reads it by its secret URL (`FeedView.subscriber`); that URL leaks, so
such a feed names no condition, medication, allergy or note: the clinic, the times,
the practitioner and generic aftercare advice, nothing more.

Every session of the feed's period is in it, cancelled ones too (STATUS:CANCELLED),
so a calendar app that showed a session takes it away. Aftercare days come from
the same windows as `GET /v1/patients/{id}/aftercare` (R14: sessions that took
place or will).
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Row, select
from sqlmodel import col

from api.feeds.events import DayEvent, Feed, TimedEvent
from api.feeds.tokens import find_token
from api.services.aftercare import patient_windows
from api.services.clinic import get_clinic, phone_for_people
from api.store.errors import NotFound
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Course, Patient, Practitioner, Session
from scheduling.aftercare import AVOID_MEDICATION, FOLLOW_UP, Window
from scheduling.lifecycle import SessionStatus
from scheduling.medications import find_in_class
from scheduling.messages import aftercare_title, when_to_call

# Calendar apps drop what a feed no longer holds: half a year back keeps a course at hand
# and a busy practitioner's feed small enough to poll every hour.
HISTORY = timedelta(days=183)


class FeedView(StrEnum):
    staff = "staff"  # reached with an API key
    subscriber = "subscriber"  # reached by the secret URL, which may leak


def patient_feed(*, uow: UnitOfWork, patient_id: uuid.UUID, view: FeedView, now: datetime) -> Feed:
    """A patient's sessions (cancelled ones marked) and aftercare days, from half a year back."""
    patient = uow.get(Patient, patient_id)
    clinic = get_clinic(uow)
    rows = _recent_sessions(uow, col(Session.patient_id) == patient.id, now)
    phone = phone_for_people(clinic)
    events: list[TimedEvent | DayEvent] = []
    for session, course, _, practitioner in rows:
        lines = [f"With {practitioner.name}.", f"To change or cancel, call {phone}." if phone else None]
        if view is FeedView.staff:
            lines.append(f"Course: {course.condition}.")
        events.append(_timed(session, course, clinic, f"Session {session.number} at {clinic.name}", lines, "patient"))
    shown = {str(session.id): (session, course) for session, course, _, _ in rows}
    for window in patient_windows(uow, patient):
        if window.session_id in shown:
            session, course = shown[window.session_id]
            events.append(_aftercare(window, session, course, clinic, patient, view))
    return Feed(uid=f"prolo-patient-{patient.id}", name=clinic.name, zone=clinic.zone, events=(*events,))


def practitioner_feed(*, uow: UnitOfWork, practitioner_id: uuid.UUID, view: FeedView, now: datetime) -> Feed:
    """A practitioner's sessions (cancelled ones marked), from half a year back."""
    practitioner = uow.get(Practitioner, practitioner_id)
    clinic = get_clinic(uow)
    events: list[TimedEvent | DayEvent] = []
    for session, course, patient, _ in _recent_sessions(uow, col(Session.practitioner_id) == practitioner.id, now):
        if view is FeedView.staff:
            who, lines = f"{patient.given_name} {patient.family_name}", _clinical_lines(course, patient)
        else:
            # Initials, not names: this URL sits in the practitioner's phone and its cloud sync, and
            # a name next to a prolotherapy clinic's appointment is health data. Initials and the
            # session number let the practitioner, who knows the day's patients, tell them apart
            # while telling a stranger who holds the URL nothing they could link to a person.
            who, lines = _initials(patient), []
        events.append(_timed(session, course, clinic, f"Session {session.number} · {who}", lines, "practitioner"))
    name = f"{clinic.name}: {practitioner.name}"
    return Feed(uid=f"prolo-practitioner-{practitioner.id}", name=name, zone=clinic.zone, events=(*events,))


def feed_by_token(*, uow: UnitOfWork, token: str, now: datetime) -> Feed:
    """The feed a secret URL opens, as a subscriber sees it; 404 for an unknown or replaced token."""
    found = find_token(uow, token)
    if found is None:
        raise NotFound("calendar", "(this link was replaced or never existed)")
    if found.patient_id is not None:
        return patient_feed(uow=uow, patient_id=found.patient_id, view=FeedView.subscriber, now=now)
    assert found.practitioner_id is not None  # the table's check: exactly one owner
    return practitioner_feed(uow=uow, practitioner_id=found.practitioner_id, view=FeedView.subscriber, now=now)


def _recent_sessions(
    uow: UnitOfWork, owned: ColumnElement[bool], now: datetime
) -> Sequence[Row[Session, Course, Patient, Practitioner]]:
    """The feed owner's sessions from HISTORY ago on, by start, each with its course, patient and practitioner."""
    return uow.execute(
        select(Session, Course, Patient, Practitioner)
        .join(Course, col(Course.id) == col(Session.course_id))
        .join(Patient, col(Patient.id) == col(Session.patient_id))
        .join(Practitioner, col(Practitioner.id) == col(Session.practitioner_id))
        .where(owned, col(Session.start_at) >= now - HISTORY)
        .order_by(col(Session.start_at), col(Session.number))
    ).all()


def _timed(
    session: Session, course: Course, clinic: Clinic, title: str, lines: Iterable[str | None], feed: str
) -> TimedEvent:
    cancelled = session.status == SessionStatus.cancelled
    return TimedEvent(
        # One UID per session and kind of feed: the patient's and the practitioner's events
        # say different things, and an app subscribed to both must not take one for the other.
        uid=f"session-{session.id}-{feed}@prolo",
        sequence=session.sequence,
        start_at=session.start_at,
        end_at=session.end_at,
        # Many apps show a subscribed event's STATUS:CANCELLED no differently: the title says it too.
        summary=f"Cancelled: {title}" if cancelled else title,
        description="\n".join(line for line in lines if line) or None,
        location=clinic.name,
        cancelled=cancelled,
        stamp_at=course.created_at,
    )


def _aftercare(
    window: Window, session: Session, course: Course, clinic: Clinic, patient: Patient, view: FeedView
) -> DayEvent:
    if window.kind == FOLLOW_UP:
        # The rule's instruction is written for staff (what to ask on the call); the patient reads this.
        lines = ["The clinic will call to ask how you are.", when_to_call(phone_for_people(clinic))]
    else:
        lines = [window.instruction]
    if view is FeedView.staff and window.kind == AVOID_MEDICATION:
        drugs = find_in_class(window.medication_class or "", patient.medications)
        lines += [f"Pause {match.medication} (contains {match.drug})." for match in drugs]
    return DayEvent(
        uid=f"aftercare-{window.session_id}-{window.rule_code}@prolo",
        sequence=session.sequence,
        first_date=window.from_date,
        last_date=window.until_date,
        summary=aftercare_title(window.kind, window.medication_class),
        description="\n".join(line for line in lines if line) or None,
        stamp_at=course.created_at,
    )


def _clinical_lines(course: Course, patient: Patient) -> list[str | None]:
    return [
        f"Course: {course.condition}.",
        f"Medications: {', '.join(patient.medications)}." if patient.medications else None,
        f"Allergies: {', '.join(patient.allergies)}." if patient.allergies else None,
    ]


def _initials(patient: Patient) -> str:
    return " ".join(f"{name.strip()[:1].upper()}." for name in (patient.given_name, patient.family_name))
