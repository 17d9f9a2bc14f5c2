"""A course after a move, checked against the literal oracle: R3, R4 and R5 for what the move touched.

Shared by the properties of every feature that moves a session for someone (R27's alternatives,
R41's waitlist offers): whatever proposes the move, applying it must leave the course valid.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from hypothesis import event
from hypothesis import strategies as st

from scheduling import Busy, Calendar, Move, NoSlotAvailable, ProtocolValues, plan_course
from scheduling.aftercare import AVOID_MEDICATION, Rule
from scheduling.lifecycle import SessionStatus
from scheduling.reflow import CourseSession
from tests.scheduling.planner_oracle import free_starts
from tests.scheduling.planner_strategies import calendars, five_minute_time, places, protocols

NSAIDS_AFTER = Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "No NSAIDs", "nsaid")


@dataclass(frozen=True)
class Booked:
    """A course booked among other bookings, the session to move, and a pre-session NSAID rule."""

    calendar: Calendar
    protocol: ProtocolValues
    anchor: time
    booked_at: datetime
    course: list[CourseSession]
    number: int
    before_days: int  # "stop NSAIDs this many days before"
    rules: tuple[Rule, ...]


@st.composite
def booked_courses(draw: st.DrawFn) -> Booked | None:
    """A generated calendar with a course of 2–6 sessions booked in it; None when none fits."""
    zone, around = draw(places(), label="zone and date")
    protocol = dataclasses.replace(draw(protocols(), label="protocol"), session_count=draw(st.integers(2, 6)))
    cal = draw(calendars(zone, around), label="calendar")
    anchor = draw(five_minute_time(), label="anchor time")
    booked_at = datetime.combine(around - timedelta(days=3), time(0), tzinfo=UTC)
    try:
        planned = plan_course(
            cal, protocol, start_date=around, preferred_time=anchor, now=booked_at, anchor_time=anchor
        )
    except NoSlotAvailable:
        event("course not bookable")
        return None
    course = [CourseSession(s.number, s.start_at, s.end_at, SessionStatus.scheduled) for s in planned.sessions]
    before_days = draw(st.integers(1, 4), label="stop NSAIDs days before")
    rules = (Rule("pre_nsaids", AVOID_MEDICATION, -before_days, before_days, "No NSAIDs before", "nsaid"), NSAIDS_AFTER)
    number = draw(st.integers(1, len(course)), label="session")
    return Booked(cal, protocol, anchor, booked_at, course, number, before_days, rules)


def applied(course: Sequence[CourseSession], moves: Sequence[Move]) -> list[CourseSession]:
    """The course with every move made."""
    new = {m.number: m for m in moves}
    return [
        dataclasses.replace(s, start_at=new[s.number].start_at, end_at=new[s.number].end_at) if s.number in new else s
        for s in course
    ]


def assert_still_valid(
    cal: Calendar,
    protocol: ProtocolValues,
    before: Sequence[CourseSession],
    after: Sequence[CourseSession],
    *,
    now: datetime,
    pre_session_days: int,
    today: date,
) -> set[int]:
    """Assert R3/R4/R5 and the pre-session windows for ``after``; answer the numbers that moved."""
    zone = cal.zone
    changed = {s.number for s, old in zip(after, before, strict=True) if s.start_at != old.start_at}
    # R5 against the oracle: each session that moved is on a free grid start of the calendar with the rest of
    # the course as busy (practitioner and patient)
    for s in after:
        if s.number not in changed:
            continue
        rest = tuple(Busy(o.start_at, o.end_at) for o in after if o.number != s.number)
        with_rest = dataclasses.replace(
            cal, practitioner_busy=cal.practitioner_busy + rest, patient_busy=cal.patient_busy + rest, span=None
        )
        day = s.start_at.astimezone(zone).date()
        assert s.start_at in free_starts(with_rest, day, timedelta(minutes=protocol.session_minutes), now)
    # R4 between neighbours; R3 for every session whose own day or predecessor's day changed (a session that
    # was outside its window already, R6, is not undone by a move that leaves its predecessor's day: R8)
    days_changed = {
        s.number for s, old in zip(after, before, strict=True)
        if s.start_at.astimezone(zone).date() != old.start_at.astimezone(zone).date()
    }  # fmt: skip
    for previous, current in pairwise(after):
        previous_date, current_date = (x.start_at.astimezone(zone).date() for x in (previous, current))
        assert current_date >= previous_date + protocol.min_gap
        if current.number in days_changed or previous.number in days_changed:
            target = previous_date + timedelta(days=protocol.interval_days)
            assert abs((current_date - target).days) <= protocol.interval_tolerance_days
    # the pre-session window of every session that moved starts after today
    for s in after:
        if s.number in changed:
            assert s.start_at.astimezone(zone).date() - timedelta(days=pre_session_days) > today
    return changed
