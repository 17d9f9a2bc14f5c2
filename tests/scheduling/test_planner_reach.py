"""How far a planning question reaches, and a planner that refuses to look past what it was given.

The hypothesis properties in test_planner_r7_properties and test_reflow_r8 also plan
every generated question on a calendar holding only its reach, and get the same answer.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from scheduling import CalendarTooShort, DateRange, course_reach, free_slots, plan_reschedule, reschedule_reach
from scheduling.lifecycle import SessionStatus
from scheduling.reflow import CourseSession
from tests.scheduling.planner_builders import (
    BERLIN,
    MON,
    NOW,
    PROTOCOL,
    at,
    calendar,
    closed,
    day,
    hours,
    plan,
    protocol,
)

EVERY_DAY = hours("08:00-17:00", days=range(7))


@pytest.mark.parametrize(
    ("arguments", "first", "last"),
    [
        # R2's 90 days for session 1, then five sessions each up to 14 + 3 + 7 days later
        ({}, MON, day(89 + 5 * 24)),
        ({"first_session_search_days": 14}, MON, day(13 + 5 * 24)),
        ({"count": 1}, MON, day(89)),
        ({"first_number": 4}, MON, day(89 + 2 * 24)),
        # from a predecessor: each of the sessions asked for is up to 24 days after the one before
        ({"previous_start_at": at(day(-14), "09:00"), "count": 1}, day(-13), day(-14 + 24)),
        ({"previous_start_at": at(day(-14), "09:00"), "count": 3}, day(-13), day(-14 + 3 * 24)),
        # a predecessor long gone: its window ends before start_date, so the planner looks at no day
        # (and raises NoSlotAvailable); the reach stays a range
        ({"previous_start_at": at(day(-100), "09:00"), "count": 1}, day(-99), day(-76)),
    ],
)
def test_course_reach_covers_the_latest_day_each_rule_allows(
    arguments: dict[str, object], first: date, last: date
) -> None:
    assert course_reach(PROTOCOL, BERLIN, start_date=MON, **arguments) == DateRange(first, last)  # type: ignore[arg-type]


def test_reschedule_reach_follows_the_stored_sessions_or_one_step_after_the_new_predecessor() -> None:
    new_start_at = at(day(30), "09:00")
    stored = [at(day(14), "09:00"), at(day(100), "09:00"), at(day(110), "09:00")]
    # session 2 may land up to day 54; session 3 is stored at 100 (later than 54 + 24), session 4 up to 124
    reach = reschedule_reach(PROTOCOL, BERLIN, new_start_at=new_start_at, later_start_ats=stored)
    assert reach == DateRange(day(30), day(124))


def test_reschedule_reach_covers_a_session_that_runs_past_midnight() -> None:
    late = at(day(3), "23:30")  # staff may ask for any time; the 45 minutes end on day 4
    assert reschedule_reach(PROTOCOL, BERLIN, new_start_at=late, later_start_ats=[]) == DateRange(day(3), day(4))


def test_a_calendar_shorter_than_the_plans_reach_is_refused_not_read_as_free() -> None:
    # Session 6 may reach day 209: a calendar loaded to day 183 (what booking once loaded) is refused.
    short = dataclasses.replace(calendar(opening=EVERY_DAY), span=DateRange(MON, day(183)))
    with pytest.raises(CalendarTooShort) as raised:
        plan(short)
    assert raised.value.needed == (MON, day(209)) and raised.value.loaded == (MON, day(183))
    assert "calendar holds only" in str(raised.value)


def test_a_day_outside_the_calendar_is_never_looked_at() -> None:
    cal = dataclasses.replace(calendar(opening=EVERY_DAY, closures=[closed(day(1))]), span=DateRange(MON, day(6)))
    assert [s.start_at for s in free_slots(cal, from_date=MON, to_date=day(6), duration_minutes=45, now=NOW)]
    with pytest.raises(CalendarTooShort):
        free_slots(cal, from_date=MON, to_date=day(7), duration_minutes=45, now=NOW)
    with pytest.raises(CalendarTooShort):
        cal.availability.day_slots(day(7), timedelta(minutes=45), NOW)


def test_a_reflow_on_a_calendar_too_short_is_refused() -> None:
    course = [
        CourseSession(n, at(day(14 * (n - 1)), "09:00"), at(day(14 * (n - 1)), "09:45"), SessionStatus.scheduled)
        for n in range(1, 4)
    ]
    short = dataclasses.replace(calendar(opening=EVERY_DAY), span=DateRange(MON, day(40)))
    with pytest.raises(CalendarTooShort):
        plan_reschedule(
            short,
            protocol(session_count=3),
            course,
            number=1,
            new_start_at=at(day(10), "09:00"),
            anchor_time=at(MON, "09:00").astimezone(BERLIN).time(),
            now=NOW,
        )
