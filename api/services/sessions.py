"""Session reads: the day view and single sessions."""

import uuid
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select

from api.services.calendars import local_day_bounds
from api.services.clinic import get_clinic
from api.services.views import session_read
from api.store.errors import InvalidInput
from api.store.freshness import Scope
from api.store.unit_of_work import UnitOfWork
from models import Session, SessionRead
from models.base import Page, table_of
from scheduling.lifecycle import SessionStatus

_SESSION = table_of(Session).c


def get_session(*, uow: UnitOfWork, session_id: uuid.UUID) -> SessionRead:
    """One session."""
    return session_read(uow.get(Session, session_id), get_clinic(uow).zone)


def session_for_change(*, uow: UnitOfWork, session_id: uuid.UUID) -> SessionRead:
    """One session as GET shows it, its practitioner, patient, course and itself locked in the writers' order."""
    row, _ = uow.lock_session(session_id, with_owners=True)
    return session_read(row, get_clinic(uow).zone)


def day_view_dates(on: date | None, from_date: date | None, to_date: date | None) -> tuple[date | None, date | None]:
    """The first and last local dates a day view asks for: one `date`, or `from`/`to` (each may be open)."""
    if on is not None and (from_date is not None or to_date is not None):
        raise InvalidInput("date", "give either date, or from/to")
    first, last = (on, on) if on is not None else (from_date, to_date)
    if first is not None and last is not None and last < first:
        raise InvalidInput("to", "must not be before from")
    return first, last


# Statements are built once and run with bound values: building and hashing a statement for
# SQLAlchemy's compiled cache costs more than running the indexed query itself.
_FILTERS = {
    "start": _SESSION.start_at >= bindparam("start"),
    "end": _SESSION.start_at < bindparam("end"),
    "practitioner_id": _SESSION.practitioner_id == bindparam("practitioner_id"),
    "patient_id": _SESSION.patient_id == bindparam("patient_id"),
    "status": _SESSION.status == bindparam("status"),
}


@cache
def _day_view_queries(filters: frozenset[str]) -> tuple[Select[Any], Select[Any]]:
    """The page and the count statements for one combination of filters (at most 32 combinations)."""
    filtered = select(*_SESSION).where(*(_FILTERS[name] for name in sorted(filters)))
    page = filtered.order_by(_SESSION.start_at, _SESSION.id).limit(bindparam("limit")).offset(bindparam("offset"))
    return page, select(func.count()).select_from(filtered.subquery())


def day_view_scope(
    *,
    uow: UnitOfWork,
    first: date | None,
    last: date | None,
    practitioner_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
) -> Scope:
    """The sessions a day view's answer is made of, for the answer cache: a change to any other leaves it kept."""
    start = end = None
    if first is not None or last is not None:
        start, end = local_day_bounds(first or last, last or first, get_clinic(uow).zone)  # type: ignore[arg-type]
    return Scope(
        start=start if first is not None else None,
        end=end if last is not None else None,
        practitioner_id=practitioner_id,
        patient_id=patient_id,
    )  # fmt: skip


def list_sessions(
    *,
    uow: UnitOfWork,
    first: date | None,
    last: date | None,
    practitioner_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
    status: SessionStatus | None,
    limit: int,
    offset: int,
) -> Page[SessionRead]:
    """The day view: sessions between two local dates (either may be open), filtered, by start, one page.

    Core rows, not ORM objects (the front desk polls this view all day), each made into a
    SessionRead by the same function as every other session answer.
    """
    zone = get_clinic(uow).zone
    given: dict[str, Any] = {"practitioner_id": practitioner_id, "patient_id": patient_id, "status": status}
    if first is not None or last is not None:
        start, end = local_day_bounds(first or last, last or first, zone)  # type: ignore[arg-type]
        given |= {"start": start if first is not None else None, "end": end if last is not None else None}
    values = {name: value for name, value in given.items() if value is not None}
    page_query, count_query = _day_view_queries(frozenset(values))
    rows = uow.rows(page_query, {**values, "limit": limit, "offset": offset}).all()
    complete = offset == 0 and len(rows) < limit  # the whole answer is on this page: no count query needed
    total = len(rows) if complete else uow.rows(count_query, values).scalar_one()
    return Page(items=[session_read(row, zone) for row in rows], total=total, limit=limit, offset=offset)
