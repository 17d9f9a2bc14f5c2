"""The course planner: which day and time each session of a course gets (R1-R7).

Pure: everything it knows comes in as arguments, ``now`` included, so the same
question always gets the same answer (R7).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta

from scheduling.availability import Availability, Slot
from scheduling.calendar import Calendar
from scheduling.errors import NoSlotAvailable
from scheduling.hours import micros_of_day
from scheduling.protocol import (
    OUTSIDE_WINDOW,
    CoursePlan,
    PlannedSession,
    ProtocolValues,
)
from scheduling.reach import FIRST_SESSION_SEARCH_DAYS, OUTSIDE_WINDOW_DAYS, course_reach
from scheduling.spans import require_aware


def plan_course(
    calendar: Calendar,
    protocol: ProtocolValues,
    *,
    start_date: date,
    preferred_time: time | None,
    now: datetime,
    first_number: int = 1,
    count: int | None = None,
    previous_start_at: datetime | None = None,
    anchor_time: time | None = None,
    first_session_search_days: int = FIRST_SESSION_SEARCH_DAYS,
) -> CoursePlan:
    """Plan sessions ``first_number`` .. ``first_number + count - 1`` of a course.

    Without ``previous_start_at`` the first of them goes by R2 from ``start_date``
    (searching ``first_session_search_days`` days); every later one goes by R3/R4/R6
    from its predecessor, at ``anchor_time`` (default: the first session's local time).

    With ``previous_start_at`` (a resume, a replacement, a reflow) the first of them
    already goes by R3 from that predecessor, and ``anchor_time`` defaults to the
    predecessor's local time. The window still comes from the predecessor, but no
    session lands on a day before ``start_date``: a resume cannot plan in the past.

    ``count`` defaults to the rest of the course. Raises :class:`NoSlotAvailable`
    for the first session that finds no slot; nothing of the plan is kept then.
    The calendar must hold every date :func:`~scheduling.reach.course_reach` names for
    the same arguments, else :class:`~scheduling.errors.CalendarTooShort`.
    """
    require_aware(now, "now")
    count = protocol.session_count - first_number + 1 if count is None else count
    _check_arguments(first_number, count, first_session_search_days, preferred_time, anchor_time)
    if previous_start_at is not None:
        require_aware(previous_start_at, "previous_start_at")
    calendar.require(
        course_reach(
            protocol,
            calendar.zone,
            start_date=start_date,
            first_number=first_number,
            count=count,
            previous_start_at=previous_start_at,
            first_session_search_days=first_session_search_days,
        )
    )
    planner = _Planner(calendar.availability, protocol, now=now, not_before=start_date)
    numbers = iter(range(first_number, first_number + count))
    if previous_start_at is None:
        number = next(numbers, None)
        if number is None:
            return CoursePlan(())
        previous_at = planner.first_session(number, start_date, preferred_time, first_session_search_days).start_at
    else:
        previous_at = previous_start_at
    if anchor_time is None:
        # R3: later sessions keep the local time of the session before the new ones.
        anchor_time = previous_at.astimezone(calendar.zone).time()
    anchor_us = micros_of_day(anchor_time)
    for number in numbers:
        previous_at = planner.next_session(number, previous_at, anchor_us).start_at
    return CoursePlan(tuple(planner.placed))


def _check_arguments(
    first_number: int,
    count: int,
    search_days: int,
    preferred_time: time | None,
    anchor_time: time | None,
) -> None:
    if first_number < 1 or count < 0 or search_days < 1:
        raise ValueError(
            f"need first_number >= 1, count >= 0 and first_session_search_days >= 1, "
            f"got {first_number}, {count}, {search_days}"
        )
    for t in (preferred_time, anchor_time):
        if t is not None and t.tzinfo is not None:
            raise ValueError("preferred_time and anchor_time are naive local times (R1)")


class _Planner:
    """One planning run and the sessions it has placed so far, in order."""

    def __init__(
        self,
        availability: Availability,
        protocol: ProtocolValues,
        *,
        now: datetime,
        not_before: date,
    ) -> None:
        self._availability = availability
        self._protocol = protocol
        self._duration = timedelta(minutes=protocol.session_minutes)
        self._now = now
        # No session before now, nor (when continuing) before the requested start date.
        self._not_before = max(not_before, availability.local_date(now))
        # R5 also holds against the plan's own sessions, by construction: each later
        # session lands on a later local day (R4, at least one day), and no session
        # crosses local midnight, so they can neither overlap nor share a day.
        self.placed: list[PlannedSession] = []

    def first_session(
        self, number: int, start_date: date, preferred_time: time | None, search_days: int
    ) -> PlannedSession:
        """R2: the first day from start_date with a free slot, nearest the preferred time."""
        target_us = None if preferred_time is None else micros_of_day(preferred_time)
        for offset in range(search_days):
            slot = self._slot_on(start_date + timedelta(days=offset), target_us)
            if slot is not None:
                return self._place(number, slot)
        raise NoSlotAvailable(number, start_date, start_date + timedelta(days=search_days - 1))

    def next_session(self, number: int, previous_at: datetime, anchor_us: int) -> PlannedSession:
        """R3 inside the tolerance window, R4 always, R6 in the week after the window."""
        protocol = self._protocol
        previous_date = self._availability.local_date(previous_at)
        target = previous_date + timedelta(days=protocol.interval_days)
        window_start = target - timedelta(days=protocol.interval_tolerance_days)
        window_end = target + timedelta(days=protocol.interval_tolerance_days)
        # R4: acute inflammation lasts about a week, so never sooner than the minimum;
        # and a session never goes before (R5: nor on the day of) its predecessor.
        earliest = previous_date + protocol.min_gap
        for day in nearest_first(target, protocol.interval_tolerance_days):
            slot = self._slot_on(day, anchor_us) if day >= earliest else None
            if slot is not None:
                return self._place(number, slot)
        for offset in range(1, OUTSIDE_WINDOW_DAYS + 1):
            day = window_end + timedelta(days=offset)
            slot = self._slot_on(day, anchor_us) if day >= earliest else None
            if slot is not None:
                return self._place(number, slot, (OUTSIDE_WINDOW,))
        raise NoSlotAvailable(number, window_start, window_end)

    def _slot_on(self, day: date, target_us: int | None) -> Slot | None:
        if day < self._not_before:
            return None
        slots = self._availability.day_slots(day, self._duration, self._now)
        return _nearest(slots, target_us)

    def _place(self, number: int, slot: Slot, warnings: tuple[str, ...] = ()) -> PlannedSession:
        session = PlannedSession(number, slot.start_at, slot.end_at, warnings)
        self.placed.append(session)
        return session


def _nearest(slots: Sequence[Slot], target_us: int | None) -> Slot | None:
    """The slot at the target time, else the nearest one, ties to the earlier (R2, R3)."""
    if not slots:
        return None
    if target_us is None:
        return slots[0]  # R2: without a preferred time, the earliest free slot
    return min(slots, key=lambda slot: (abs(slot.local_us - target_us), slot.local_us))


def nearest_first(target: date, tolerance_days: int) -> Iterator[date]:
    """R3: target, target-1, target+1, target-2, … — nearest first, earlier on ties."""
    yield target
    for k in range(1, tolerance_days + 1):
        yield target - timedelta(days=k)
        yield target + timedelta(days=k)
