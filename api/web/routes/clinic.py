"""The clinic's settings and closures."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from api.services import clinic, closures
from api.web.deps import SETUP_READERS, requires
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import ClinicRead, ClinicWrite, ClosureCreate, ClosureRead, HolidayImport, Page
from models.base import DATE_BOUNDS

router = APIRouter(prefix="/v1", tags=["clinic"], responses=PROBLEMS)
_read = [Depends(requires(*SETUP_READERS))]
_admin = [Depends(requires())]


class ClosureList(BaseModel):
    items: list[ClosureRead]


@router.get("/clinic", response_model=ClinicRead, dependencies=_read, summary="The clinic's settings")
async def get_clinic(tx: TransactionDep) -> Response:
    """Name, time zone, opening hours, slot grid and reminder settings."""
    return await tx.read(lambda uow: clinic.read_clinic(uow=uow), etag=True)


@router.put("/clinic", response_model=ClinicRead, dependencies=_admin, summary="Change the clinic's settings")
async def put_clinic(values: ClinicWrite, tx: TransactionDep) -> Response:
    """Replace the settings. Sessions already booked keep their times."""
    return await tx.write(
        lambda uow: clinic.update_clinic(uow=uow, values=values, now=tx.now),
        current=lambda uow: clinic.clinic_for_change(uow=uow),
        etag=True,
    )


@router.post("/closures", status_code=201, response_model=ClosureRead, dependencies=_admin, summary="Close the clinic")
async def create_closure(values: ClosureCreate, tx: TransactionDep) -> Response:
    """Close the clinic on a range of local dates (end inclusive). New courses are planned around it."""
    return await tx.write(lambda uow: closures.create_closure(uow=uow, values=values, now=tx.now))


@router.get("/closures", response_model=Page[ClosureRead], dependencies=_read, summary="List closures")
async def list_closures(
    tx: TransactionDep,
    page: PageDep,
    from_date: Annotated[date | None, Query(alias="from", **DATE_BOUNDS, description="Local date")] = None,
    to_date: Annotated[date | None, Query(alias="to", **DATE_BOUNDS, description="Local date, inclusive")] = None,
) -> Response:
    """Closures overlapping the dates given."""
    return await tx.read(
        lambda uow: closures.list_closures(
            uow=uow, from_date=from_date, to_date=to_date, limit=page.limit, offset=page.offset
        )
    )


@router.delete(
    "/closures/{closure_id}", status_code=204, response_model=None, dependencies=_admin, summary="Remove a closure"
)
async def delete_closure(closure_id: uuid.UUID, tx: TransactionDep) -> Response:
    """Reopen the clinic on those dates."""
    return await tx.write(lambda uow: closures.delete_closure(uow=uow, closure_id=closure_id, now=tx.now))


@router.post(
    "/closures/import-holidays", response_model=ClosureList, dependencies=_admin, summary="Import public holidays"
)
async def import_holidays(request: HolidayImport, tx: TransactionDep) -> Response:
    """Close the clinic on a country's public holidays for a year. Importing twice makes none twice."""
    return await tx.write(lambda uow: ClosureList(items=closures.import_holidays(uow=uow, request=request, now=tx.now)))
