"""Patient use cases. Patients are archived, never deleted."""

import uuid
from datetime import datetime

import phonenumbers
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from api.services.patient_links import end_all_links
from api.services.reminder_plans import sync_patient_reminders
from api.store.db import DbSession
from api.store.errors import DuplicateMrn
from api.store.lookups import get_or_404
from models import Page, Patient, PatientCreate, PatientRead, PatientUpdate


def create_patient(*, db: DbSession, values: PatientCreate) -> PatientRead:
    """Register a patient; the MRN must be new (409 otherwise)."""
    patient = Patient(**values.model_dump(), given_name_key="", family_name_key="")
    patient.set_name_keys()
    return _save(db, patient)


def get_patient(*, db: DbSession, patient_id: uuid.UUID) -> PatientRead:
    """One patient."""
    return PatientRead.of(get_or_404(db, Patient, patient_id))


def patient_for_change(*, db: DbSession, patient_id: uuid.UUID) -> PatientRead:
    """One patient as GET shows them, locked."""
    return PatientRead.of(get_or_404(db, Patient, patient_id, lock=True))


def update_patient(*, db: DbSession, patient_id: uuid.UUID, changes: PatientUpdate, now: datetime) -> PatientRead:
    """Change the given fields."""
    patient = get_or_404(db, Patient, patient_id, lock=True)
    reached_at = (patient.phone, patient.email)
    for name, value in changes.model_dump(exclude_unset=True).items():
        if value is None and name in {
            "mrn",
            "given_name",
            "family_name",
            "date_of_birth",
            "reminder_channel",
            "reminder_consent",
            "medications",
            "allergies",
        }:
            continue  # these cannot be emptied; null means "unchanged"
        setattr(patient, name, value)
    patient.set_name_keys()
    if (patient.phone, patient.email) != reached_at:  # R24: links sent to the old number or address end
        end_all_links(db, patient, now)
    saved = _save(db, patient)
    patient_changed(db=db, patient_id=patient.id, now=now)
    return saved


def archive_patient(*, db: DbSession, patient_id: uuid.UUID, now: datetime) -> PatientRead:
    """Archive a patient: kept with their records, hidden from searches, not bookable, sent no more messages."""
    patient = get_or_404(db, Patient, patient_id, lock=True)
    patient.archived = True
    end_all_links(db, patient, now)  # R24: nothing reaches an archived patient, nor works for them
    saved = _save(db, patient)
    patient_changed(db=db, patient_id=patient.id, now=now)
    return saved


def patient_changed(*, db: DbSession, patient_id: uuid.UUID, now: datetime) -> None:
    """What follows a change to a patient's row, in the same transaction; every path that changes one calls it.

    Their pending reminders are planned again (R19): a new phone, email, channel or name is
    where and how they are written to, withdrawn consent skips them (R18), and an archived
    patient gets no patient message (skipped, `patient_archived`; the staff's follow-up
    calls still come: the injections happened).
    """
    sync_patient_reminders(db, patient_id, now)


def search_patients(
    *, db: DbSession, q: str | None, include_archived: bool, limit: int, offset: int
) -> Page[PatientRead]:
    """Patients whose given or family name starts with q, or whose MRN or phone is q."""
    query = select(Patient)
    if not include_archived:
        query = query.where(col(Patient.archived).is_(False))
    if q:
        term = q.strip()
        prefix = _like_prefix(term.casefold())
        matches = [
            col(Patient.given_name_key).like(prefix, escape="\\"),
            col(Patient.family_name_key).like(prefix, escape="\\"),
            col(Patient.mrn) == term,
        ]
        phone = _as_phone(term)
        if phone:
            matches.append(col(Patient.phone) == phone)
        query = query.where(or_(*matches))
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = (
        db.execute(
            query.order_by(col(Patient.family_name_key), col(Patient.given_name_key), col(Patient.id))
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    return Page(items=[PatientRead.of(r) for r in rows], total=total, limit=limit, offset=offset)


def _like_prefix(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _as_phone(term: str) -> str | None:
    try:
        number = phonenumbers.parse(term, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _save(db: DbSession, patient: Patient) -> PatientRead:
    mrn = patient.mrn
    db.add(patient)
    try:
        db.flush()
    except IntegrityError as exc:
        raise DuplicateMrn(mrn) from exc
    return PatientRead.of(patient)
