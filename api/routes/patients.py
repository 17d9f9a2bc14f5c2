"""Patients: register, find, change, archive."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import STAFF, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep
from api.services import patients
from models import Page, PatientCreate, PatientRead, PatientUpdate

router = APIRouter(
    prefix="/v1/patients", tags=["patients"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))]
)


@router.post("", status_code=201, response_model=PatientRead, summary="Register a patient")
def create_patient(values: PatientCreate, db: SessionDep) -> PatientRead:
    """Phone numbers are stored in E.164. A second patient with the same MRN is refused (409)."""
    return patients.create_patient(db=db, values=values)


@router.get("", response_model=Page[PatientRead], summary="Find patients")
def search_patients(
    db: SessionDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=100, description="Name prefix, MRN or phone number")] = None,
    include_archived: bool = False,
) -> Page[PatientRead]:
    """Patients by family name; `q` matches the start of a given or family name, an MRN, or a phone number."""
    return patients.search_patients(db=db, q=q, include_archived=include_archived, limit=page.limit, offset=page.offset)


@router.get("/{patient_id}", response_model=PatientRead, summary="One patient")
def get_patient(patient_id: uuid.UUID, db: SessionDep) -> PatientRead:
    """A patient's details."""
    return patients.get_patient(db=db, patient_id=patient_id)


@router.patch("/{patient_id}", response_model=PatientRead, summary="Change a patient")
def update_patient(patient_id: uuid.UUID, changes: PatientUpdate, db: SessionDep) -> PatientRead:
    """Only the fields given change; `phone` or `email` set to null removes them."""
    return patients.update_patient(db=db, patient_id=patient_id, changes=changes)


@router.post("/{patient_id}/archive", response_model=PatientRead, summary="Archive a patient")
def archive_patient(patient_id: uuid.UUID, db: SessionDep) -> PatientRead:
    """Hide a patient from searches and booking; their courses and records are kept."""
    return patients.archive_patient(db=db, patient_id=patient_id)
