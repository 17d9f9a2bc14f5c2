"""The course-aware waitlist (R39–R45): who may be offered a freed span of time, and in which order.

A patient on the waitlist wants one booked session of their course earlier. A freed span
(an **opening**) is offered only when moving that session there keeps the *whole course*
valid: the move is the real R8 dry run with reflow (:func:`~scheduling.reflow.plan_reschedule`),
so R3, R4 and R5 hold for every session it touches, and the checks below are added on top:

- it warns about nothing and moves no session later (an offer is an improvement or nothing);
- every pre-session aftercare window ("stop NSAIDs three days before") of every session that
  moves still starts after the offer's local date, so the patient can keep it;
- the patient can be reached, holds no other open offer and is under the weekly cap.

Pure: the service loads the calendar (without the course's own sessions, with the opening's
span free) and the patient's facts; ``now`` is an argument. Ranking is a plain sort key, so
two dispatchers rank the same entries the same way (R42).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from scheduling.aftercare import Rule
from scheduling.calendar import Calendar
from scheduling.errors import SchedulingError
from scheduling.hours import HoursInterval
from scheduling.lifecycle import ACTIVE, CourseStatus, SessionStatus
from scheduling.protocol import ProtocolValues
from scheduling.reflow import CourseSession, ReschedulePlan, plan_reschedule


class Priority(StrEnum):
    normal = "normal"
    urgent = "urgent"


class EntryStatus(StrEnum):
    waiting = "waiting"
    fulfilled = "fulfilled"
    closed = "closed"


class OpeningStatus(StrEnum):
    settling = "settling"
    offering = "offering"
    filled = "filled"
    lapsed = "lapsed"
    withdrawn = "withdrawn"


class OfferStatus(StrEnum):
    open = "open"
    accepted = "accepted"
    taken = "taken"
    expired = "expired"
    withdrawn = "withdrawn"
    invalid = "invalid"


class Mode(StrEnum):
    off = "off"
    staff = "staff"
    auto = "auto"


class CloseReason(StrEnum):
    """Why an entry closed by itself (R39); staff give their own reason in words."""

    session_day = "session_day"  # the session's local day began: nothing earlier is left to offer
    session_moved = "session_moved"
    session_cancelled = "session_cancelled"
    course_on_hold = "course_on_hold"
    course_cancelled = "course_cancelled"
    expired = "expired"  # expires_on came


class Unfit(StrEnum):
    """Why an entry does not fit an opening (R41), the first that applies."""

    other_practitioner = "other_practitioner"
    too_short = "too_short"
    before_earliest_date = "before_earliest_date"
    outside_availability = "outside_availability"
    too_near = "too_near"
    too_little_gain = "too_little_gain"
    not_plannable = "not_plannable"  # the R8 dry run refuses it (R4, R5, no slot for a reflowed session)
    warns = "warns"
    moves_later = "moves_later"
    pre_session_window = "pre_session_window"
    unreachable = "unreachable"
    open_offer = "open_offer"
    weekly_cap = "weekly_cap"


@dataclass(frozen=True)
class WaitlistSettings:
    """The clinic's `waitlist` settings (API.md), defaults as R40–R43 give them."""

    mode: Mode = Mode.staff
    settle_minutes: int = 10  # staff reshuffles are not offered
    hold_minutes: int = 15
    batch_size: int = 3
    min_lead_minutes: int = 180
    min_gain_days: int = 1
    max_offers_per_week: int = 3

    @property
    def min_lead(self) -> timedelta:
        return timedelta(minutes=self.min_lead_minutes)


def entry_closing(
    *,
    session_status: SessionStatus,
    session_date: date,
    course_status: CourseStatus,
    expires_on: date | None,
    today: date,
) -> CloseReason | None:
    """Why a waiting entry closes now by itself (R39), or None: it keeps waiting.

    The day-based reasons apply at the first dispatch pass on or after that local day;
    the others are also applied at once by the change that causes them.
    """
    if course_status is CourseStatus.cancelled:
        return CloseReason.course_cancelled
    if course_status is CourseStatus.on_hold:
        return CloseReason.course_on_hold
    if session_status not in ACTIVE:
        return CloseReason.session_cancelled
    if today >= session_date:
        return CloseReason.session_day
    if expires_on is not None and today >= expires_on:
        return CloseReason.expired
    return None


class Step(StrEnum):
    """What a dispatch pass does with one opening now (R40, R45)."""

    wait = "wait"  # still settling, or its offers' hold still runs
    offer = "offer"  # settled (or a hold ended): offer the next batch, or raise the staff item
    lapse = "lapse"


def opening_step(
    *,
    status: OpeningStatus,
    start_at: datetime,
    eligible_at: datetime,
    hold_until: datetime | None,
    span_free: bool,
    now: datetime,
    min_lead: timedelta,
) -> Step:
    """R40: an opening whose span is taken, or nearer than ``min_lead``, lapses; else it waits out its
    settling time and any running hold, then offers."""
    if status not in (OpeningStatus.settling, OpeningStatus.offering):
        return Step.wait
    if not span_free or start_at < now + min_lead:
        return Step.lapse
    if now < eligible_at or (hold_until is not None and now < hold_until):
        return Step.wait
    return Step.offer


@dataclass(frozen=True)
class Opening:
    """A freed span of one practitioner's time."""

    practitioner_id: str
    start_at: datetime  # aware
    end_at: datetime  # aware


@dataclass(frozen=True)
class Reach:
    """What R41 knows of the patient: may they be offered anything now?"""

    reachable: bool  # not archived, consents, and has a usable channel
    open_offers: int  # other open offers
    offers_last_7_days: int
    offers_last_30_days: int


@dataclass(frozen=True)
class Entry:
    """One waiting entry and the course it would change, as the planner needs it."""

    id: str
    sequence: int  # creation order (R42: first come, first served)
    priority: Priority
    practitioner_id: str  # the course's
    number: int  # the session the patient wants earlier
    earliest_date: date | None
    availability: tuple[HoursInterval, ...]  # empty: any time
    calendar: Calendar  # without this course's sessions; the opening's span free of its own hold
    protocol: ProtocolValues
    sessions: Sequence[CourseSession]
    rules: Sequence[Rule]
    anchor_time: time  # session 1's local time: reflowed sessions aim at it (R3)
    reach: Reach


def fit(entry: Entry, opening: Opening, settings: WaitlistSettings, *, now: datetime) -> ReschedulePlan | Unfit:
    """R41: the move an offer would make (the R8 dry run with reflow), or why the entry does not fit."""
    zone = entry.calendar.zone
    current = next(s for s in entry.sessions if s.number == entry.number)
    start = opening.start_at.astimezone(zone)
    end = start + timedelta(minutes=entry.protocol.session_minutes)
    if opening.practitioner_id != entry.practitioner_id:
        return Unfit.other_practitioner
    if end > opening.end_at:
        return Unfit.too_short
    if entry.earliest_date is not None and start.date() < entry.earliest_date:
        return Unfit.before_earliest_date
    if entry.availability and not _inside(entry.availability, start, end.astimezone(zone)):
        return Unfit.outside_availability
    if opening.start_at < now + settings.min_lead:
        return Unfit.too_near
    if (current.start_at.astimezone(zone).date() - start.date()).days < settings.min_gain_days:
        return Unfit.too_little_gain
    unreached = _unreached(entry.reach, settings)
    if unreached is not None:
        return unreached
    try:
        plan = plan_reschedule(
            entry.calendar,
            entry.protocol,
            entry.sessions,
            number=entry.number,
            new_start_at=opening.start_at,
            anchor_time=entry.anchor_time,
            now=now,
            reflow=True,
        )
    except SchedulingError:
        return Unfit.not_plannable
    moves = (plan.session, *plan.moved)
    if plan.warns:  # a session it moves, or one it leaves outside its window (R6), would be flagged
        return Unfit.warns
    before = {s.number: s.start_at for s in entry.sessions}
    if any(m.start_at > before[m.number] for m in moves):
        return Unfit.moves_later
    offered_on = now.astimezone(zone).date()
    offsets = [r.start_offset_days for r in entry.rules if r.start_offset_days < 0]
    for move in moves:
        day = move.start_at.astimezone(zone).date()
        if any(day + timedelta(days=offset) <= offered_on for offset in offsets):
            return Unfit.pre_session_window  # it would start today or earlier: the patient could not keep it
    return plan


def _unreached(reach: Reach, settings: WaitlistSettings) -> Unfit | None:
    if not reach.reachable:
        return Unfit.unreachable
    if reach.open_offers:
        return Unfit.open_offer
    if reach.offers_last_7_days >= settings.max_offers_per_week:
        return Unfit.weekly_cap
    return None


def _inside(availability: Iterable[HoursInterval], start: datetime, end: datetime) -> bool:
    """The local span lies within one of the patient's weekly intervals (the same day)."""
    if start.date() != end.date() and end.time() != time(0):
        return False
    return any(
        a.weekday == start.weekday() and a.start <= start.time().replace(tzinfo=None) and end.time() <= a.end
        for a in availability
    )


def rank_key(priority: Priority, offers_last_30_days: int, sequence: int, entry_id: str) -> tuple[int, int, int, str]:
    """R42: urgent first, then fewer offers in the last 30 days, then first come, then the id."""
    return (0 if priority is Priority.urgent else 1, offers_last_30_days, sequence, entry_id)


def ranked(entries: Iterable[Entry]) -> list[Entry]:
    """Entries in R42's order."""
    return sorted(entries, key=lambda e: rank_key(e.priority, e.reach.offers_last_30_days, e.sequence, e.id))


def next_batch(
    ranked_fits: Sequence[tuple[Entry, ReschedulePlan]], already_offered: Iterable[str], batch_size: int
) -> list[tuple[Entry, ReschedulePlan]]:
    """R43/R45: the first ``batch_size`` fitting entries never offered this opening before."""
    seen = set(already_offered)
    return [pair for pair in ranked_fits if pair[0].id not in seen][:batch_size]


def hold_until(expires_ats: Iterable[datetime]) -> datetime | None:
    """R43: a hold lasts until the latest expiry of the open batch (None: nothing holds)."""
    return max(expires_ats, default=None)
