"""Which slots are free on one local day (R1, R2, R5), and :func:`free_slots` for the API."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from scheduling.errors import CalendarTooShort
from scheduling.hours import DayWindow, time_of_micros, weekly_windows
from scheduling.spans import Busy, BusyIndex, DateIndex, DateRange, require_aware

if TYPE_CHECKING:
    from scheduling.calendar import Calendar

_US = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_MIDNIGHT = time(0)


class Slot(NamedTuple):
    """A free grid slot. A NamedTuple, not a dataclass: the planner builds many per day."""

    local_us: int  # wall-clock start, microseconds after local midnight
    start_at: datetime  # UTC
    end_at: datetime  # UTC, start_at + the session's length in real time (R1)


def wall_to_utc(day: date, us: int, zone: ZoneInfo) -> datetime | None:
    """R1: the instant of a local wall-clock time, or None if the clocks skip it.

    A time in the spring-forward gap does not survive the local → UTC → local round
    trip and is skipped; an ambiguous fall-back time takes its first occurrence (fold=0).
    """
    local = datetime.combine(day, time_of_micros(us), tzinfo=zone)
    start_at = local.astimezone(UTC)
    if start_at.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return start_at


class Availability:
    """A calendar indexed for per-day questions; built once per :class:`Calendar`."""

    def __init__(self, calendar: Calendar) -> None:
        self.zone = calendar.zone
        self._span = calendar.span
        self._slot_us = calendar.slot_minutes * 60_000_000
        self._windows = weekly_windows(calendar.opening_hours, calendar.working_hours)
        self._closures = DateIndex(calendar.closures)
        # Time off and active sessions block the practitioner alike (R5).
        self._busy = BusyIndex(chain(calendar.time_off, calendar.practitioner_busy))
        patient_days = (self.local_dates(b.start_at, b.end_at) for b in calendar.patient_busy)
        self._patient_dates = frozenset(chain.from_iterable(patient_days))

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def local_dates(self, start_at: datetime, end_at: datetime) -> Iterator[date]:
        """Every local date that ``[start_at, end_at)`` touches."""
        day, last = self.local_date(start_at), self.local_date(end_at - _US)
        while day <= last:
            yield day
            day += _DAY

    def day_slots(self, day: date, duration: timedelta, now: datetime) -> list[Slot]:
        """The free slots of one local day, by wall-clock time.

        No slot crosses local midnight: windows end by 23:59:59 and a session must
        end inside its window in real time.
        """
        span = self._span
        if span is not None and not span.start_date <= day <= span.end_date:
            # a day never loaded looks free whatever is booked on it: refuse, never guess
            raise CalendarTooShort((day, day), (span.start_date, span.end_date))
        windows = self._windows[day.weekday()]
        # R5: closed days and days the patient already has a session are out entirely.
        if not windows or day in self._closures or day in self._patient_dates:
            return []
        midnight = datetime.combine(day, _MIDNIGHT, tzinfo=self.zone)
        next_midnight = datetime.combine(day + _DAY, _MIDNIGHT, tzinfo=self.zone)
        mid_at = midnight.astimezone(UTC)
        if next_midnight.astimezone(UTC) <= now:
            return []
        dur_us = duration // _US
        if midnight.utcoffset() == next_midnight.utcoffset():
            candidates = self._regular_day(windows, dur_us)
        else:  # R1: a DST change happens on this day
            candidates = self._changeover_day(day, windows, duration, mid_at)
        return self._free(candidates, dur_us, mid_at, now)

    def _regular_day(self, windows: Sequence[DayWindow], dur_us: int) -> dict[int, int]:
        """Grid starts → start offsets from local midnight, on a day with one UTC offset."""
        candidates: dict[int, int] = {}
        for window in windows:
            for start_us in window.grid_starts(self._slot_us, window.end_us - dur_us):
                candidates[start_us] = start_us
        return candidates

    def _changeover_day(
        self, day: date, windows: Sequence[DayWindow], duration: timedelta, mid_at: datetime
    ) -> dict[int, int]:
        """As :meth:`_regular_day`, converting every wall-clock time through the zone (R1)."""
        candidates: dict[int, int] = {}
        for window in windows:
            # The session must lie inside the window in real time; its end is
            # start + duration in real time, whatever the wall clock shows.
            lo_at = self._wall_at(day, window.start_us)
            hi_at = self._wall_at(day, window.end_us)
            for start_us in window.grid_starts(self._slot_us, window.end_us - 1):
                start_at = wall_to_utc(day, start_us, self.zone)
                if start_at is not None and lo_at <= start_at and start_at + duration <= hi_at:
                    candidates[start_us] = (start_at - mid_at) // _US
        return candidates

    def _wall_at(self, day: date, us: int) -> datetime:
        """A window bound as an instant; a bound in a gap or a fold reads with fold=0."""
        return datetime.combine(day, time_of_micros(us), tzinfo=self.zone).astimezone(UTC)

    def _free(self, candidates: dict[int, int], dur_us: int, mid_at: datetime, now: datetime) -> list[Slot]:
        """The candidates that start no earlier than now and overlap nothing busy (R5)."""
        if not candidates:
            return []
        first_us, last_us = min(candidates.values()), max(candidates.values()) + dur_us
        lo_at, hi_at = mid_at + first_us * _US, mid_at + last_us * _US
        runs = self._busy.overlapping(lo_at, hi_at)
        run_starts = [(start_at - mid_at) // _US for start_at, _ in runs]
        run_ends = [(end_at - mid_at) // _US for _, end_at in runs]
        now_us = (now - mid_at) // _US
        free: list[Slot] = []
        for local_us in sorted(candidates):
            start_us = candidates[local_us]
            end_us = start_us + dur_us
            if start_us < now_us:
                continue
            i = bisect_right(run_ends, start_us)  # the first busy run ending after the start
            if i < len(run_starts) and run_starts[i] < end_us:
                continue
            free.append(Slot(local_us, mid_at + start_us * _US, mid_at + end_us * _US))
        return free


def free_slots(
    calendar: Calendar, *, from_date: date, to_date: date, duration_minutes: int, now: datetime
) -> list[Busy]:
    """Every free grid slot from ``from_date`` to ``to_date`` (local, included), by start.

    Free means what the planner means (R1, R2, R5), including the patient's busy days.
    """
    require_aware(now, "now")
    if duration_minutes < 1:
        raise ValueError(f"duration_minutes must be at least 1, got {duration_minutes}")
    calendar.require(DateRange(from_date, max(from_date, to_date)))
    availability = calendar.availability
    duration = timedelta(minutes=duration_minutes)
    found: list[Busy] = []
    day = from_date
    while day <= to_date:
        found.extend(Busy(s.start_at, s.end_at) for s in availability.day_slots(day, duration, now))
        day += _DAY
    # Wall-clock order is real-time order except around a fall-back change: sort to be sure.
    return sorted(found, key=attrgetter("start_at"))
