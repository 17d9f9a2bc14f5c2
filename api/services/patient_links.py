"""Patient links as staff see them (R24, R28): a session's current link, a patient's links, revocation.

Revoking ends a link for every process at once (a row, not a cache), and the patient's
pending messages are planned again in the same transaction, so the next one carries the
new link (R19, R24).
"""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from api.services.links import manage_link, token_of, works
from api.services.reminder_plans import sync_course_reminders, sync_patient_reminders
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import Patient, PatientLink, PatientLinkRead, Reminder, Session, SessionLink
from models.base import table_of
from scheduling.lifecycle import ACTIVE
from scheduling.reminders import PATIENT, ReminderStatus


def session_link(*, uow: UnitOfWork, session_id: uuid.UUID, origin: str, now: datetime) -> SessionLink:
    """The session's current `manage` link (the same URL until a revocation); a new one when it has none."""
    session = uow.get(Session, session_id)
    patient = uow.lock(Patient, session.patient_id)  # two staff asking at once: one link
    if session.status not in ACTIVE or session.start_at <= now:
        raise Conflict("only a session still to come has a link", current_status=session.status)
    if patient.archived:
        raise Conflict("the patient is archived: their links have ended")
    keys = uow.link_keys
    assert keys is not None  # the shell gives them to every unit of work it opens
    link = manage_link(uow, keys, session, patient, now)
    url = keys.url(token_of(keys, link), origin)
    assert url is not None  # an origin is given
    return SessionLink(link_id=link.id, url=url, purpose=link.purpose, expires_at=link.expires_at)


def list_links(*, uow: UnitOfWork, patient_id: uuid.UUID) -> list[PatientLinkRead]:
    """Every link issued to the patient, newest first; never a token."""
    uow.get(Patient, patient_id)
    query = (
        select(PatientLink)
        .where(col(PatientLink.patient_id) == patient_id)
        .order_by(col(PatientLink.created_at).desc(), col(PatientLink.id).desc())
    )
    return [PatientLinkRead.model_validate(link, from_attributes=True) for link in uow.execute(query).scalars()]


def revoke_link(*, uow: UnitOfWork, link_id: uuid.UUID, now: datetime) -> PatientLinkRead:
    """End one link now; the patient's pending messages get the session's next link."""
    found = uow.get(PatientLink, link_id)
    patient = uow.lock(Patient, found.patient_id)
    link = uow.lock(PatientLink, link_id)
    if works(link, patient, now):
        link.revoked_at = now
        uow.add(link)
        sync_patient_reminders(uow, patient.id, now)
    return PatientLinkRead.model_validate(link, from_attributes=True)


def revoke_patient_links(*, uow: UnitOfWork, patient_id: uuid.UUID, now: datetime) -> list[PatientLinkRead]:
    """End every link of the patient now (the answer: those that still worked); their pending messages get new
    ones."""
    patient = uow.lock(Patient, patient_id)
    ended = [PatientLinkRead.model_validate(link, from_attributes=True) for link in end_all_links(uow, patient, now)]
    sync_patient_reminders(uow, patient.id, now)
    return ended


def end_all_links(uow: UnitOfWork, patient: Patient, now: datetime) -> list[PatientLink]:
    """R24: the patient's epoch goes up, so no link made before works; the live ones say when they ended.
    The caller plans the patient's messages again (with the new links) in the same transaction."""
    query = select(PatientLink).where(col(PatientLink.patient_id) == patient.id, col(PatientLink.revoked_at).is_(None))
    ended = [link for link in uow.execute(query).scalars() if works(link, patient, now)]
    for link in ended:
        link.revoked_at = now
        uow.add(link)
    patient.link_epoch += 1
    uow.add(patient)
    uow.flush()
    return ended


def renew_ended_links(*, uow: UnitOfWork, now: datetime) -> int:
    """A link ends 90 days after it was made (R23), so a session booked further ahead than that would get its
    reminders with an ended link: every course with a message still to go about a session whose links have all
    ended (none revoked: those were replaced when revoked) is planned again, and its messages carry the session's
    next link (R19). The number of courses planned again; a dispatch pass runs it first."""
    keys = uow.link_keys
    if keys is None or keys.public_url is None:
        return 0  # no origin, no links: a pass without one leaves the messages as they are
    other = table_of(PatientLink).alias("other")  # another link of the same session, one that still works
    live = (
        select(other.c.id)
        .where(
            other.c.session_id == col(Session.id),
            other.c.revoked_at.is_(None),
            other.c.epoch == col(Patient.link_epoch),
            other.c.expires_at > now,
        )
        .exists()
    )
    ended = (
        select(col(Session.course_id))
        .join(Reminder, col(Reminder.session_id) == col(Session.id))
        .join(PatientLink, col(PatientLink.session_id) == col(Session.id))
        .join(Patient, col(Patient.id) == col(Session.patient_id))
        .where(
            col(Reminder.status) == ReminderStatus.pending,
            col(Reminder.audience) == PATIENT,
            col(PatientLink.revoked_at).is_(None),
            col(PatientLink.epoch) == col(Patient.link_epoch),
            col(PatientLink.expires_at) <= now,
            col(Session.start_at) > now,
            col(Session.status).in_(ACTIVE),
            ~live,
        )
        .distinct()
    )
    courses = uow.lock_courses(list(uow.execute(ended).scalars()))
    for course in courses:
        sync_course_reminders(uow, course, now)
    return len(courses)
