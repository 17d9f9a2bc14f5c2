"""Session reads: the day view and single sessions."""

import json
import uuid
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    select,
    type_coerce,
)
from sqlmodel import Session as DbSession

from api.freshness import AnswerCache
from api.services.calendars import local_day_bounds
from api.services.clinic import get_clinic
from api.services.errors import InvalidInput
from api.services.lookups import get_or_404
from api.services.views import session_read
from models import Clinic, Session, SessionRead
from models.base import table_of
from scheduling.lifecycle import SessionStatus

_SESSION = table_of(Session).c
_CLINIC = table_of(Clinic).c


def _stored_id(column: ColumnElement[Any]) -> ColumnElement[Any]:
    # Ids as the driver hands them over: pydantic parses SQLite's text far faster than SQLAlchemy's
    # uuid.UUID() per column and row; PostgreSQL's driver already gives UUID objects.
    return type_coerce(column, String)


# The day view's columns, named as SessionRead names them; Core, not ORM: the front desk polls it.
_COLUMNS = (
    _stored_id(_SESSION.id).label("id"),
    _stored_id(_SESSION.course_id).label("course_id"),
    _stored_id(_SESSION.patient_id).label("patient_id"),
    _stored_id(_SESSION.practitioner_id).label("practitioner_id"),
    _SESSION.number,
    _SESSION.start_at.label("start"),
    _SESSION.end_at.label("end"),
    _SESSION.status,
    # JSON columns as their stored text: it is copied into the answer, never parsed and re-encoded
    cast(_SESSION.warnings, Text).label("warnings"),
    _SESSION.previous_start_at.label("previous_start"),
    _SESSION.change_reason,
    cast(_SESSION.record, Text).label("record"),
)


def get_session(*, db: DbSession, session_id: uuid.UUID) -> SessionRead:
    """One session."""
    row = get_or_404(db, Session, session_id)
    return session_read(row, ZoneInfo(get_clinic(db).timezone))


# Statements are built once and run with bound values: building and hashing a statement for
# SQLAlchemy's compiled cache costs more than running the indexed query itself.
_CLINIC_ZONE = select(_CLINIC.timezone).where(_CLINIC.id == 1)
_FILTERS = {
    "start": _SESSION.start_at >= bindparam("start"),
    "end": _SESSION.start_at < bindparam("end"),
    "practitioner_id": _SESSION.practitioner_id == bindparam("practitioner_id"),
    "patient_id": _SESSION.patient_id == bindparam("patient_id"),
    "status": _SESSION.status == bindparam("status"),
}


def _dashed(value: Any) -> Any:
    """SQLite stores a UUID as 32 hex digits; the API writes it in the 8-4-4-4-12 form (PostgreSQL gives UUIDs)."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value


def _clinic_zone(connection: Connection) -> ZoneInfo:
    """The clinic's zone, read alone, on every request: an admin may change it at any time.

    UTC when the row is missing, as `get_clinic` answers for a database never started.
    """
    name = connection.execute(_CLINIC_ZONE).scalar_one_or_none()
    return ZoneInfo(name or "UTC")


@cache
def _day_view_queries(filters: frozenset[str]) -> tuple[Select[Any], Select[Any]]:
    """The page and the count statements for one combination of filters (at most 32 combinations)."""
    filtered = select(*_COLUMNS).where(*(_FILTERS[name] for name in sorted(filters)))
    page = filtered.order_by(_SESSION.start_at, _SESSION.id).limit(bindparam("limit")).offset(bindparam("offset"))
    return page, select(func.count()).select_from(filtered.subquery())


def list_sessions_json(
    *,
    engine: Engine,
    cache: AnswerCache | None = None,
    on: date | None,
    from_date: date | None,
    to_date: date | None,
    practitioner_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
    status: SessionStatus | None,
    limit: int,
    offset: int,
) -> bytes:
    """The day view: sessions by start, filtered, one page, already serialised (the front desk polls it).

    With a cache, an answer is reused while the database has not changed since it was made.
    """
    if on is not None and (from_date is not None or to_date is not None):
        raise InvalidInput("date", "give either date, or from/to")
    first, last = (on, on) if on is not None else (from_date, to_date)
    if first is not None and last is not None and last < first:
        raise InvalidInput("to", "must not be before from")

    def compute() -> bytes:
        with engine.connect() as connection:
            return _day_view(connection, first, last, practitioner_id, patient_id, status, limit, offset)

    key = (first, last, practitioner_id, patient_id, status, limit, offset)
    return cache.get(key, compute) if cache is not None else compute()


def _day_view(
    connection: Connection,
    first: date | None,
    last: date | None,
    practitioner_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
    status: SessionStatus | None,
    limit: int,
    offset: int,
) -> bytes:
    zone = _clinic_zone(connection)
    given: dict[str, Any] = {
        "practitioner_id": practitioner_id,
        "patient_id": patient_id,
        "status": status,
    }
    if first is not None or last is not None:
        start, end = local_day_bounds(first or last, last or first, zone)  # type: ignore[arg-type]
        given |= {"start": start if first is not None else None, "end": end if last is not None else None}
    values = {name: value for name, value in given.items() if value is not None}
    page_query, count_query = _day_view_queries(frozenset(values))
    rows = connection.execute(page_query, {**values, "limit": limit, "offset": offset}).all()
    complete = offset == 0 and len(rows) < limit  # the whole answer is on this page: no count query needed
    total = len(rows) if complete else connection.execute(count_query, values).scalar_one()
    # Written out in SessionRead's field order, with the JSON columns' stored text copied in: a
    # test keeps every item equal to GET /v1/sessions/{id}, which goes through the model.
    items = ",".join(
        _ITEM
        % (
            _dashed(row.id),
            _dashed(row.course_id),
            _dashed(row.patient_id),
            _dashed(row.practitioner_id),
            row.number,
            _instant(row.start),
            _instant(row.end),
            row.start.astimezone(zone).isoformat(),
            row.status,
            row.warnings or "[]",
            f'"{_instant(row.previous_start)}"' if row.previous_start else "null",
            json.dumps(row.change_reason, ensure_ascii=False) if row.change_reason is not None else "null",
            row.record or "null",
        )
        for row in rows
    )
    return f'{{"items":[{items}],"total":{total},"limit":{limit},"offset":{offset}}}'.encode()


_ITEM = (
    '{"id":"%s","course_id":"%s","patient_id":"%s","practitioner_id":"%s","number":%d,"start":"%s","end":"%s",'
    '"start_local":"%s","status":"%s","warnings":%s,"previous_start":%s,"change_reason":%s,"record":%s}'
)


def _instant(value: datetime) -> str:
    """UTC with `Z`, as the API writes instants."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
