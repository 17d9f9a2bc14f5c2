"""Plain helpers for the scheduling tests: small calendars from readable pieces.

Times are written as local wall-clock strings ("09:30") and turned into aware
instants here, so each test reads like the clinic's diary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduling import (
    Busy,
    Calendar,
    CoursePlan,
    DateRange,
    HoursInterval,
    PlannedSession,
    ProtocolValues,
    plan_course,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MON = date(2026, 2, 2)  # a Monday, far from Berlin's DST changes
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROTOCOL = ProtocolValues(
    session_count=6,
    interval_days=14,
    interval_tolerance_days=3,
    min_interval_days=7,
    session_minutes=45,
)


def t(text: str) -> time:
    """ "09:30" → time(9, 30)."""
    return time.fromisoformat(text)


def day(offset: int) -> date:
    """The date ``offset`` days after :data:`MON`."""
    return MON + timedelta(days=offset)


def hours(*spans: str, days: Iterable[int] = range(5)) -> tuple[HoursInterval, ...]:
    """hours("08:00-12:00", "13:00-17:00") on Monday to Friday."""
    pairs = [span.split("-") for span in spans]
    return tuple(HoursInterval(d, t(a), t(b)) for d in days for a, b in pairs)


def at(on: date, wall: str, zone: ZoneInfo = BERLIN) -> datetime:
    """The UTC instant of a local wall-clock time (fold=0)."""
    return datetime.combine(on, t(wall), tzinfo=zone).astimezone(UTC)


def busy(on: date, span: str, zone: ZoneInfo = BERLIN) -> Busy:
    """busy(MON, "10:00-10:45"): a local span as UTC instants."""
    a, b = span.split("-")
    return Busy(at(on, a, zone), at(on, b, zone))


def closed(first: date, last: date | None = None) -> DateRange:
    return DateRange(first, last or first)


def calendar(
    zone: ZoneInfo = BERLIN,
    *,
    opening: tuple[HoursInterval, ...] | None = None,
    working: tuple[HoursInterval, ...] | None = None,
    slot_minutes: int = 15,
    closures: Iterable[DateRange] = (),
    time_off: Iterable[Busy] = (),
    practitioner_busy: Iterable[Busy] = (),
    patient_busy: Iterable[Busy] = (),
) -> Calendar:
    """Monday to Friday 08:00-17:00 for clinic and practitioner unless told otherwise."""
    opening = hours("08:00-17:00") if opening is None else opening
    return Calendar(
        zone,
        opening,
        opening if working is None else working,
        slot_minutes,
        closures=tuple(closures),
        time_off=tuple(time_off),
        practitioner_busy=tuple(practitioner_busy),
        patient_busy=tuple(patient_busy),
    )


def protocol(**changes: int) -> ProtocolValues:
    return dataclasses.replace(PROTOCOL, **changes)


def plan(
    cal: Calendar,
    proto: ProtocolValues = PROTOCOL,
    *,
    start_date: date = MON,
    preferred_time: str | None = None,
    now: datetime = NOW,
    **options: object,
) -> CoursePlan:
    """plan_course with the tests' defaults; ``preferred_time`` as "HH:MM"."""
    preferred = None if preferred_time is None else t(preferred_time)
    return plan_course(
        cal,
        proto,
        start_date=start_date,
        preferred_time=preferred,
        now=now,
        **options,  # type: ignore[arg-type]
    )


def local(session: PlannedSession, zone: ZoneInfo = BERLIN) -> tuple[date, str]:
    """A session's local date and wall-clock time, e.g. (date(2026, 2, 2), "09:00")."""
    start = session.start_at.astimezone(zone)
    return start.date(), start.strftime("%H:%M")


def diary(course: CoursePlan, zone: ZoneInfo = BERLIN) -> list[tuple[date, str]]:
    return [local(s, zone) for s in course.sessions]
