"""Practitioners: set-up, time off, and the free slots staff can offer."""

import uuid
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import col

from api.services.calendars import load_calendar
from api.services.clinic import get_clinic
from api.store.errors import InvalidInput
from api.store.unit_of_work import UnitOfWork
from models import (
    FreeSlot,
    Page,
    Practitioner,
    PractitionerCreate,
    PractitionerRead,
    PractitionerUpdate,
    TimeOff,
    TimeOffCreate,
    TimeOffRead,
)
from scheduling import DateRange, free_slots

MAX_FREE_SLOT_DAYS = 62


def _read(practitioner: Practitioner) -> PractitionerRead:
    return PractitionerRead.model_validate(practitioner, from_attributes=True)


def create_practitioner(*, uow: UnitOfWork, values: PractitionerCreate) -> PractitionerRead:
    """A new practitioner; without working hours they follow the clinic's opening hours."""
    practitioner = Practitioner(**values.model_dump(mode="json"))
    uow.add(practitioner)
    uow.flush()
    return _read(practitioner)


def list_practitioners(*, uow: UnitOfWork, name: str | None, limit: int, offset: int) -> Page[PractitionerRead]:
    """Practitioners by name; `name`: only those of exactly that name, ignoring case."""
    query = select(Practitioner)
    if name is not None:
        query = query.where(func.lower(col(Practitioner.name)) == name.strip().lower())
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = uow.execute(
        query.order_by(col(Practitioner.name), col(Practitioner.id)).limit(limit).offset(offset)
    ).scalars()
    return Page(items=[_read(r) for r in rows], total=total, limit=limit, offset=offset)


def get_practitioner(*, uow: UnitOfWork, practitioner_id: uuid.UUID) -> PractitionerRead:
    """One practitioner."""
    return _read(uow.get(Practitioner, practitioner_id))


def practitioner_for_change(*, uow: UnitOfWork, practitioner_id: uuid.UUID) -> PractitionerRead:
    """One practitioner as GET shows them, locked."""
    return _read(uow.lock(Practitioner, practitioner_id))


def update_practitioner(
    *, uow: UnitOfWork, practitioner_id: uuid.UUID, changes: PractitionerUpdate
) -> PractitionerRead:
    """Change a practitioner's name or hours. Booked sessions stay where they are."""
    practitioner = uow.lock(Practitioner, practitioner_id)
    for name, value in changes.model_dump(mode="json", exclude_unset=True).items():
        if name == "name" and value is None:
            continue
        setattr(practitioner, name, value)
    uow.add(practitioner)
    uow.flush()
    return _read(practitioner)


def add_time_off(*, uow: UnitOfWork, practitioner_id: uuid.UUID, values: TimeOffCreate) -> TimeOffRead:
    """Time off: no new session is planned into it (R5). Booked sessions are not moved."""
    practitioner = uow.lock(Practitioner, practitioner_id)
    time_off = TimeOff(practitioner_id=practitioner.id, start_at=values.start, end_at=values.end, reason=values.reason)
    uow.add(time_off)
    uow.flush()
    return TimeOffRead(
        id=time_off.id, practitioner_id=practitioner.id, start=values.start, end=values.end, reason=values.reason
    )


def list_free_slots(
    *,
    uow: UnitOfWork,
    practitioner_id: uuid.UUID,
    from_date: date,
    to_date: date,
    duration_minutes: int,
    now: datetime,
) -> list[FreeSlot]:
    """Every free start on the slot grid, between two local dates (to inclusive)."""
    if to_date < from_date:
        raise InvalidInput("to", "must not be before from")
    if (to_date - from_date).days >= MAX_FREE_SLOT_DAYS:
        raise InvalidInput("to", f"at most {MAX_FREE_SLOT_DAYS} days at once")
    practitioner = uow.get(Practitioner, practitioner_id)
    clinic = get_clinic(uow)
    zone = clinic.zone
    calendar = load_calendar(
        uow,
        practitioner=practitioner,
        patient_id=None,
        span=DateRange(from_date, to_date),
        now=now,
        clinic=clinic,
    )
    slots = free_slots(calendar, from_date=from_date, to_date=to_date, duration_minutes=duration_minutes, now=now)
    return [FreeSlot(start=s.start_at, end=s.end_at, start_local=s.start_at.astimezone(zone)) for s in slots]
