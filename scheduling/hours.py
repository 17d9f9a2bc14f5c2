"""Weekly hours: the clinic's opening hours and a practitioner's working hours.

A session may only start where both overlap (R5), on the slot grid that starts at
the beginning of the clinic's opening interval (R2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True)
class HoursInterval:
    """One weekly interval in local wall-clock time (R1); never over midnight."""

    weekday: int  # 0 = Monday .. 6 = Sunday
    start: time  # naive local time
    end: time  # naive local time, after start

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0..6, got {self.weekday}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("hours are naive local wall-clock times (R1)")
        if self.end <= self.start:
            raise ValueError(f"hours must end after they start: {self.start}-{self.end}")


@dataclass(frozen=True)
class DayWindow:
    """Where sessions may start on one weekday, in microseconds after local midnight."""

    start_us: int
    end_us: int
    grid_origin_us: int  # R2: the grid counts from the start of the opening interval

    def grid_starts(self, slot_us: int, last_us: int) -> range:
        """Grid points from the window's start up to ``last_us`` included."""
        steps_before = -(-(self.start_us - self.grid_origin_us) // slot_us)  # ceiling
        return range(self.grid_origin_us + steps_before * slot_us, last_us + 1, slot_us)


def micros_of_day(t: time) -> int:
    """Wall-clock microseconds after local midnight."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def time_of_micros(us: int) -> time:
    """The inverse of :func:`micros_of_day`."""
    seconds, micro = divmod(us, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, micro)


def weekly_windows(
    opening: Iterable[HoursInterval], working: Iterable[HoursInterval]
) -> tuple[tuple[DayWindow, ...], ...]:
    """Opening ∩ working hours per weekday (R5), each window keeping its grid origin (R2)."""
    working_by_day: list[list[HoursInterval]] = [[] for _ in range(7)]
    for interval in working:
        working_by_day[interval.weekday].append(interval)
    by_day: list[list[DayWindow]] = [[] for _ in range(7)]
    for open_ in opening:
        for work in working_by_day[open_.weekday]:
            start, end = max(open_.start, work.start), min(open_.end, work.end)
            if start < end:
                origin = micros_of_day(open_.start)
                window = DayWindow(micros_of_day(start), micros_of_day(end), origin)
                by_day[open_.weekday].append(window)
    # Sorted so that the planner sees the same windows in the same order every time (R7).
    return tuple(tuple(sorted(windows, key=lambda w: (w.start_us, w.end_us, w.grid_origin_us))) for windows in by_day)
