"""Practitioners, their time off and their free slots."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from api.services import practitioners
from api.web.deps import SETUP_READERS, requires
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import FreeSlot, Page, PractitionerCreate, PractitionerRead, PractitionerUpdate, TimeOffCreate, TimeOffRead
from models.base import DATE_BOUNDS

router = APIRouter(prefix="/v1/practitioners", tags=["practitioners"], responses=PROBLEMS)
_read = [Depends(requires(*SETUP_READERS))]
_admin = [Depends(requires())]


class FreeSlotList(BaseModel):
    items: list[FreeSlot]


@router.post("", status_code=201, response_model=PractitionerRead, dependencies=_admin, summary="Add a practitioner")
async def create_practitioner(values: PractitionerCreate, tx: TransactionDep) -> Response:
    """A practitioner; without `working_hours` they work the clinic's opening hours."""
    return await tx.write(
        lambda uow: practitioners.create_practitioner(uow=uow, values=values),
        location=lambda practitioner: f"/v1/practitioners/{practitioner.id}",
        etag=True,
    )


@router.get("", response_model=Page[PractitionerRead], dependencies=_read, summary="List practitioners")
async def list_practitioners(
    tx: TransactionDep,
    page: PageDep,
    name: Annotated[
        str | None, Query(max_length=200, description="Only practitioners of exactly this name (ignoring case)")
    ] = None,
) -> Response:
    """Every practitioner, by name; `name` finds one you know by name (is Dr. Okafor set up yet?)."""
    return await tx.read(
        lambda uow: practitioners.list_practitioners(uow=uow, name=name, limit=page.limit, offset=page.offset)
    )


@router.get("/{practitioner_id}", response_model=PractitionerRead, dependencies=_read, summary="One practitioner")
async def get_practitioner(practitioner_id: uuid.UUID, tx: TransactionDep) -> Response:
    """A practitioner and their working hours."""
    return await tx.read(
        lambda uow: practitioners.get_practitioner(uow=uow, practitioner_id=practitioner_id), etag=True
    )


@router.patch(
    "/{practitioner_id}", response_model=PractitionerRead, dependencies=_admin, summary="Change a practitioner"
)
async def update_practitioner(practitioner_id: uuid.UUID, changes: PractitionerUpdate, tx: TransactionDep) -> Response:
    """Change the name or the working hours (`null` hours: follow the clinic's)."""
    return await tx.write(
        lambda uow: practitioners.update_practitioner(uow=uow, practitioner_id=practitioner_id, changes=changes),
        current=lambda uow: practitioners.practitioner_for_change(uow=uow, practitioner_id=practitioner_id),
        etag=True,
    )


@router.post(
    "/{practitioner_id}/time-off",
    status_code=201,
    response_model=TimeOffRead,
    dependencies=_admin,
    summary="Add time off",
)
async def add_time_off(practitioner_id: uuid.UUID, values: TimeOffCreate, tx: TransactionDep) -> Response:
    """Block a period (aware datetimes) for new bookings. Sessions already booked in it are not moved."""
    return await tx.write(
        lambda uow: practitioners.add_time_off(uow=uow, practitioner_id=practitioner_id, values=values),
        # S6: an action on the practitioner: If-Match names the practitioner's ETag
        current=lambda uow: practitioners.practitioner_for_change(uow=uow, practitioner_id=practitioner_id),
    )


@router.get("/{practitioner_id}/free-slots", response_model=FreeSlotList, dependencies=_read, summary="Free slots")
async def free_slots(
    practitioner_id: uuid.UUID,
    tx: TransactionDep,
    from_date: Annotated[date, Query(alias="from", **DATE_BOUNDS, description="First local date")],
    to_date: Annotated[
        date, Query(alias="to", **DATE_BOUNDS, description="Last local date, inclusive (62 days at most)")
    ],
    duration_minutes: Annotated[int, Query(ge=5, le=480)] = 45,
) -> Response:
    """Every start on the clinic's slot grid where the practitioner is free for the whole duration."""
    return await tx.read(
        lambda uow: FreeSlotList(
            items=practitioners.list_free_slots(
                uow=uow,
                practitioner_id=practitioner_id,
                from_date=from_date,
                to_date=to_date,
                duration_minutes=duration_minutes,
                now=tx.now,
            )
        )
    )
