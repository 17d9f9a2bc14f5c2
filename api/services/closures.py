"""Closures and public holidays (the `holidays` package).

A closure moves no booked session, but it does move the follow-up calls planned on its days to
the clinic's next open day, and lifting it brings them back (R16): each change replans them.
"""

import uuid
from datetime import date, datetime

import holidays
from sqlalchemy import func, select
from sqlmodel import col

from api.services.reminder_plans import replan_follow_ups
from api.store.errors import InvalidInput
from api.store.unit_of_work import UnitOfWork
from models import Closure, ClosureCreate, ClosureRead, HolidayImport, Page
from scheduling.spans import DateRange


def _read(closure: Closure) -> ClosureRead:
    return ClosureRead.model_validate(closure, from_attributes=True)


def create_closure(*, uow: UnitOfWork, values: ClosureCreate, now: datetime) -> ClosureRead:
    """Close the clinic on these local dates. Booked sessions are not moved; follow-up calls are (R16)."""
    closure = Closure(**values.model_dump())
    uow.add(closure)
    replan_follow_ups(uow, now, days=DateRange(closure.start_date, closure.end_date))
    return _read(closure)


def list_closures(
    *, uow: UnitOfWork, from_date: date | None, to_date: date | None, limit: int, offset: int
) -> Page[ClosureRead]:
    """Closures overlapping [from, to], by start date (S3: paginated, with the total)."""
    query = select(Closure).order_by(col(Closure.start_date), col(Closure.id))
    if from_date is not None:
        query = query.where(col(Closure.end_date) >= from_date)
    if to_date is not None:
        query = query.where(col(Closure.start_date) <= to_date)
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = uow.execute(query.limit(limit).offset(offset)).scalars()
    return Page(items=[_read(c) for c in rows], total=total, limit=limit, offset=offset)


def delete_closure(*, uow: UnitOfWork, closure_id: uuid.UUID, now: datetime) -> None:
    """Reopen those dates; follow-up calls that waited for them come back (R16)."""
    closure = uow.get(Closure, closure_id)
    uow.delete(closure)
    replan_follow_ups(uow, now, days=DateRange(closure.start_date, closure.end_date))


def import_holidays(*, uow: UnitOfWork, request: HolidayImport, now: datetime) -> list[ClosureRead]:
    """A closure per public holiday; holidays already imported are not made twice."""
    try:
        calendar = holidays.country_holidays(request.country.upper(), subdiv=request.subdivision, years=request.year)
    except NotImplementedError as exc:
        where = request.country + (f"-{request.subdivision}" if request.subdivision else "")
        raise InvalidInput("country", f"no public holidays known for {where!r}") from exc
    existing = {
        (c.start_date, c.end_date, c.reason)
        for c in uow.execute(
            select(Closure).where(
                col(Closure.start_date) >= date(request.year, 1, 1),
                col(Closure.start_date) <= date(request.year, 12, 31),
            )
        ).scalars()
    }
    made = []
    for day, name in sorted(calendar.items()):
        if (day, day, name) in existing:
            continue
        closure = Closure(start_date=day, end_date=day, reason=name)
        uow.add(closure)
        made.append(closure)
    if made:
        replan_follow_ups(uow, now, days=DateRange(made[0].start_date, made[-1].end_date))
    return [_read(c) for c in made]
