"""A session's interval window (R3), and which sessions lie outside theirs (R6, R8).

One rule: the reschedule asks it, the services that keep stored warnings true ask it, and the
planner's R6 warning agrees with it (tests/scheduling/test_planner_r7_properties.py checks):

- A session's predecessor is the nearest earlier-numbered session that is active *or
  completed* (R8's neighbours): a completed session was an injection; cancelled and no-show
  sessions were none and are skipped. A session without one (session 1) has no window.
- Its window is the predecessor's local date + ``interval_days`` ± ``interval_tolerance_days``,
  never within the minimum interval of it (R4). The planner places a session outside it only
  in the week after it, with :data:`~scheduling.protocol.OUTSIDE_WINDOW` (R6); staff may move
  one anywhere R4/R5 allow, flagged the same (R3).

A session that stays where it is while a session before it moves, is cancelled or is missed
can come into its window or leave it: :func:`window_changes` says which warning each such
session should carry, so it is set or cleared in the change that caused it. A warning is
only *set* by a change that takes the session out of its window: a session the planner
placed by R2 (the first one after a resume) has no window of its own then, and is not
flagged for the gap before it while nothing before it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from scheduling.protocol import ProtocolValues


class Placed(Protocol):
    """A session of a course as the rule reads it (e.g. :class:`~scheduling.reflow.CourseSession`)."""

    @property
    def number(self) -> int: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def active(self) -> bool: ...
    @property
    def injected(self) -> bool: ...


S = TypeVar("S", bound=Placed)


def in_window(protocol: ProtocolValues, previous_date: date, day: date) -> bool:
    """R3 and R4 hold: ``day`` is within target ± tolerance of ``previous_date`` and at least the minimum after."""
    target = previous_date + timedelta(days=protocol.interval_days)
    tolerance = timedelta(days=protocol.interval_tolerance_days)
    earliest = previous_date + protocol.min_gap
    return day >= earliest and target - tolerance <= day <= target + tolerance


def predecessor(sessions: Sequence[S], number: int) -> S | None:
    """The session R3/R4 count session ``number`` from: the nearest earlier one that is active or completed."""
    earlier = [s for s in sessions if s.number < number and s.injected]
    return max(earlier, key=lambda s: s.number, default=None)


def outside_window(protocol: ProtocolValues, zone: ZoneInfo, sessions: Sequence[Placed]) -> frozenset[int]:
    """The numbers of the active sessions that lie outside their window (R3), read in ``zone``'s local dates."""
    outside = set()
    for session in sessions:
        previous = predecessor(sessions, session.number) if session.active else None
        if previous is None:
            continue
        previous_date = previous.start_at.astimezone(zone).date()
        if not in_window(protocol, previous_date, session.start_at.astimezone(zone).date()):
            outside.add(session.number)
    return frozenset(outside)


def window_changes(
    protocol: ProtocolValues, zone: ZoneInfo, before: Sequence[Placed], after: Sequence[Placed]
) -> Mapping[int, bool]:
    """What the warning of each active session of ``after`` that kept its start from ``before`` should say, by
    number: True for one that left its window in this change (it was inside it before), False for one inside
    its window now (a warning it carries is stale). One outside its window before and after is not named: no
    change of this transaction put it there (R6 placed it, or R2 after a resume: module docstring). A session
    that moved is not named either: its move decided its warning (the planner's R6, the staff's R3)."""
    was_at = {s.number: s.start_at for s in before}
    was_outside = outside_window(protocol, zone, before)
    now_outside = outside_window(protocol, zone, after)
    return {
        s.number: s.number in now_outside
        for s in after
        if s.active and was_at.get(s.number) == s.start_at and not (s.number in was_outside and s.number in now_outside)
    }
