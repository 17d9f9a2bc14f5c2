"""R4: never fewer than min_interval_days (local calendar days) after the previous session."""

from __future__ import annotations

import pytest

from scheduling import OUTSIDE_WINDOW
from tests.scheduling.planner_builders import (
    MON,
    busy,
    calendar,
    closed,
    day,
    diary,
    hours,
    plan,
    protocol,
)

EVERY_DAY = hours("08:00-17:00", days=range(7))


def test_r4_wide_tolerance_never_goes_under_the_minimum() -> None:
    # interval 14 ± 10 with minimum 7: day 5 (t-9) is nearer the target than day 24
    # (t+10), but it is only 5 days after session 1: acute inflammation lasts a week.
    wide = protocol(session_count=2, interval_tolerance_days=10, min_interval_days=7)
    closures = [closed(day(1), day(4)), closed(day(6), day(23))]

    course = plan(calendar(opening=EVERY_DAY, closures=closures), wide)

    assert diary(course) == [(MON, "08:00"), (day(24), "08:00")]


@pytest.mark.parametrize("minimum", [7, 10, 13])
def test_r4_days_under_the_minimum_stay_empty_even_inside_the_window(minimum: int) -> None:
    # Window day 4..24; only days under the minimum are open in it: R6 takes over.
    wide = protocol(session_count=2, interval_tolerance_days=10, min_interval_days=minimum)
    cal = calendar(opening=EVERY_DAY, closures=[closed(day(minimum), day(24))])

    course = plan(cal, wide)

    assert diary(course)[1] == (day(25), "08:00")
    assert course.sessions[1].warnings == (OUTSIDE_WINDOW,)


@pytest.mark.parametrize("minimum", [7, 10, 13])
def test_r4_exactly_the_minimum_is_allowed(minimum: int) -> None:
    wide = protocol(session_count=2, interval_tolerance_days=10, min_interval_days=minimum)
    cal = calendar(opening=EVERY_DAY, closures=[closed(day(minimum + 1), day(40))])

    course = plan(cal, wide)

    assert diary(course)[1] == (day(minimum), "08:00")


def test_r4_counts_calendar_days_not_hours() -> None:
    # Session 1 at 16:00, session 2 at 08:00 exactly 7 days later: 6 days 16 hours
    # in real time, but 7 calendar days, which R4 allows.
    weekly = protocol(session_count=2, interval_days=7, interval_tolerance_days=3)
    afternoon_only_once = [busy(day(7), "08:45-17:00")]
    cal = calendar(opening=EVERY_DAY, practitioner_busy=afternoon_only_once)

    course = plan(cal, weekly, preferred_time="16:00")

    assert diary(course) == [(MON, "16:00"), (day(7), "08:00")]


def test_r4_days_inside_the_minimum_stay_empty_when_the_target_is_closed() -> None:
    # interval 7 ± 3, minimum 7: t-1..t-3 are under the minimum even though they
    # are in the tolerance window, so a closed target moves to t+1.
    weekly = protocol(session_count=2, interval_days=7, interval_tolerance_days=3)
    cal = calendar(opening=EVERY_DAY, closures=[closed(day(7))])

    course = plan(cal, weekly, preferred_time="09:00")

    assert diary(course)[1] == (day(8), "09:00")


def test_r4_applies_to_a_continued_course() -> None:
    wide = protocol(interval_tolerance_days=10, min_interval_days=9)
    cal = calendar(opening=EVERY_DAY, closures=[closed(day(11), day(40))])
    previous_at = busy(MON, "09:00-09:45").start_at

    course = plan(cal, wide, start_date=MON, first_number=3, count=1, previous_start_at=previous_at)

    assert diary(course) == [(day(10), "09:00")]
    assert [s.number for s in course.sessions] == [3]
