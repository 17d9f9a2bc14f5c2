"""Rescheduling one session of a course, and the reflow of the sessions after it (R8).

Pure, like the planner: the service passes the calendar *without* this course's
sessions, the course's sessions as stored and ``now``; the answer says where the
rescheduled session goes and which later sessions move with it. Nothing is written,
so a dry run and the real reschedule get the same answer (R7, R8).

How neighbours are read:

- Neighbours go by session number. The predecessor of a session is the nearest
  earlier one that is active *or completed*: a completed session was an injection,
  and R4's week of acute inflammation follows it. Cancelled and no-show sessions
  were no injection and are skipped (:func:`scheduling.windows.predecessor`, with
  the window it gives: :func:`scheduling.windows.in_window`).
- R4 asks for at least one day even when ``min_interval_days`` is 0, as the planner
  does: two sessions of one course never share a day (R5).
- A reflow walks the later active sessions in order. R4 is checked for each; R3
  only for a session whose predecessor landed on another local date. After a
  session that keeps its day, nothing "now" breaks R3 (R8): a session placed
  outside its window earlier (by R6, or by staff without reflow) is not undone
  by a move that did not disturb it. A session the reflow leaves alone can still
  come into its window (its predecessor's new day brings it in) or leave it (no
  reflow was asked): :func:`scheduling.windows.window_changes` names it for the
  service, which sets or clears its warning in the same change.
- A re-planned session that lands on its own time again is no move, but the
  warning re-planning gave it still holds (R6: its new predecessor's window had
  no slot): the plan names it in ``flagged``, so a move that would leave it
  outside its window is never taken for one that raises no warning (R27).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from scheduling.calendar import Calendar
from scheduling.errors import IllegalTransition, MinIntervalViolated, SlotUnavailable
from scheduling.hours import time_of_micros, weekly_windows
from scheduling.lifecycle import ACTIVE, INJECTED, SessionStatus
from scheduling.planner import plan_course
from scheduling.protocol import OUTSIDE_WINDOW, ProtocolValues
from scheduling.reach import reschedule_reach
from scheduling.spans import Busy, require_aware
from scheduling.windows import in_window, predecessor

# SlotUnavailable's reasons, in the order they are reported (R5).
IN_THE_PAST = "in_the_past"
CLOSED = "closed"
OUTSIDE_HOURS = "outside_hours"
TIME_OFF = "time_off"
PRACTITIONER_BUSY = "practitioner_busy"
PATIENT_SAME_DAY = "patient_same_day"

_US = timedelta(microseconds=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CourseSession:
    """One session of the course being changed, as stored."""

    number: int
    start_at: datetime  # aware
    end_at: datetime  # aware
    status: SessionStatus

    def __post_init__(self) -> None:
        _busy(self)  # aware, and ends after it starts

    @property
    def active(self) -> bool:
        """R5: it holds the practitioner's time and the patient's day."""
        return self.status in ACTIVE

    @property
    def injected(self) -> bool:
        """R4 counts from it: it is planned (active) or was done (completed)."""
        return self.status in INJECTED


@dataclass(frozen=True)
class Move:
    """A session that gets a new time; ``warnings`` holds e.g. :data:`OUTSIDE_WINDOW`."""

    number: int
    start_at: datetime  # UTC
    end_at: datetime  # UTC
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReschedulePlan:
    """The rescheduled session at its requested time, and every *other* session that moves."""

    session: Move
    moved: tuple[Move, ...]  # by number; only sessions whose time changes
    # by number; re-planned sessions that keep their time but now carry a warning (module docstring)
    flagged: tuple[Move, ...] = ()

    @property
    def warns(self) -> bool:
        """Any session of the plan, moved or not, carries a warning (e.g. :data:`OUTSIDE_WINDOW`)."""
        return any(m.warnings for m in (self.session, *self.moved, *self.flagged))


def plan_reschedule(
    calendar: Calendar,
    protocol: ProtocolValues,
    sessions: Sequence[CourseSession],
    *,
    number: int,
    new_start_at: datetime,
    anchor_time: time,
    now: datetime,
    reflow: bool = True,
) -> ReschedulePlan:
    """R8: move session ``number`` to ``new_start_at``; with ``reflow``, re-plan what breaks after it.

    ``calendar`` must not hold this course's sessions: the ones that keep their times
    are made busy here. Re-planned sessions go by R3/R4/R6 at ``anchor_time`` (local).
    It must hold every date :func:`~scheduling.reach.reschedule_reach` names.
    Raises :class:`SlotUnavailable` (R5), :class:`MinIntervalViolated` (R4),
    :class:`IllegalTransition` for a session that is not active, and
    :class:`NoSlotAvailable` when a session to re-plan finds no slot.
    """
    require_aware(new_start_at, "new_start_at")
    require_aware(now, "now")
    if anchor_time.tzinfo is not None:
        raise ValueError("anchor_time is a naive local time (R1)")
    course = _in_order(sessions)
    current = next((s for s in course if s.number == number), None)
    if current is None:
        raise ValueError(f"the course has no session {number}")
    if not current.active:
        action = "reschedule"
        raise IllegalTransition(current.status.value, action, f"a {current.status.value} session cannot {action}")
    start_at = new_start_at.astimezone(UTC)
    end_at = start_at + timedelta(minutes=protocol.session_minutes)
    earlier = [s for s in course if s.number < number]
    later = [s for s in course if s.number > number and s.active]
    calendar.require(
        reschedule_reach(protocol, calendar.zone, new_start_at=start_at, later_start_ats=[s.start_at for s in later])
    )
    # R5 against the course's own sessions that keep their times. Without reflow that is
    # every other active one; with it, a later one on the new day (or before it) breaks
    # R4 and makes way, so only the earlier ones can be in the way.
    kept = [_busy(s) for s in earlier if s.active] + ([] if reflow else [_busy(s) for s in later])
    reasons = _slot_problems(calendar, start_at, end_at, kept, now)
    if reasons:
        raise SlotUnavailable(number, reasons)

    zone = calendar.zone
    new_date = start_at.astimezone(zone).date()
    gap = protocol.min_gap
    previous = predecessor(course, number)
    warnings: tuple[str, ...] = ()
    if previous is not None:
        previous_date = previous.start_at.astimezone(zone).date()
        if new_date < previous_date + gap:  # R4: a hard rule, also for reschedules
            raise MinIntervalViolated(number, previous.number, previous_date + gap, None)
        if not in_window(protocol, previous_date, new_date):
            warnings = (OUTSIDE_WINDOW,)  # allowed (staff chose it), but flagged (R3)
    # R4 also holds against an injection numbered after this session (a later session took place
    # while this one was never marked): a week either side of every completed session.
    for done in (s for s in course if s.number > number and s.status is SessionStatus.completed):
        done_date = done.start_at.astimezone(zone).date()
        if abs((new_date - done_date).days) < gap.days:
            if new_date < done_date:
                raise MinIntervalViolated(number, done.number, None, done_date - gap)
            raise MinIntervalViolated(number, done.number, done_date + gap, None)
    session = Move(number, start_at, end_at, warnings)

    if not reflow:
        following = later[0] if later else None
        if following is not None:
            following_date = following.start_at.astimezone(zone).date()
            if new_date > following_date - gap:
                raise MinIntervalViolated(number, following.number, None, following_date - gap)
        return ReschedulePlan(session, ())
    changed = new_date != current.start_at.astimezone(zone).date()
    settled = [*kept, Busy(start_at, end_at)]
    replanned = _reflow(calendar, protocol, later, settled, start_at, changed, anchor_time, now)
    by_time = {s.number: (s.start_at, s.end_at) for s in later}
    moved = tuple(m for m in replanned if (m.start_at, m.end_at) != by_time[m.number])
    flagged = tuple(m for m in replanned if (m.start_at, m.end_at) == by_time[m.number] and m.warnings)
    return ReschedulePlan(session, moved, flagged)


def _reflow(
    calendar: Calendar,
    protocol: ProtocolValues,
    later: Sequence[CourseSession],
    settled: list[Busy],
    previous_at: datetime,
    changed: bool,
    anchor_time: time,
    now: datetime,
) -> tuple[Move, ...]:
    """Walk the later active sessions; re-plan each that breaks R3/R4 after its new predecessor.

    Answers every re-planned session, also one that lands on its own time again."""
    zone = calendar.zone
    gap = protocol.min_gap
    replanned: list[Move] = []
    for current in later:
        previous_date = previous_at.astimezone(zone).date()
        current_date = current.start_at.astimezone(zone).date()
        # R4 is checked always; R3 only after a predecessor that changed day (module docstring).
        if current_date >= previous_date + gap and (not changed or in_window(protocol, previous_date, current_date)):
            settled.append(_busy(current))
            previous_at, changed = current.start_at, False
            continue
        # Sessions not yet walked are not busy: each either lands on a later day than
        # this one, or breaks R4 against it and is re-planned in turn.
        with_course = dataclasses.replace(
            calendar,
            practitioner_busy=calendar.practitioner_busy + tuple(settled),
            patient_busy=calendar.patient_busy + tuple(settled),
        )
        planned = plan_course(
            with_course,
            protocol,
            start_date=previous_date,
            preferred_time=None,
            now=now,
            first_number=current.number,
            count=1,
            previous_start_at=previous_at,
            anchor_time=anchor_time,
        ).sessions[0]
        settled.append(Busy(planned.start_at, planned.end_at))
        replanned.append(Move(current.number, planned.start_at, planned.end_at, planned.warnings))
        previous_at, changed = planned.start_at, planned.start_at.astimezone(zone).date() != current_date
    return tuple(replanned)


def _slot_problems(
    calendar: Calendar, start_at: datetime, end_at: datetime, kept: Sequence[Busy], now: datetime
) -> tuple[str, ...]:
    """Every R5 rule an explicit time breaks. Staff pick the time: the slot grid does not apply."""
    zone = calendar.zone
    day = start_at.astimezone(zone).date()
    days = _local_dates(calendar, start_at, end_at)
    checks = (
        (IN_THE_PAST, start_at < now),
        (CLOSED, any(c.start_date <= d <= c.end_date for c in calendar.closures for d in days)),
        (OUTSIDE_HOURS, not _inside_hours(calendar, day, start_at, end_at)),
        (TIME_OFF, _overlaps(calendar.time_off, start_at, end_at)),
        (PRACTITIONER_BUSY, _overlaps((*calendar.practitioner_busy, *kept), start_at, end_at)),
        (
            PATIENT_SAME_DAY,
            any(days & _local_dates(calendar, b.start_at, b.end_at) for b in (*calendar.patient_busy, *kept)),
        ),
    )
    return tuple(reason for reason, broken in checks if broken)


def _inside_hours(calendar: Calendar, day: date, start_at: datetime, end_at: datetime) -> bool:
    """R5: inside one window of opening ∩ working hours of its local weekday, in real time (R1)."""
    for window in weekly_windows(calendar.opening_hours, calendar.working_hours)[day.weekday()]:
        # Window bounds read with fold=0, as the planner reads them on DST days.
        lo_at = datetime.combine(day, time_of_micros(window.start_us), tzinfo=calendar.zone)
        hi_at = datetime.combine(day, time_of_micros(window.end_us), tzinfo=calendar.zone)
        if lo_at.astimezone(UTC) <= start_at and end_at <= hi_at.astimezone(UTC):
            return True
    return False


def _overlaps(spans: Iterable[Busy], start_at: datetime, end_at: datetime) -> bool:
    return any(b.start_at < end_at and start_at < b.end_at for b in spans)


def _local_dates(calendar: Calendar, start_at: datetime, end_at: datetime) -> set[date]:
    """Every local date that ``[start_at, end_at)`` touches."""
    day, last = start_at.astimezone(calendar.zone).date(), (end_at - _US).astimezone(calendar.zone).date()
    found = set()
    while day <= last:
        found.add(day)
        day += _DAY
    return found


def _busy(session: CourseSession) -> Busy:
    return Busy(session.start_at, session.end_at)


def _in_order(sessions: Sequence[CourseSession]) -> list[CourseSession]:
    ordered = sorted(sessions, key=lambda s: s.number)
    if len({s.number for s in ordered}) != len(ordered):
        raise ValueError("session numbers must be unique within a course")
    return ordered
