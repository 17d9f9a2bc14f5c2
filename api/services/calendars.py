"""Load what the planner needs for the dates its question reaches, with indexed queries.

The dates come from the core (:mod:`scheduling.reach`), never from arithmetic here:
the calendar carries them, and the planner refuses to look past them.
"""

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, bindparam, select, union_all
from sqlmodel import col

from api.services.clinic import get_clinic, to_intervals
from api.store.db import Prepared, one_of
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Closure, Practitioner, Session, TimeOff, WaitlistOpening
from models.protocol import MAX_SESSION_MINUTES
from scheduling import Busy, Calendar, DateRange
from scheduling.lifecycle import ACTIVE
from scheduling.open_days import OpenDays, follow_up_reach


def local_day_bounds(first_date: date, last_date: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants local dates span, last date included (23 or 25 hours on DST days)."""
    start = datetime.combine(first_date, time(), zone).astimezone(UTC)
    end = datetime.combine(last_date + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def _busy(rows: Iterable[Row[datetime, datetime]]) -> tuple[Busy, ...]:
    # Rows come back aware (UTCDateTime), and ends after starts: sessions are start + length,
    # time off is checked on its way in.
    trusted = Busy.trusted
    return tuple(trusted(start, end) for start, end in rows)


def _active_query(column: str, *, excluding_course: bool) -> Select[datetime, datetime]:
    """Active sessions of one owner overlapping [:start, :end); built once, executed often."""
    owner = getattr(Session, column)
    query = select(col(Session.start_at), col(Session.end_at)).where(
        owner == bindparam("owner_id"),
        one_of(col(Session.status), ACTIVE),
        col(Session.start_at) < bindparam("end"),
        col(Session.end_at) > bindparam("start"),
        # a lower bound on start_at too, so the (owner, start_at) index bounds the scan on both sides
        col(Session.start_at) > bindparam("lowest_start"),
    )
    return query.where(col(Session.course_id) != bindparam("course_id")) if excluding_course else query


# Built and compiled once: composing a statement costs about as much as running it on a small calendar.
_ACTIVE_QUERIES = {
    (column, excluding): Prepared(_active_query(column, excluding_course=excluding).order_by(col(Session.start_at)))
    for column in ("practitioner_id", "patient_id")
    for excluding in (False, True)
}


def active_sessions(
    uow: UnitOfWork,
    *,
    column: Literal["practitioner_id", "patient_id"],
    owner_id: uuid.UUID,
    start: datetime,
    end: datetime,
    exclude_course_id: uuid.UUID | None = None,
) -> tuple[Busy, ...]:
    """Active sessions of one practitioner or patient overlapping [start, end), by start."""
    query = _ACTIVE_QUERIES[column, exclude_course_id is not None]
    # plain rows, hundreds per planning pass
    return _busy(uow.fetch(query, _active_params(owner_id, start, end, exclude_course_id)))


def _active_params(
    owner_id: uuid.UUID, start: datetime, end: datetime, exclude_course_id: uuid.UUID | None
) -> dict[str, Any]:
    """The parameters of :func:`_active_query`."""
    return {
        "owner_id": owner_id,
        "start": start,
        "end": end,
        "lowest_start": start - timedelta(minutes=MAX_SESSION_MINUTES),
        "course_id": exclude_course_id,
    }


_CLOSURES = Prepared(
    select(col(Closure.start_date), col(Closure.end_date)).where(
        col(Closure.start_date) <= bindparam("last_date"), col(Closure.end_date) >= bindparam("first_date")
    )
)
_TIME_OFF = Prepared(
    select(col(TimeOff.start_at), col(TimeOff.end_at))
    .where(
        col(TimeOff.practitioner_id) == bindparam("practitioner_id"),
        col(TimeOff.start_at) < bindparam("end"),
        col(TimeOff.end_at) > bindparam("start"),
    )
    .order_by(col(TimeOff.start_at))
)


# R43: the spans of the practitioner's openings held for offered patients at :now (until hold_until, whether or
# not a dispatch pass has cleared them yet), except the hold of the offer being accepted (:ignored)
_HELD_NOW = select(col(WaitlistOpening.start_at), col(WaitlistOpening.end_at)).where(
    col(WaitlistOpening.practitioner_id) == bindparam("owner_id"),
    col(WaitlistOpening.hold_until) > bindparam("now"),  # a hold ends at hold_until, pass or no pass
    col(WaitlistOpening.id) != bindparam("ignored"),
    col(WaitlistOpening.start_at) < bindparam("end"),
    col(WaitlistOpening.end_at) > bindparam("start"),
)
# The planner's view of a practitioner: their active sessions and the spans held for waitlist offers, in one read
_PRACTITIONER_BUSY = {
    excluding: Prepared(union_all(_active_query("practitioner_id", excluding_course=excluding), _HELD_NOW))
    for excluding in (False, True)
}


_NO_HOLD = uuid.UUID(int=0)


def load_calendar(
    uow: UnitOfWork,
    *,
    practitioner: Practitioner,
    patient_id: uuid.UUID | None,
    span: DateRange,
    now: datetime,
    clinic: Clinic | None = None,
    exclude_course_id: uuid.UUID | None = None,
    ignore_hold: uuid.UUID | None = None,
) -> Calendar:
    """The practitioner's (and patient's) calendar for the local dates of ``span``, which it carries.

    Busy time is loaded for the instants those dates cover (a session or time off that
    starts the evening before still counts, R5), closures for the dates themselves. A waitlist
    opening's hold (R43) is busy too while it lasts (``hold_until`` after ``now``), for every
    planner, except for the accept of that opening's own offer (``ignore_hold``).
    """
    clinic = clinic or get_clinic(uow)
    zone = clinic.zone
    start, end = local_day_bounds(span.start_date, span.end_date, zone)
    closures = uow.fetch(_CLOSURES, {"first_date": span.start_date, "last_date": span.end_date})
    time_off = uow.fetch(_TIME_OFF, {"practitioner_id": practitioner.id, "start": start, "end": end})
    return Calendar(
        zone=zone,
        opening_hours=to_intervals(clinic.opening_hours),
        working_hours=to_intervals(practitioner.working_hours or clinic.opening_hours),
        slot_minutes=clinic.slot_minutes,
        closures=tuple(DateRange(start_date=r.start_date, end_date=r.end_date) for r in closures),
        time_off=_busy(time_off),
        practitioner_busy=tuple(
            sorted(
                _busy(
                    uow.fetch(
                        _PRACTITIONER_BUSY[exclude_course_id is not None],
                        _active_params(practitioner.id, start, end, exclude_course_id)
                        | {"now": now, "ignored": ignore_hold or _NO_HOLD},
                    )
                ),
                key=lambda b: b.start_at,
            )
        ),
        patient_busy=(
            active_sessions(
                uow, column="patient_id", owner_id=patient_id, start=start, end=end, exclude_course_id=exclude_course_id
            )
            if patient_id is not None
            else ()
        ),
        span=span,
    )


def load_open_days(uow: UnitOfWork, *, clinic: Clinic, follow_up_days: Iterable[date]) -> OpenDays | None:
    """The clinic's open days for placing these follow-up calls (R16): its opening hours, and the closures
    of every date the core says the calls may reach; None when there is no call to place."""
    span = follow_up_reach(follow_up_days)
    if span is None:
        return None
    closures = uow.fetch(_CLOSURES, {"first_date": span.start_date, "last_date": span.end_date})
    found = (DateRange(start_date=r.start_date, end_date=r.end_date) for r in closures)
    return OpenDays.of(to_intervals(clinic.opening_hours), found, span)
