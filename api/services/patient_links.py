"""Patient links as staff see them (R24, R28): a session's current link, a patient's links, revocation.

Revoking ends a link for every process at once (a row, not a cache), and the patient's
pending messages are planned again in the same transaction, so the next one carries the
new link (R19, R24).
"""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from api.services.links import keys_of, manage_link, token_of, works
from api.services.reminder_plans import sync_patient_reminders
from api.store.db import DbSession
from api.store.errors import Conflict
from api.store.lookups import get_or_404
from models import Patient, PatientLink, PatientLinkRead, Session, SessionLink
from scheduling.lifecycle import ACTIVE


def session_link(*, db: DbSession, session_id: uuid.UUID, origin: str, now: datetime) -> SessionLink:
    """The session's current `manage` link (the same URL until a revocation); a new one when it has none."""
    session = get_or_404(db, Session, session_id)
    patient = get_or_404(db, Patient, session.patient_id, lock=True)  # two staff asking at once: one link
    if session.status not in ACTIVE or session.start_at <= now:
        raise Conflict(
            "only a session still to come has a link", current_status=session.status, code="session_not_open"
        )
    if patient.archived:
        raise Conflict("the patient is archived: their links have ended", code="patient_archived")
    keys = keys_of(db)
    assert keys is not None  # the shell gives them to every transaction
    link = manage_link(db, keys, session, patient, now)
    url = keys.url(token_of(keys, link), origin)
    assert url is not None  # an origin is given
    return SessionLink(link_id=link.id, url=url, purpose=link.purpose, expires_at=link.expires_at)


def list_links(*, db: DbSession, patient_id: uuid.UUID) -> list[PatientLinkRead]:
    """Every link issued to the patient, newest first; never a token."""
    get_or_404(db, Patient, patient_id)
    query = (
        select(PatientLink)
        .where(col(PatientLink.patient_id) == patient_id)
        .order_by(col(PatientLink.created_at).desc(), col(PatientLink.id).desc())
    )
    return [PatientLinkRead.model_validate(link, from_attributes=True) for link in db.execute(query).scalars()]


def revoke_link(*, db: DbSession, link_id: uuid.UUID, now: datetime) -> PatientLinkRead:
    """End one link now; the patient's pending messages get the session's next link."""
    found = get_or_404(db, PatientLink, link_id)
    patient = get_or_404(db, Patient, found.patient_id, lock=True)
    link = get_or_404(db, PatientLink, link_id, lock=True)
    if works(link, patient, now):
        link.revoked_at = now
        db.add(link)
        sync_patient_reminders(db, patient.id, now)
    return PatientLinkRead.model_validate(link, from_attributes=True)


def revoke_patient_links(*, db: DbSession, patient_id: uuid.UUID, now: datetime) -> list[PatientLinkRead]:
    """End every link of the patient now (the answer: those that still worked); their pending messages get new
    ones."""
    patient = get_or_404(db, Patient, patient_id, lock=True)
    ended = [PatientLinkRead.model_validate(link, from_attributes=True) for link in end_all_links(db, patient, now)]
    sync_patient_reminders(db, patient.id, now)
    return ended


def end_all_links(db: DbSession, patient: Patient, now: datetime) -> list[PatientLink]:
    """R24: the patient's epoch goes up, so no link made before works; the live ones say when they ended.
    The caller plans the patient's messages again (with the new links) in the same transaction."""
    query = select(PatientLink).where(col(PatientLink.patient_id) == patient.id, col(PatientLink.revoked_at).is_(None))
    ended = [link for link in db.execute(query).scalars() if works(link, patient, now)]
    for link in ended:
        link.revoked_at = now
        db.add(link)
    patient.link_epoch += 1
    db.add(patient)
    db.flush()
    return ended
