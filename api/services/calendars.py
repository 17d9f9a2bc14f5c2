"""Load what the planner needs, and only inside the search horizon, with indexed queries."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlmodel import Session as DbSession
from sqlmodel import col

from api.services.clinic import get_clinic, to_intervals
from models import Clinic, Closure, Practitioner, Session, TimeOff
from models.protocol import MAX_SESSION_MINUTES
from models.session import ACTIVE_STATUSES
from scheduling import Busy, Calendar, DateRange


@dataclass(frozen=True)
class Horizon:
    """The local dates a plan may touch, first and last included."""

    first_date: date
    last_date: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        # one day of slack on each side covers every UTC offset
        start = datetime.combine(self.first_date - timedelta(days=1), time(), zone).astimezone(UTC)
        end = datetime.combine(self.last_date + timedelta(days=2), time(), zone).astimezone(UTC)
        return start, end


def local_day_bounds(first_date: date, last_date: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants local dates span, last date included (23 or 25 hours on DST days)."""
    start = datetime.combine(first_date, time(), zone).astimezone(UTC)
    end = datetime.combine(last_date + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def _busy(rows: list[tuple[datetime, datetime]]) -> tuple[Busy, ...]:
    return tuple(Busy(start_at=start, end_at=end) for start, end in rows)


def active_sessions(
    db: DbSession,
    *,
    column: str,
    owner_id: uuid.UUID,
    start: datetime,
    end: datetime,
    exclude_course_id: uuid.UUID | None = None,
) -> tuple[Busy, ...]:
    """Active sessions of one practitioner or patient overlapping [start, end), by start."""
    owner = getattr(Session, column)
    query = (
        select(col(Session.start_at), col(Session.end_at))
        .where(
            owner == owner_id,
            col(Session.status).in_([s.value for s in ACTIVE_STATUSES]),
            col(Session.start_at) < end,
            col(Session.end_at) > start,
            # a lower bound on start_at too, so the (owner, start_at) index bounds the scan on both sides
            col(Session.start_at) > start - timedelta(minutes=MAX_SESSION_MINUTES),
        )
        .order_by(col(Session.start_at))
    )
    if exclude_course_id is not None:
        query = query.where(col(Session.course_id) != exclude_course_id)
    return _busy([(r.start_at, r.end_at) for r in db.execute(query)])


def load_calendar(
    db: DbSession,
    *,
    practitioner: Practitioner,
    patient_id: uuid.UUID | None,
    horizon: Horizon,
    clinic: Clinic | None = None,
    exclude_course_id: uuid.UUID | None = None,
) -> Calendar:
    """The practitioner's (and patient's) calendar inside the horizon."""
    clinic = clinic or get_clinic(db)
    zone = ZoneInfo(clinic.timezone)
    start, end = horizon.bounds(zone)
    closures = db.execute(
        select(col(Closure.start_date), col(Closure.end_date)).where(
            col(Closure.start_date) <= horizon.last_date, col(Closure.end_date) >= horizon.first_date
        )
    ).all()
    time_off = db.execute(
        select(col(TimeOff.start_at), col(TimeOff.end_at))
        .where(
            and_(
                col(TimeOff.practitioner_id) == practitioner.id,
                col(TimeOff.start_at) < end,
                col(TimeOff.end_at) > start,
            )
        )
        .order_by(col(TimeOff.start_at))
    ).all()
    return Calendar(
        zone=zone,
        opening_hours=to_intervals(clinic.opening_hours),
        working_hours=to_intervals(practitioner.working_hours or clinic.opening_hours),
        slot_minutes=clinic.slot_minutes,
        closures=tuple(DateRange(start_date=r.start_date, end_date=r.end_date) for r in closures),
        time_off=_busy([(r.start_at, r.end_at) for r in time_off]),
        practitioner_busy=active_sessions(
            db,
            column="practitioner_id",
            owner_id=practitioner.id,
            start=start,
            end=end,
            exclude_course_id=exclude_course_id,
        ),
        patient_busy=(
            active_sessions(
                db, column="patient_id", owner_id=patient_id, start=start, end=end, exclude_course_id=exclude_course_id
            )
            if patient_id is not None
            else ()
        ),
    )
