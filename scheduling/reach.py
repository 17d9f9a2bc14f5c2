"""How far a planning question reaches: the local dates the planner may look at.

The planner only knows what its :class:`~scheduling.calendar.Calendar` holds, and a
day the calendar was never loaded for looks completely free. So the services load
exactly what these functions name, and the planner refuses to look past what was
loaded (:class:`~scheduling.errors.CalendarTooShort`) rather than plan on a guess.

The reach is a bound, never a guess: it covers the latest date each rule allows.

- R2: session 1 goes on one of the ``first_session_search_days`` days from ``start_date``.
- R3, R6: every later session lies at most ``interval_days + interval_tolerance_days``
  after its predecessor, or up to :data:`OUTSIDE_WINDOW_DAYS` more with a warning.
- R8: a reflowed session follows its new predecessor the same way; a session that
  keeps its time stays where it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduling.protocol import ProtocolValues
from scheduling.spans import DateRange

# R6: how many days after the tolerance window a session may still go, with a warning.
OUTSIDE_WINDOW_DAYS = 7
# R2: how many days from start_date session 1 is looked for, unless told otherwise.
FIRST_SESSION_SEARCH_DAYS = 90
_US = timedelta(microseconds=1)


def longest_step(protocol: ProtocolValues) -> timedelta:
    """The most days a later session may follow its predecessor (R3's window end, then R6's week)."""
    return timedelta(days=protocol.interval_days + protocol.interval_tolerance_days + OUTSIDE_WINDOW_DAYS)


def course_reach(
    protocol: ProtocolValues,
    zone: ZoneInfo,
    *,
    start_date: date,
    first_number: int = 1,
    count: int | None = None,
    previous_start_at: datetime | None = None,
    first_session_search_days: int = FIRST_SESSION_SEARCH_DAYS,
) -> DateRange:
    """Every local date :func:`~scheduling.planner.plan_course` may look at, given the same arguments."""
    count = protocol.session_count - first_number + 1 if count is None else count
    step = longest_step(protocol)
    if previous_start_at is None:
        # R2 from start_date, then R3/R6 after each session
        last = start_date + timedelta(days=first_session_search_days - 1) + max(count - 1, 0) * step
        return DateRange(start_date, last)
    # R3/R6 from the predecessor; nothing before the day after it, nor before start_date
    previous_date = previous_start_at.astimezone(zone).date()
    first = min(start_date, previous_date + timedelta(days=1))
    return DateRange(first, max(first, previous_date + count * step))


def reschedule_reach(
    protocol: ProtocolValues,
    zone: ZoneInfo,
    *,
    new_start_at: datetime,
    later_start_ats: Iterable[datetime],
) -> DateRange:
    """Every local date :func:`~scheduling.reflow.plan_reschedule` may look at (R8).

    ``later_start_ats`` are the stored starts of the course's active sessions numbered
    after the one that moves, in the order of their numbers: the order the reflow walks
    them. Each either keeps its stored date or is re-planned at most one step after its
    new predecessor, so the latest date either may take bounds the next.
    """
    end_at = new_start_at + timedelta(minutes=protocol.session_minutes)
    first = new_start_at.astimezone(zone).date()
    last = (end_at - _US).astimezone(zone).date()
    step = longest_step(protocol)
    for start_at in later_start_ats:
        last = max(start_at.astimezone(zone).date(), last + step)
    return DateRange(first, last)
