"""Practitioners, their time off and their free slots."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import SETUP_READERS, NowDep, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep
from api.services import practitioners
from models import FreeSlot, Page, PractitionerCreate, PractitionerRead, PractitionerUpdate, TimeOffCreate, TimeOffRead
from models.base import DATE_BOUNDS

router = APIRouter(prefix="/v1/practitioners", tags=["practitioners"], responses=PROBLEMS)
_read = [Depends(requires(*SETUP_READERS))]
_admin = [Depends(requires())]


class FreeSlotList(BaseModel):
    items: list[FreeSlot]


@router.post("", status_code=201, response_model=PractitionerRead, dependencies=_admin, summary="Add a practitioner")
def create_practitioner(values: PractitionerCreate, db: SessionDep) -> PractitionerRead:
    """A practitioner; without `working_hours` they work the clinic's opening hours."""
    return practitioners.create_practitioner(db=db, values=values)


@router.get("", response_model=Page[PractitionerRead], dependencies=_read, summary="List practitioners")
def list_practitioners(db: SessionDep, page: PageDep) -> Page[PractitionerRead]:
    """Every practitioner, by name."""
    return practitioners.list_practitioners(db=db, limit=page.limit, offset=page.offset)


@router.get("/{practitioner_id}", response_model=PractitionerRead, dependencies=_read, summary="One practitioner")
def get_practitioner(practitioner_id: uuid.UUID, db: SessionDep) -> PractitionerRead:
    """A practitioner and their working hours."""
    return practitioners.get_practitioner(db=db, practitioner_id=practitioner_id)


@router.patch(
    "/{practitioner_id}", response_model=PractitionerRead, dependencies=_admin, summary="Change a practitioner"
)
def update_practitioner(practitioner_id: uuid.UUID, changes: PractitionerUpdate, db: SessionDep) -> PractitionerRead:
    """Change the name or the working hours (`null` hours: follow the clinic's)."""
    return practitioners.update_practitioner(db=db, practitioner_id=practitioner_id, changes=changes)


@router.post(
    "/{practitioner_id}/time-off",
    status_code=201,
    response_model=TimeOffRead,
    dependencies=_admin,
    summary="Add time off",
)
def add_time_off(practitioner_id: uuid.UUID, values: TimeOffCreate, db: SessionDep) -> TimeOffRead:
    """Block a period (aware datetimes) for new bookings. Sessions already booked in it are not moved."""
    return practitioners.add_time_off(db=db, practitioner_id=practitioner_id, values=values)


@router.get("/{practitioner_id}/free-slots", response_model=FreeSlotList, dependencies=_read, summary="Free slots")
def free_slots(
    practitioner_id: uuid.UUID,
    db: SessionDep,
    now: NowDep,
    from_date: Annotated[date, Query(alias="from", **DATE_BOUNDS, description="First local date")],
    to_date: Annotated[
        date, Query(alias="to", **DATE_BOUNDS, description="Last local date, inclusive (62 days at most)")
    ],
    duration_minutes: Annotated[int, Query(ge=5, le=480)] = 45,
) -> FreeSlotList:
    """Every start on the clinic's slot grid where the practitioner is free for the whole duration."""
    items = practitioners.list_free_slots(
        db=db,
        practitioner_id=practitioner_id,
        from_date=from_date,
        to_date=to_date,
        duration_minutes=duration_minutes,
        now=now,
    )
    return FreeSlotList(items=items)
