"""The clinic's settings and closures."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import SETUP_READERS, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep
from api.services import clinic, closures
from models import ClinicRead, ClinicWrite, ClosureCreate, ClosureRead, HolidayImport, Page
from models.base import DATE_BOUNDS

router = APIRouter(prefix="/v1", tags=["clinic"], responses=PROBLEMS)
_read = [Depends(requires(*SETUP_READERS))]
_admin = [Depends(requires())]


class ClosureList(BaseModel):
    items: list[ClosureRead]


@router.get("/clinic", response_model=ClinicRead, dependencies=_read, summary="The clinic's settings")
def get_clinic(db: SessionDep) -> ClinicRead:
    """Name, time zone, opening hours, slot grid and reminder settings."""
    return clinic.read_clinic(db)


@router.put("/clinic", response_model=ClinicRead, dependencies=_admin, summary="Change the clinic's settings")
def put_clinic(values: ClinicWrite, db: SessionDep) -> ClinicRead:
    """Replace the settings. Sessions already booked keep their times."""
    return clinic.update_clinic(db=db, values=values)


@router.post("/closures", status_code=201, response_model=ClosureRead, dependencies=_admin, summary="Close the clinic")
def create_closure(values: ClosureCreate, db: SessionDep) -> ClosureRead:
    """Close the clinic on a range of local dates (end inclusive). New courses are planned around it."""
    return closures.create_closure(db=db, values=values)


@router.get("/closures", response_model=Page[ClosureRead], dependencies=_read, summary="List closures")
def list_closures(
    db: SessionDep,
    page: PageDep,
    from_date: Annotated[date | None, Query(alias="from", **DATE_BOUNDS, description="Local date")] = None,
    to_date: Annotated[date | None, Query(alias="to", **DATE_BOUNDS, description="Local date, inclusive")] = None,
) -> Page[ClosureRead]:
    """Closures overlapping the dates given."""
    return closures.list_closures(db=db, from_date=from_date, to_date=to_date, limit=page.limit, offset=page.offset)


@router.delete("/closures/{closure_id}", status_code=204, dependencies=_admin, summary="Remove a closure")
def delete_closure(closure_id: uuid.UUID, db: SessionDep) -> None:
    """Reopen the clinic on those dates."""
    closures.delete_closure(db=db, closure_id=closure_id)


@router.post(
    "/closures/import-holidays", response_model=ClosureList, dependencies=_admin, summary="Import public holidays"
)
def import_holidays(request: HolidayImport, db: SessionDep) -> ClosureList:
    """Close the clinic on a country's public holidays for a year. Importing twice makes none twice."""
    return ClosureList(items=closures.import_holidays(db=db, request=request))
