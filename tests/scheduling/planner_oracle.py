"""The scheduling rules read literally, slowly and without cleverness: a test oracle.

No indexes, no fast paths, no shared code with ``scheduling``'s internals: every
wall-clock time goes through zoneinfo, every busy span is checked one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from scheduling import Busy, Calendar

MICRO = timedelta(microseconds=1)


def micros(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def wall(us: int) -> time:
    seconds, micro = divmod(us, 1_000_000)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro)


def instant(cal: Calendar, on: date, at: time) -> datetime:
    """A wall-clock time on a local date as an instant (fold=0, as R1 says)."""
    return datetime.combine(on, at, tzinfo=cal.zone).astimezone(UTC)


def local_dates(cal: Calendar, span: Busy) -> Iterator[date]:
    d = span.start_at.astimezone(cal.zone).date()
    while d <= (span.end_at - MICRO).astimezone(cal.zone).date():
        yield d
        d += timedelta(days=1)


def day_is_open(cal: Calendar, on: date) -> bool:
    """R5: not a closure and not a day the patient already has a session."""
    if any(c.start_date <= on <= c.end_date for c in cal.closures):
        return False
    return not any(on in set(local_dates(cal, span)) for span in cal.patient_busy)


def free_starts(cal: Calendar, on: date, duration: timedelta, now: datetime) -> list[datetime]:
    """Every free grid start of a local day, in real-time order."""
    if not day_is_open(cal, on):
        return []
    # Only to keep the oracle quick: spans far from the day cannot touch it.
    midnight_at = instant(cal, on, time(0))
    day_lo, day_hi = midnight_at - timedelta(hours=6), midnight_at + timedelta(hours=30)
    spans = (*cal.time_off, *cal.practitioner_busy)
    blocking = [b for b in spans if b.start_at < day_hi and b.end_at > day_lo]
    slot_us = cal.slot_minutes * 60_000_000
    found: set[datetime] = set()
    for opening in cal.opening_hours:
        for working in cal.working_hours:
            if opening.weekday != on.weekday() or working.weekday != on.weekday():
                continue
            lo, hi = max(opening.start, working.start), min(opening.end, working.end)
            us = micros(opening.start)  # R2: the grid starts with the opening interval
            while us < micros(hi):
                if us >= micros(lo):
                    start_at = _existing_instant(cal, on, wall(us))
                    if start_at is not None and start_at >= now:
                        end_at = start_at + duration
                        inside = instant(cal, on, lo) <= start_at and end_at <= instant(cal, on, hi)
                        clear = all(b.end_at <= start_at or b.start_at >= end_at for b in blocking)
                        if inside and clear:
                            found.add(start_at)
                us += slot_us
    return sorted(found)


def _existing_instant(cal: Calendar, on: date, at: time) -> datetime | None:
    """R1: None for a wall-clock time the clocks skip (spring forward)."""
    local = datetime.combine(on, at, tzinfo=cal.zone)
    start_at = local.astimezone(UTC)
    if start_at.astimezone(cal.zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return start_at


def nearest(cal: Calendar, starts: list[datetime], target: time | None) -> datetime | None:
    """R2/R3: at the target time, else the nearest, ties to the earlier; else the earliest."""
    if not starts:
        return None
    if target is None:
        return starts[0]

    def distance(start_at: datetime) -> tuple[int, int]:
        us = micros(start_at.astimezone(cal.zone).time())
        return abs(us - micros(target)), us

    return min(starts, key=distance)
