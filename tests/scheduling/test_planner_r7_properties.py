"""R7 and the other rules as properties over generated calendars (hypothesis).

Calendars come with random opening and working hours (split days included), closures,
time off, practitioner and patient sessions, in zones with and without DST; questions
start near 2027's DST changes half of the time. Each plan is checked twice: against
the rules as plain assertions, and against a literal re-reading of R2-R6 built on
the slow oracle in ``planner_oracle``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scheduling import (
    OUTSIDE_WINDOW,
    Busy,
    Calendar,
    NoSlotAvailable,
    ProtocolValues,
    course_reach,
    free_slots,
    plan_course,
)
from scheduling.lifecycle import SessionStatus
from scheduling.reflow import CourseSession
from scheduling.windows import outside_window
from tests.scheduling.planner_oracle import free_starts, nearest
from tests.scheduling.planner_strategies import Question, calendars, places, protocols, questions

COMPLETED = SessionStatus.completed
BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Placed = list[tuple[int, datetime, tuple[str, ...]]]  # number, start_at, warnings
Outcome = Placed | tuple[int, date, date]  # or NoSlotAvailable's data


def ask(cal: Calendar, protocol: ProtocolValues, q: Question) -> Outcome:
    try:
        course = plan_course(
            cal,
            protocol,
            start_date=q.start_date,
            preferred_time=q.preferred_time,
            now=q.now,
            first_number=q.first_number,
            count=q.count,
            previous_start_at=q.previous_start_at,
            anchor_time=q.anchor_time,
            first_session_search_days=q.search_days,
        )
    except NoSlotAvailable as error:
        return error.session_number, error.window_start, error.window_end
    for s in course.sessions:
        assert s.start_at.tzinfo is UTC and s.end_at.tzinfo is UTC
        assert s.end_at - s.start_at == timedelta(minutes=protocol.session_minutes)  # R1
    return [(s.number, s.start_at, s.warnings) for s in course.sessions]


def literal_plan(cal: Calendar, protocol: ProtocolValues, q: Question) -> Outcome:
    """R2-R6 read literally, one candidate day at a time, against the oracle."""
    duration = timedelta(minutes=protocol.session_minutes)
    count = protocol.session_count - q.first_number + 1 if q.count is None else q.count
    placed: Placed = []

    def choose(day: date, target: time | None) -> datetime | None:
        if day < q.start_date:
            return None
        # R5: the plan's own sessions are busy for the practitioner and the patient.
        own = tuple(Busy(start_at, start_at + duration) for _, start_at, _ in placed)
        booked = dataclasses.replace(
            cal, practitioner_busy=cal.practitioner_busy + own, patient_busy=cal.patient_busy + own
        )
        return nearest(cal, free_starts(booked, day, duration, q.now), target)

    numbers = list(range(q.first_number, q.first_number + count))
    previous_at, anchor = q.previous_start_at, q.anchor_time
    if previous_at is None and numbers:
        number = numbers.pop(0)
        days = [q.start_date + timedelta(days=k) for k in range(q.search_days)]
        previous_at = next((c for d in days if (c := choose(d, q.preferred_time))), None)
        if previous_at is None:
            return number, days[0], days[-1]
        placed.append((number, previous_at, ()))
    if previous_at is not None and anchor is None:
        anchor = previous_at.astimezone(cal.zone).time()
    for number in numbers:
        assert previous_at is not None
        previous_date = previous_at.astimezone(cal.zone).date()
        target = previous_date + timedelta(days=protocol.interval_days)
        tolerance = timedelta(days=protocol.interval_tolerance_days)
        by_distance = sorted(
            (target + timedelta(days=k) for k in range(-tolerance.days, tolerance.days + 1)),
            key=lambda d: (abs((d - target).days), d),
        )
        after = [target + tolerance + timedelta(days=k) for k in range(1, 8)]
        earliest = previous_date + timedelta(days=max(protocol.min_interval_days, 1))
        candidates = [(d, ()) for d in by_distance] + [(d, (OUTSIDE_WINDOW,)) for d in after]
        chosen = next(((c, w) for d, w in candidates if d >= earliest and (c := choose(d, anchor))), None)
        if chosen is None:
            return number, target - tolerance, target + tolerance
        placed.append((number, *chosen))
        previous_at = chosen[0]
    return placed


def assert_follows_the_rules(cal: Calendar, protocol: ProtocolValues, q: Question, placed: Placed) -> None:
    duration = timedelta(minutes=protocol.session_minutes)
    count = protocol.session_count - q.first_number + 1 if q.count is None else q.count
    assert [n for n, _, _ in placed] == list(range(q.first_number, q.first_number + count))
    for _, start_at, _ in placed:
        end_at = start_at + duration
        day = start_at.astimezone(cal.zone).date()
        assert start_at >= q.now and day >= q.start_date
        assert not any(c.start_date <= day <= c.end_date for c in cal.closures)
        for span in (*cal.time_off, *cal.practitioner_busy):
            assert span.end_at <= start_at or span.start_at >= end_at
        # Inside opening ∩ working hours, on the grid, off the patient's days (R2, R5).
        assert start_at in free_starts(cal, day, duration, q.now)
    starts = [start_at for _, start_at, _ in placed]
    if q.previous_start_at is not None:
        starts.insert(0, q.previous_start_at)
    days = [start_at.astimezone(cal.zone).date() for start_at in starts]
    for before, after in pairwise(days):
        assert (after - before).days >= max(protocol.min_interval_days, 1)  # R4, and no overlap
    # R6's warning is what the rule that keeps it true after later changes reads (scheduling/windows.py).
    sessions = [CourseSession(n, start_at, start_at + duration, SessionStatus.scheduled) for n, start_at, _ in placed]
    warned = {n for n, _, warnings in placed if OUTSIDE_WINDOW in warnings}
    if q.previous_start_at is None:
        assert outside_window(protocol, cal.zone, sessions) == warned - {q.first_number}  # R2 places the first
    else:
        done = CourseSession(q.first_number - 1, q.previous_start_at, q.previous_start_at + duration, COMPLETED)
        assert outside_window(protocol, cal.zone, [done, *sessions]) == warned


@BOUNDED
@given(data=st.data())
def test_r7_plans_follow_every_rule_or_raise_no_slot_available(data: st.DataObject) -> None:
    zone, around = data.draw(places(), label="zone and date")
    protocol = data.draw(protocols(), label="protocol")
    cal = data.draw(calendars(zone, around), label="calendar")
    q = data.draw(questions(around, protocol), label="question")

    outcome = ask(cal, protocol, q)

    # R7: the same question gets the same answer, whatever order the spans come in.
    shuffled = dataclasses.replace(
        cal,
        practitioner_busy=cal.practitioner_busy[::-1],
        time_off=cal.time_off[::-1],
        patient_busy=cal.patient_busy[::-1],
        closures=cal.closures[::-1],
    )
    assert ask(cal, protocol, q) == outcome
    assert ask(shuffled, protocol, q) == outcome
    assert literal_plan(cal, protocol, q) == outcome
    # A calendar holding only the dates the reach names gets the same answer: the planner
    # never looks past its reach (a day outside would raise CalendarTooShort).
    reach = course_reach(
        protocol,
        zone,
        start_date=q.start_date,
        first_number=q.first_number,
        count=q.count,
        previous_start_at=q.previous_start_at,
        first_session_search_days=q.search_days,
    )
    assert ask(dataclasses.replace(cal, span=reach), protocol, q) == outcome
    if isinstance(outcome, list):
        event(f"placed {len(outcome)}")
        assert_follows_the_rules(cal, protocol, q, outcome)
    else:
        event("NoSlotAvailable")


@BOUNDED
@given(data=st.data())
def test_r5_free_slots_match_the_rules_read_literally(data: st.DataObject) -> None:
    zone, around = data.draw(places(), label="zone and date")
    cal = data.draw(calendars(zone, around), label="calendar")
    minutes = data.draw(st.sampled_from([15, 30, 45, 60, 90]), label="minutes")
    seconds = data.draw(st.integers(-2 * 86400, 2 * 86400), label="now")
    now = datetime.combine(around, time(0), tzinfo=UTC) + timedelta(seconds=seconds)
    first, last = around - timedelta(days=1), around + timedelta(days=3)

    found = free_slots(cal, from_date=first, to_date=last, duration_minutes=minutes, now=now)

    duration = timedelta(minutes=minutes)
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    expected = sorted(start_at for day in days for start_at in free_starts(cal, day, duration, now))
    assert [s.start_at for s in found] == expected
    assert all(s.end_at - s.start_at == duration for s in found)
    event("some slots" if found else "no slots")
