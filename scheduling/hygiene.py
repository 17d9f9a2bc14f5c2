"""Reminder hygiene (R35–R38): nothing stale, one change notice, one message a day.

Why a planned reminder is no longer wanted (R35, R36): :func:`stale_reason` names it, so
staff reading ``GET /v1/reminders`` see why a message did not go: ``already_confirmed``
(the patient answered the confirm request), ``session_not_active`` (cancelled, no-show,
completed: no appointment or confirm message for it), ``course_on_hold`` and
``course_cancelled`` (nothing but a completed session's aftercare: that injection happened).

Change notices (R37): the patient was told each session's time at booking, then by every
change notice sent (or a change made at the desk, ``notify_patient: false``). What holds
now is compared with that, session by session, in :func:`changes`; the notice lists only
the sessions that differ, with their final state. None left: nothing to send
(``no_net_change``), so a move undone within the grace sends nothing.

One message a day (R38): :func:`merge_same_day` lets the date-based reminders of one
(channel, local date) ride with that day's first time-based one, or with the first of
them; riders become ``merged`` with the carrier's key, and the carrier's text joins
theirs. Time-based reminders never merge with each other: each keeps its own time. Merging
happens when reminders are planned, so the dispatcher's claim path knows nothing of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduling.lifecycle import CourseStatus, SessionStatus
from scheduling.reminders import (
    AFTERCARE_END,
    AFTERCARE_START,
    APPOINTMENT,
    CONFIRM_REQUEST,
    PATIENT,
    PENDING,
    PlannedReminder,
    ReminderKind,
    ReminderSettings,
    ReminderStatus,
    in_quiet_hours,
    local_instant,
)

ALREADY_CONFIRMED, SESSION_NOT_ACTIVE = "already_confirmed", "session_not_active"
COURSE_ON_HOLD, COURSE_CANCELLED, NO_NET_CHANGE = "course_on_hold", "course_cancelled", "no_net_change"
MERGED = ReminderStatus.merged
DEFAULT_CHANGE_GRACE_MINUTES = 5  # R37: SPEC's default for the clinic's change_grace_minutes

# R36: the messages a completed session keeps when its course stops (the injection happened)
AFTERCARE_KINDS = frozenset({AFTERCARE_START, AFTERCARE_END, ReminderKind.exercise, ReminderKind.follow_up})
# R38: riders and carriers
DATE_BASED = frozenset({AFTERCARE_START, AFTERCARE_END, ReminderKind.exercise})
TIME_BASED = frozenset({APPOINTMENT, CONFIRM_REQUEST})
# R36: appointment and confirm messages only while the session is still to come
_BOOKED = frozenset({SessionStatus.scheduled, SessionStatus.confirmed})
_STOPPED = {CourseStatus.on_hold: COURSE_ON_HOLD, CourseStatus.cancelled: COURSE_CANCELLED}


def stale_reason(
    kind: str, offset_minutes: int | None, session_status: str, course_status: str, settings: ReminderSettings
) -> str | None:
    """R35/R36: why a reminder planned before is not wanted now; None when it simply changed (a move)."""
    stopped = _STOPPED.get(CourseStatus(course_status))
    if stopped and not (kind in AFTERCARE_KINDS and session_status == SessionStatus.completed):
        return stopped
    if kind in TIME_BASED and session_status not in _BOOKED:
        return SESSION_NOT_ACTIVE
    if session_status == SessionStatus.confirmed and (
        kind == CONFIRM_REQUEST
        or (kind == APPOINTMENT and offset_minutes in settings.skip_when_confirmed_offsets_minutes)
    ):
        return ALREADY_CONFIRMED
    return None


def merge_same_day(plans: Sequence[PlannedReminder], zone: ZoneInfo) -> list[PlannedReminder]:
    """R38: the same plans, the date-based ones of each (channel, local date) riding with one carrier.

    Only pending patient messages merge (a skipped one goes nowhere). The carrier is the day's
    first time-based message, else its first date-based one; its body gains the riders' words.
    ``plans`` may be several courses' (R38 is per patient): the answer does not depend on their order.
    """
    days: dict[tuple[str, object], list[int]] = {}
    for i, p in enumerate(plans):
        if p.audience == PATIENT and p.status == PENDING and p.kind in DATE_BASED | TIME_BASED:
            days.setdefault((p.channel, p.due_at.astimezone(zone).date()), []).append(i)
    merged = list(plans)
    for indexes in days.values():
        # the same answer whichever course asked: ties go by key, not by the order the plans came in
        ordered = sorted(indexes, key=lambda i: (plans[i].due_at, plans[i].kind, plans[i].idempotency_key))
        riders = [i for i in ordered if plans[i].kind in DATE_BASED]
        timed = [i for i in ordered if plans[i].kind in TIME_BASED]
        carrier = timed[0] if timed else riders.pop(0) if riders else None
        if carrier is None or not riders:
            continue
        words = [plans[i].rider_text or plans[i].body for i in riders]
        merged[carrier] = replace(plans[carrier], body=" ".join([plans[carrier].body, *words]))
        for i in riders:
            merged[i] = replace(plans[i], status=MERGED, merged_into=plans[carrier].idempotency_key)
    return merged


@dataclass(frozen=True)
class SessionNow:
    """A session as the patient would want to know it now: its start, or None when it is off."""

    session_id: str
    number: int
    status: str
    start_at: datetime

    @property
    def announced(self) -> datetime | None:
        """What a change notice says of it: its start while booked, None (cancelled) otherwise."""
        return self.start_at if self.status in _BOOKED else None


@dataclass(frozen=True)
class SessionChange:
    """R37: one session whose state differs from what the patient was last told."""

    session_id: str
    number: int
    was: datetime | None  # None: never told (a replacement, a resumed course's new session)
    now: datetime | None  # None: cancelled


def changes(told: Mapping[str, datetime | None], sessions: Sequence[SessionNow], now: datetime) -> list[SessionChange]:
    """R37: the sessions whose start or status differs from what the patient was last told, by number.

    A session that took place, was missed or is in the chair is not news; neither is one whose
    times, old and new, are both past.
    """
    found = []
    for s in sessions:
        if s.status not in _BOOKED and s.status != SessionStatus.cancelled:
            continue
        was, is_now = told.get(s.session_id), s.announced
        if was == is_now or max(t for t in (was, is_now, s.start_at) if t is not None) <= now:
            continue
        found.append(SessionChange(s.session_id, s.number, was, is_now))
    return sorted(found, key=lambda c: (c.number, c.session_id))


def notice_due(now: datetime, grace_minutes: int, settings: ReminderSettings) -> datetime:
    """R37/R17: the grace after the last change, then out of quiet hours (the next quiet end)."""
    due_at = (now + timedelta(minutes=grace_minutes)).astimezone(UTC)
    if not in_quiet_hours(due_at, settings):
        return due_at
    local = due_at.astimezone(settings.zone)
    day = local.date() if local.time() < settings.quiet_end else local.date() + timedelta(days=1)
    return local_instant(day, settings.quiet_end, settings.zone)


def notice_key(patient_id: str, found: Sequence[SessionChange], due_at: datetime) -> str:
    """R21: a change notice's key: its patient, what it says and when."""
    parts = ["prolo.change_notice.v1", patient_id, due_at.astimezone(UTC).isoformat()]
    parts += [
        f"{c.session_id}:{c.was.isoformat() if c.was else ''}>{c.now.isoformat() if c.now else ''}" for c in found
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
