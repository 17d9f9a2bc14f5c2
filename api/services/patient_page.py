"""The page behind a patient's link (R25, R27): what it shows and which actions it offers now.

It shows the least a patient needs, as a link can be forwarded: the clinic's name and phone,
the patient's first name, "session k of n", the session's local day and time, status and
practitioner, and that session's generic aftercare (the rule's kind and dates, never the
protocol's free text). Never the condition, medications, allergies, notes, surname or date
of birth: nothing here reads them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from api.services.aftercare import session_windows
from api.services.clinic import get_clinic, phone_for_people
from api.services.links import open_link
from api.services.self_service import offered
from api.store.errors import LinkUnknown
from api.store.tokens import LinkKeys
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Course, Patient, PatientLink, Practitioner, Reminder, Session
from scheduling.aftercare import AVOID_MEDICATION, FOLLOW_UP, WINDOW_STATUSES, SessionRef, rules_from
from scheduling.alternatives import Alternative
from scheduling.lifecycle import CourseStatus, SessionStatus
from scheduling.links import MANAGE
from scheduling.messages import NSAID_ALTERNATIVE, aftercare_title, span_text
from scheduling.reminders import ReminderKind, ReminderStatus

WANTS_TO_STOP = "wants_to_stop"
_OPEN = (SessionStatus.scheduled, SessionStatus.confirmed)
_STOPPED = (CourseStatus.cancelled, CourseStatus.on_hold)
_COUNTED = (SessionStatus.scheduled, SessionStatus.confirmed, SessionStatus.checked_in, SessionStatus.completed)


@dataclass(frozen=True)
class ClinicContact:
    """The clinic as every page names it, the 404 and 410 pages too."""

    name: str
    phone: str | None  # as people dial it
    tel: str | None  # for a `tel:` link (E.164)


@dataclass(frozen=True)
class Care:
    """One aftercare window of the session, in plain words."""

    title: str
    when: str
    note: str | None = None


@dataclass(frozen=True)
class Moved:
    number: int
    before_at: datetime  # local
    after_at: datetime  # local


@dataclass(frozen=True)
class Choice:
    """An alternative as the page shows it."""

    choice: str
    start_at: datetime  # local
    moved: tuple[Moved, ...]


@dataclass(frozen=True)
class PatientPage:
    clinic: ClinicContact
    first_name: str
    number: int  # k of n: the session's place among the course's sessions that took place or will
    count: int
    start_at: datetime  # local
    status: SessionStatus
    practitioner: str
    care: tuple[Care, ...]
    can_confirm: bool
    can_cancel: bool
    can_reschedule: bool
    choices: tuple[Choice, ...]
    open: bool  # the session is still to come and booked
    stop_requested: bool
    cancel_notice_hours: int
    reschedule_notice_hours: int
    replaces: bool  # a session the patient cancels gets a replacement at the end of the course
    move_too_late: bool  # open, but inside the reschedule notice period


@dataclass(frozen=True)
class Opened:
    """What a link opens, read in one transaction."""

    link: PatientLink
    session: Session
    course: Course
    patient: Patient
    clinic: Clinic


def contact(clinic: Clinic) -> ClinicContact:
    return ClinicContact(clinic.name, phone_for_people(clinic), clinic.phone)


def clinic_contact(*, uow: UnitOfWork) -> ClinicContact:
    """The clinic alone: what a page for an unknown or ended link shows (R24)."""
    return contact(get_clinic(uow))


def opened(uow: UnitOfWork, keys: LinkKeys, token: str, now: datetime) -> Opened:
    """The session a working link opens; LinkUnknown or LinkGone otherwise (R24)."""
    link = open_link(uow, keys, token, now)
    if link.purpose != MANAGE or link.session_id is None:
        raise LinkUnknown()  # an offer's link opens its offer's page, and takes none of a session's actions
    session = uow.get(Session, link.session_id)
    return Opened(
        link=link,
        session=session,
        course=uow.get(Course, session.course_id),
        patient=uow.get(Patient, link.patient_id),
        clinic=get_clinic(uow),
    )


def is_open(found: Opened, now: datetime) -> bool:
    """The session is booked and still to come, in a course that goes on: the patient may act on it."""
    return found.session.status in _OPEN and found.session.start_at > now and found.course.status not in _STOPPED


def notice_left(found: Opened, now: datetime, hours: int) -> bool:
    """At least `hours` before the session (R26: notice periods bind the patient only)."""
    return found.session.start_at - now >= timedelta(hours=hours)


def patient_page(*, uow: UnitOfWork, keys: LinkKeys, token: str, now: datetime) -> PatientPage:
    """The page a link opens; reading it changes nothing (R25: mail scanners open every link)."""
    found = opened(uow, keys, token, now)
    session, course, clinic = found.session, found.course, found.clinic
    zone = clinic.zone
    open_now = is_open(found, now)
    can_cancel = open_now and notice_left(found, now, clinic.cancel_notice_hours)
    may_move = open_now and notice_left(found, now, clinic.reschedule_notice_hours)
    alternatives = offered(uow, session, course, clinic, now) if may_move else ()
    counted = [s for s in uow.course_sessions(course.id) if s.status in _COUNTED or s.id == session.id]
    counted.sort(key=lambda s: (s.start_at, s.number))
    return PatientPage(
        clinic=contact(clinic),
        first_name=found.patient.given_name,
        number=[s.id for s in counted].index(session.id) + 1,
        count=len(counted),
        start_at=session.start_at.astimezone(zone),
        status=session.status,
        practitioner=uow.get(Practitioner, session.practitioner_id).name,
        care=care_at(uow, clinic, session, course, session.start_at),
        can_confirm=open_now and session.status == SessionStatus.scheduled,
        can_cancel=can_cancel,
        can_reschedule=bool(alternatives),
        choices=tuple(_choice(a, uow.course_sessions(course.id), clinic) for a in alternatives),
        open=open_now,
        stop_requested=stop_requested(uow, session),
        cancel_notice_hours=clinic.cancel_notice_hours,
        reschedule_notice_hours=clinic.reschedule_notice_hours,
        replaces=clinic.patient_cancel_replaces,
        move_too_late=open_now and not may_move,
    )


def stop_requested(uow: UnitOfWork, session: Session) -> bool:
    """The patient said through the link that they want to stop, and staff have not dealt with it yet."""
    query = select(col(Reminder.id)).where(
        col(Reminder.session_id) == session.id,
        col(Reminder.kind) == ReminderKind.patient_action,
        col(Reminder.reason) == WANTS_TO_STOP,
        col(Reminder.status) == ReminderStatus.ready,
    )
    return uow.execute(query).first() is not None


def care_at(uow: UnitOfWork, clinic: Clinic, session: Session, course: Course, start_at: datetime) -> tuple[Care, ...]:
    """The session's aftercare were it at `start_at`, generic: each rule's kind and dates, never the protocol's
    own text."""
    if session.status not in WINDOW_STATUSES:
        return ()  # no injection, no aftercare (R14)
    windows = session_windows(uow, clinic, [(SessionRef(str(session.id), start_at), rules_from(course.rules))])
    care = []
    for w in windows:
        note = NSAID_ALTERNATIVE if w.kind == AVOID_MEDICATION and w.medication_class == "nsaid" else None
        if w.kind == FOLLOW_UP:
            note = "If we cannot reach you, please call us."
        care.append(Care(aftercare_title(w.kind, w.medication_class), span_text(w.from_date, w.until_date), note))
    return tuple(care)


def _choice(alternative: Alternative, sessions: list[Session], clinic: Clinic) -> Choice:
    zone = clinic.zone
    before = {s.number: s.start_at for s in sessions}
    return Choice(
        choice=alternative.choice,
        start_at=alternative.session.start_at.astimezone(zone),
        moved=tuple(
            Moved(m.number, before[m.number].astimezone(zone), m.start_at.astimezone(zone)) for m in alternative.moved
        ),
    )
