"""Session states and the moves between them (R10).

    scheduled ──confirm──▶ confirmed
    scheduled|confirmed ──check_in (on the session's local day)──▶ checked_in ──complete──▶ completed
    scheduled|confirmed ──cancel──▶ cancelled
    scheduled|confirmed|checked_in ──no_show (after the start time)──▶ no_show

Anything else is an IllegalTransition carrying the current state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from scheduling.errors import IllegalTransition


class SessionStatus(StrEnum):
    scheduled = "scheduled"
    confirmed = "confirmed"
    checked_in = "checked_in"
    completed = "completed"
    cancelled = "cancelled"
    no_show = "no_show"


class Action(StrEnum):
    confirm = "confirm"
    check_in = "check_in"
    complete = "complete"
    cancel = "cancel"
    no_show = "no_show"


# R5: these states hold the practitioner's time and the patient's day.
ACTIVE = frozenset({SessionStatus.scheduled, SessionStatus.confirmed, SessionStatus.checked_in})
# A session that took place or still will (an injection, done or planned): R4 counts from it, R14's
# aftercare follows it, a resumed course owes the rest. Cancelled and no-show sessions had no injection.
INJECTED = ACTIVE | {SessionStatus.completed}

_MOVES: dict[Action, tuple[frozenset[SessionStatus], SessionStatus]] = {
    Action.confirm: (frozenset({SessionStatus.scheduled}), SessionStatus.confirmed),
    Action.check_in: (frozenset({SessionStatus.scheduled, SessionStatus.confirmed}), SessionStatus.checked_in),
    Action.complete: (frozenset({SessionStatus.checked_in}), SessionStatus.completed),
    Action.cancel: (frozenset({SessionStatus.scheduled, SessionStatus.confirmed}), SessionStatus.cancelled),
    Action.no_show: (
        frozenset({SessionStatus.scheduled, SessionStatus.confirmed, SessionStatus.checked_in}),
        SessionStatus.no_show,
    ),
}
# R10: what can still be cancelled (a course cancelled or put on hold cancels these of its future sessions);
# a checked-in patient is in the clinic and is completed or marked no-show instead.
CANCELLABLE = _MOVES[Action.cancel][0]


@dataclass(frozen=True)
class SessionTimes:
    start_at: datetime  # aware
    zone: ZoneInfo


def next_status(current: SessionStatus, action: Action, *, times: SessionTimes, now: datetime) -> SessionStatus:
    """The state after `action`, or IllegalTransition naming the current state and why."""
    allowed_from, target = _MOVES[action]
    if current not in allowed_from:
        raise IllegalTransition(current.value, action.value, f"a {current.value} session cannot {action.value}")
    if action is Action.check_in and now.astimezone(times.zone).date() != times.start_at.astimezone(times.zone).date():
        raise IllegalTransition(current.value, action.value, "check-in only on the session's local day")
    if action is Action.no_show and now < times.start_at:
        raise IllegalTransition(current.value, action.value, "no-show only after the start time")
    return target


class CourseStatus(StrEnum):
    planned = "planned"
    active = "active"
    completed = "completed"
    cancelled = "cancelled"
    on_hold = "on_hold"


# R9: two missed sessions and a clinician should look at the course.
NO_SHOWS_FOR_REVIEW = 2


def course_status(current: CourseStatus, sessions: Iterable[SessionStatus]) -> CourseStatus:
    """R9: the course follows its sessions; cancelled and on-hold courses change only by an explicit action.

    Active with its first completed session; completed when no active session is
    left and at least one was completed.
    """
    if current in (CourseStatus.cancelled, CourseStatus.on_hold):
        return current
    statuses = list(sessions)
    if SessionStatus.completed not in statuses:
        return CourseStatus.planned
    if any(s in ACTIVE for s in statuses):
        return CourseStatus.active
    return CourseStatus.completed


def needs_review(sessions: Iterable[SessionStatus]) -> bool:
    """R9: the patient missed two sessions (or more) of this course."""
    return sum(1 for s in sessions if s is SessionStatus.no_show) >= NO_SHOWS_FOR_REVIEW
