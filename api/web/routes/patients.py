"""Patients: register, find, change, archive."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.services import aftercare as aftercare_service
from api.services import patients
from api.web.deps import STAFF, requires
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import Page, PatientCreate, PatientRead, PatientUpdate
from models.aftercare import AftercareList, Restrictions
from models.base import DATE_BOUNDS

router = APIRouter(
    prefix="/v1/patients", tags=["patients"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))]
)


def _the_patient(patient_id: uuid.UUID) -> dict[str, Any]:
    """A change to one patient answers the patient: If-Match is checked against it, and the answer has an ETag."""
    return {"current": lambda uow: patients.patient_for_change(uow=uow, patient_id=patient_id), "etag": True}


@router.post("", status_code=201, response_model=PatientRead, summary="Register a patient")
async def create_patient(values: PatientCreate, tx: TransactionDep) -> Response:
    """Phone numbers are stored in E.164. A second patient with the same MRN is refused (409)."""
    return await tx.write(
        lambda uow: patients.create_patient(uow=uow, values=values),
        location=lambda patient: f"/v1/patients/{patient.id}",
        etag=True,
    )


@router.get("", response_model=Page[PatientRead], summary="Find patients")
async def search_patients(
    tx: TransactionDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=100, description="Name prefix, MRN or phone number")] = None,
    include_archived: bool = False,
) -> Response:
    """Patients by family name; `q` matches the start of a given or family name, an MRN, or a phone number."""
    return await tx.read(
        lambda uow: patients.search_patients(
            uow=uow, q=q, include_archived=include_archived, limit=page.limit, offset=page.offset
        )
    )


@router.get("/{patient_id}", response_model=PatientRead, summary="One patient")
async def get_patient(patient_id: uuid.UUID, tx: TransactionDep) -> Response:
    """A patient's details."""
    return await tx.read(lambda uow: patients.get_patient(uow=uow, patient_id=patient_id), etag=True)


@router.patch("/{patient_id}", response_model=PatientRead, summary="Change a patient")
async def update_patient(patient_id: uuid.UUID, changes: PatientUpdate, tx: TransactionDep) -> Response:
    """Only the fields given change; `phone` or `email` set to null removes them."""
    return await tx.write(
        lambda uow: patients.update_patient(uow=uow, patient_id=patient_id, changes=changes, now=tx.now),
        **_the_patient(patient_id),
    )


@router.post("/{patient_id}/archive", response_model=PatientRead, summary="Archive a patient")
async def archive_patient(patient_id: uuid.UUID, tx: TransactionDep) -> Response:
    """Hide a patient from searches and booking; their courses and records are kept. Their reminders are
    skipped from now on (`patient_archived`); the clinic's follow-up calls after injections still come."""
    return await tx.write(
        lambda uow: patients.archive_patient(uow=uow, patient_id=patient_id, now=tx.now), **_the_patient(patient_id)
    )


@router.get("/{patient_id}/aftercare", response_model=AftercareList, summary="A patient's aftercare windows")
async def aftercare(patient_id: uuid.UUID, tx: TransactionDep) -> Response:
    """Every window (NSAID avoidance, expected symptoms, exercises, follow-up call) of every session that took
    place or will; cancelled sessions and courses leave none."""
    return await tx.read(lambda uow: aftercare_service.list_aftercare(uow=uow, patient_id=patient_id))


@router.get("/{patient_id}/restrictions", response_model=Restrictions, summary="What is in force on a day")
async def restrictions(
    patient_id: uuid.UUID,
    tx: TransactionDep,
    on: Annotated[date, Query(description="Clinic-local date", examples=["2027-03-03"], **DATE_BOUNDS)],
) -> Response:
    """The aftercare in force on `on`, each with the day it ends (windows of several sessions merged), and a warning
    naming any NSAID in the patient's medication list with the dates to pause it."""
    return await tx.read(lambda uow: aftercare_service.restrictions(uow=uow, patient_id=patient_id, on=on))
