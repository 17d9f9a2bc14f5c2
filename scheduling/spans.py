"""Spans of time: closed local dates, busy instants, and the sorted indexes over them.

A practitioner may hold 10 000+ active sessions; the planner asks "what is busy
on this day?" a few dozen times per course, so the spans are merged once into
disjoint, sorted lists and each question is a binary search.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter, le


def require_aware(value: datetime, name: str) -> None:
    """R1: instants are aware; a naive datetime is a caller bug, not a local time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


@dataclass(frozen=True)
class DateRange:
    """A closure: whole local days, ``end_date`` included."""

    start_date: date
    end_date: date

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ValueError(f"date range ends before it starts: {self!r}")


@dataclass(frozen=True)
class Busy:
    """An instant range ``[start_at, end_at)`` of aware datetimes (stored as UTC)."""

    start_at: datetime
    end_at: datetime

    def __post_init__(self) -> None:
        require_aware(self.start_at, "start_at")
        require_aware(self.end_at, "end_at")
        if self.end_at <= self.start_at:
            raise ValueError(f"busy span must end after it starts: {self!r}")

    @classmethod
    def trusted(cls, start_at: datetime, end_at: datetime) -> Busy:
        """A span already known to be valid (aware, ending after it starts), built without the checks.

        For spans read back from storage that only ever held valid ones: a calendar
        load builds hundreds per booking, and the checks were a third of its time.
        """
        span = _new(cls)
        _set(span, "start_at", start_at)
        _set(span, "end_at", end_at)
        return span


_new = object.__new__
_set = object.__setattr__  # a frozen dataclass's own __init__ sets its fields this way too


class BusyIndex:
    """Busy spans merged into disjoint, sorted ``[start, end)`` runs."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, spans: Iterable[Busy]) -> None:
        # Input usually comes sorted from the database; sorting it again is cheap and
        # keeps the result right when it does not.
        ordered = sorted(spans, key=attrgetter("start_at"))
        starts = list(map(attrgetter("start_at"), ordered))
        ends = list(map(attrgetter("end_at"), ordered))
        # A practitioner's sessions rarely overlap one another: check that at C speed
        # and merge (one Python step per span) only when some do.
        if not all(map(le, ends, starts[1:])):
            starts, ends = _merged(starts, ends)
        self._starts = starts
        self._ends = ends

    def overlapping(self, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
        """The runs that overlap ``[lo, hi)``, in order."""
        # Runs are disjoint, so their ends are sorted too: the first run that ends
        # after lo is the first candidate.
        i = bisect_right(self._ends, lo)
        found: list[tuple[datetime, datetime]] = []
        while i < len(self._starts) and self._starts[i] < hi:
            found.append((self._starts[i], self._ends[i]))
            i += 1
        return found


def _merged(starts: list[datetime], ends: list[datetime]) -> tuple[list[datetime], list[datetime]]:
    """Sorted spans joined where they overlap or touch."""
    merged_starts: list[datetime] = []
    merged_ends: list[datetime] = []
    for start_at, end_at in zip(starts, ends, strict=True):
        if merged_ends and start_at <= merged_ends[-1]:
            merged_ends[-1] = max(merged_ends[-1], end_at)
        else:
            merged_starts.append(start_at)
            merged_ends.append(end_at)
    return merged_starts, merged_ends


class DateIndex:
    """Date ranges merged into disjoint, sorted runs, for "is this day closed?"."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, ranges: Iterable[DateRange]) -> None:
        starts: list[date] = []
        ends: list[date] = []
        for closure in sorted(ranges, key=attrgetter("start_date")):
            if ends and closure.start_date <= ends[-1]:
                ends[-1] = max(ends[-1], closure.end_date)
            else:
                starts.append(closure.start_date)
                ends.append(closure.end_date)
        self._starts = starts
        self._ends = ends

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        i = bisect_left(self._ends, day)  # the first run that ends on or after day
        return i < len(self._starts) and self._starts[i] <= day
