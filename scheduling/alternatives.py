"""What a patient may move a session to by themselves (R27): at most a few other times, each an R8 dry run.

Alternatives are computed when the page is shown and never stored. For session k:

- one candidate per day of k's R3 window (after its predecessor that was, or will be, an
  injection; session 1, or a session with none: its own date ± the tolerance), in R3's day
  order (the target first, then nearer, earlier on ties);
- on each day, the free slot nearest k's current local time that meets every condition:
  at least ``notice`` ahead, not k's current time, an R8 dry run with reflow succeeds and
  raises no warning, moves at most ``max_moves`` other sessions, and every pre-session
  aftercare window (a rule with ``start_offset_days < 0``: "stop NSAIDs three days before")
  of k and of each session it moves still starts after ``today``, so the patient can keep it;
- ordered: moving nothing else first, then nearer k's current date, then earlier; ``limit``
  of them.

Each carries a :attr:`~Alternative.choice`: the new start and a digest of every move, so a
choice posted later is applied only if planning it again gives exactly what the page showed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduling.aftercare import Rule
from scheduling.calendar import Calendar
from scheduling.errors import SchedulingError
from scheduling.planner import nearest_first
from scheduling.protocol import ProtocolValues
from scheduling.reach import reschedule_reach
from scheduling.reflow import CourseSession, Move, ReschedulePlan, plan_reschedule
from scheduling.spans import DateRange


@dataclass(frozen=True)
class Alternative:
    """Session k at a new time, and every other session that would move with it (old times in ``before``)."""

    session: Move
    moved: tuple[Move, ...]

    @property
    def choice(self) -> str:
        """An opaque name for this alternative: its start, and a digest of every move it makes."""
        moves = ";".join(f"{m.number}@{m.start_at.isoformat()}" for m in (self.session, *self.moved))
        digest = hashlib.sha256(moves.encode()).hexdigest()[:16]
        return f"{int(self.session.start_at.timestamp())}-{digest}"


def start_of_choice(choice: str) -> datetime | None:
    """The new start a choice names (None for text that is no choice); what it moves is checked by planning."""
    head, _, digest = choice.partition("-")
    if not (head.isdigit() and len(head) <= 12 and len(digest) == 16):
        return None
    return datetime.fromtimestamp(int(head), tz=UTC)


@dataclass(frozen=True)
class SelfService:
    """The course and the clinic's limits a patient's move is planned under."""

    calendar: Calendar  # without this course's sessions; holds alternatives_reach
    protocol: ProtocolValues
    sessions: Sequence[CourseSession]
    rules: Sequence[Rule]
    anchor_time: time  # session 1's local time: re-planned sessions aim at it (R3)
    notice: timedelta  # the clinic's reschedule_notice_hours
    max_moves: int
    now: datetime
    today: date  # the clinic's local date of now


def window_days(protocol: ProtocolValues, zone: ZoneInfo, sessions: Sequence[CourseSession], number: int) -> list[date]:
    """Session ``number``'s R3 window, in R3's day order (module docstring)."""
    ordered = sorted(sessions, key=lambda s: s.number)
    current = next(s for s in ordered if s.number == number)
    previous = next((s for s in reversed(ordered) if s.number < number and s.injected), None)
    if previous is None:
        return list(nearest_first(current.start_at.astimezone(zone).date(), protocol.interval_tolerance_days))
    previous_date = previous.start_at.astimezone(zone).date()
    target = previous_date + timedelta(days=protocol.interval_days)
    earliest = previous_date + protocol.min_gap  # R4
    return [day for day in nearest_first(target, protocol.interval_tolerance_days) if day >= earliest]


def alternatives_reach(
    protocol: ProtocolValues, zone: ZoneInfo, sessions: Sequence[CourseSession], number: int
) -> DateRange:
    """Every local date :func:`alternatives` may look at: the window's days and where a reflow from the last
    of them may reach (:func:`~scheduling.reach.reschedule_reach`)."""
    days = window_days(protocol, zone, sessions, number)
    if not days:
        current = next(s for s in sessions if s.number == number)
        day = current.start_at.astimezone(zone).date()
        return DateRange(day, day)
    later = [s.start_at for s in sorted(sessions, key=lambda s: s.number) if s.number > number and s.active]
    latest = datetime.combine(max(days), time(23, 59), zone).astimezone(UTC)
    return DateRange(min(days), reschedule_reach(protocol, zone, new_start_at=latest, later_start_ats=later).end_date)


def _window(service: SelfService, number: int) -> list[date]:
    return window_days(service.protocol, service.calendar.zone, service.sessions, number)


def alternatives(service: SelfService, number: int, *, limit: int) -> tuple[Alternative, ...]:
    """At most ``limit`` alternatives for session ``number`` (module docstring)."""
    zone = service.calendar.zone
    current = next(s for s in service.sessions if s.number == number)
    current_date = current.start_at.astimezone(zone).date()
    found = [a for a in (_on_day(service, number, day) for day in _window(service, number)) if a is not None]
    found.sort(
        key=lambda a: (
            bool(a.moved),
            abs((a.session.start_at.astimezone(zone).date() - current_date).days),
            a.session.start_at,
        )
    )
    return tuple(found[:limit])


def planned_choice(service: SelfService, number: int, choice: str) -> Alternative | None:
    """The alternative ``choice`` names, planned again now; None unless it is still offered exactly so."""
    start_at = start_of_choice(choice)
    if start_at is None:
        return None
    day = start_at.astimezone(service.calendar.zone).date()
    if day not in _window(service, number):
        return None
    alternative = _try(service, number, start_at)
    return alternative if alternative is not None and alternative.choice == choice else None


def _on_day(service: SelfService, number: int, day: date) -> Alternative | None:
    """The free slot of ``day`` nearest the session's current local time that meets every condition."""
    zone = service.calendar.zone
    current = next(s for s in service.sessions if s.number == number)
    local = current.start_at.astimezone(zone)
    current_us = (local.hour * 3600 + local.minute * 60 + local.second) * 1_000_000
    duration = timedelta(minutes=service.protocol.session_minutes)
    slots = service.calendar.availability.day_slots(day, duration, service.now)
    for slot in sorted(slots, key=lambda s: (abs(s.local_us - current_us), s.local_us)):
        alternative = _try(service, number, slot.start_at)
        if alternative is not None:
            return alternative
    return None


def _try(service: SelfService, number: int, start_at: datetime) -> Alternative | None:
    """``start_at`` for session ``number`` if it meets every condition of R27, else None."""
    current = next(s for s in service.sessions if s.number == number)
    if start_at == current.start_at or start_at < service.now + service.notice:
        return None
    try:
        plan: ReschedulePlan = plan_reschedule(
            service.calendar,
            service.protocol,
            service.sessions,
            number=number,
            new_start_at=start_at,
            anchor_time=service.anchor_time,
            now=service.now,
            reflow=True,
        )
    except SchedulingError:
        return None
    if plan.session.warnings or any(m.warnings for m in plan.moved) or len(plan.moved) > service.max_moves:
        return None
    zone = service.calendar.zone
    before = [r.start_offset_days for r in service.rules if r.start_offset_days < 0]
    for move in (plan.session, *plan.moved):
        day = move.start_at.astimezone(zone).date()
        if any(day + timedelta(days=offset) <= service.today for offset in before):
            return None  # a pre-session window would start today or earlier: the patient could not keep it
    return Alternative(plan.session, plan.moved)
