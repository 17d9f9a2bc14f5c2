"""Patient use cases. Patients are archived, never deleted."""

import uuid
from datetime import datetime

import phonenumbers
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from api.services.patient_links import end_all_links
from api.services.reminder_plans import sync_patient_reminders
from api.store.errors import DuplicateMrn
from api.store.unit_of_work import UnitOfWork
from models import Page, Patient, PatientCreate, PatientRead, PatientUpdate


def create_patient(*, uow: UnitOfWork, values: PatientCreate) -> PatientRead:
    """Register a patient; the MRN must be new (409 otherwise)."""
    patient = Patient(**values.model_dump(), given_name_key="", family_name_key="")
    patient.set_name_keys()
    return _save(uow, patient)


def get_patient(*, uow: UnitOfWork, patient_id: uuid.UUID) -> PatientRead:
    """One patient."""
    return PatientRead.of(uow.get(Patient, patient_id))


def patient_for_change(*, uow: UnitOfWork, patient_id: uuid.UUID) -> PatientRead:
    """One patient as GET shows them, locked."""
    return PatientRead.of(uow.lock(Patient, patient_id))


def update_patient(*, uow: UnitOfWork, patient_id: uuid.UUID, changes: PatientUpdate, now: datetime) -> PatientRead:
    """Change the given fields."""
    patient = uow.lock(Patient, patient_id)
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
        end_all_links(uow, patient, now)
    saved = _save(uow, patient)
    patient_changed(uow=uow, patient_id=patient.id, now=now)
    return saved


def archive_patient(*, uow: UnitOfWork, patient_id: uuid.UUID, now: datetime) -> PatientRead:
    """Archive a patient: kept with their records, hidden from searches, not bookable, sent no more messages."""
    patient = uow.lock(Patient, patient_id)
    patient.archived = True
    end_all_links(uow, patient, now)  # R24: nothing reaches an archived patient, nor works for them
    saved = _save(uow, patient)
    patient_changed(uow=uow, patient_id=patient.id, now=now)
    return saved


def patient_changed(*, uow: UnitOfWork, patient_id: uuid.UUID, now: datetime) -> None:
    """What follows a change to a patient's row, in the same transaction; every path that changes one calls it.

    Their pending reminders are planned again (R19): a new phone, email, channel or name is
    where and how they are written to, withdrawn consent skips them (R18), and an archived
    patient gets no patient message (skipped, `patient_archived`; the staff's follow-up
    calls still come: the injections happened).
    """
    sync_patient_reminders(uow, patient_id, now)


def search_patients(
    *, uow: UnitOfWork, q: str | None, include_archived: bool, limit: int, offset: int
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
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = (
        uow.execute(
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


def _save(uow: UnitOfWork, patient: Patient) -> PatientRead:
    mrn = patient.mrn
    uow.add(patient)
    try:
        uow.flush()
    except IntegrityError as exc:
        raise DuplicateMrn(mrn) from exc
    return PatientRead.of(patient)
