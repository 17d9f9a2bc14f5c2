"""Session reads: the day view and single sessions."""

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlmodel import Session as DbSession

from api.services.calendars import local_day_bounds
from api.services.clinic import get_clinic
from api.services.errors import InvalidInput
from api.services.lookups import get_or_404
from api.services.views import session_read
from models import Page, Session, SessionRead, SessionStatus

_PAGE = TypeAdapter(Page[SessionRead])
_COLUMNS = (
    Session.id, Session.course_id, Session.patient_id, Session.practitioner_id, Session.number,
    Session.start_at, Session.end_at, Session.status, Session.warnings, Session.previous_start_at,
    Session.change_reason, Session.record,
)


def get_session(*, db: DbSession, session_id: uuid.UUID) -> SessionRead:
    """One session."""
    row = get_or_404(db, Session, session_id)
    return session_read(row, ZoneInfo(get_clinic(db).timezone))


def list_sessions_json(
    *, db: DbSession, on: date | None, from_date: date | None, to_date: date | None,
    practitioner_id: uuid.UUID | None, patient_id: uuid.UUID | None, status: SessionStatus | None,
    limit: int, offset: int,
) -> bytes:
    """The day view: sessions by start, filtered, one page, already serialised (the front desk polls it)."""
    if on is not None and (from_date is not None or to_date is not None):
        raise InvalidInput("date", "give either date, or from/to")
    zone = ZoneInfo(get_clinic(db).timezone)
    first, last = (on, on) if on is not None else (from_date, to_date)
    query = select(*_COLUMNS)
    if first is not None or last is not None:
        if first is not None and last is not None and last < first:
            raise InvalidInput("to", "must not be before from")
        start, end = local_day_bounds(first or last, last or first, zone)  # type: ignore[arg-type]
        if first is not None:
            query = query.where(Session.start_at >= start)
        if last is not None:
            query = query.where(Session.start_at < end)
    if practitioner_id is not None:
        query = query.where(Session.practitioner_id == practitioner_id)
    if patient_id is not None:
        query = query.where(Session.patient_id == patient_id)
    if status is not None:
        query = query.where(Session.status == status.value)
    rows = db.execute(query.order_by(Session.start_at, Session.id).limit(limit).offset(offset)).all()
    if offset == 0 and len(rows) < limit:
        total = len(rows)  # the whole answer is on this page: no count query needed
    else:
        total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = Page[SessionRead](items=[session_read(r, zone) for r in rows], total=total, limit=limit, offset=offset)
    return _PAGE.dump_json(page)
