"""R3: session i+1 aims at date(session i) + interval_days, nearest day first."""

from __future__ import annotations

from datetime import date

import pytest

from scheduling import DateRange
from tests.scheduling.planner_builders import (
    MON,
    at,
    busy,
    calendar,
    closed,
    day,
    diary,
    hours,
    plan,
    protocol,
)

WED = day(2)  # session 1 on a Wednesday, so target ± 2 are weekdays
TARGET = WED + (day(14) - MON)
TWO = protocol(session_count=2)


def test_r3_sessions_every_interval_days_at_session_one_time() -> None:
    course = plan(calendar(), protocol(session_count=4), preferred_time="11:00")

    assert diary(course) == [(day(14 * k), "11:00") for k in range(4)]
    assert [s.number for s in course.sessions] == [1, 2, 3, 4]
    assert all(s.warnings == () for s in course.sessions)


@pytest.mark.parametrize(
    ("case", "closures", "expected_offset"),
    [
        ("target free", [], 0),
        ("target closed: t-1 before t+1", [closed(TARGET)], -1),
        ("t and t-1 closed: t+1", [closed(TARGET.replace(day=TARGET.day - 1), TARGET)], +1),
        ("t-1..t+1 closed: t-2", [closed(day(15), day(17))], -2),
        ("t-2..t+1 closed: t+2", [closed(day(14), day(17))], +2),
    ],
)
def test_r3_candidate_days_nearest_to_target_first_earlier_on_ties(
    case: str, closures: list[DateRange], expected_offset: int
) -> None:
    assert day(16) == TARGET
    course = plan(calendar(closures=closures), TWO, start_date=WED, preferred_time="10:00")

    second_date, second_time = diary(course)[1]
    assert (second_date - TARGET).days == expected_offset, case
    assert second_time == "10:00"


def test_r3_tolerance_order_reaches_t_minus_3_before_t_plus_3() -> None:
    # Open every day; t-2..t+2 closed: t-3 comes before t+3.
    every_day = hours("08:00-17:00", days=range(7))
    cal = calendar(opening=every_day, closures=[closed(day(12), day(16))])

    course = plan(cal, TWO, preferred_time="10:00")

    assert diary(course)[1] == (day(11), "10:00")


def test_r3_keeps_session_one_time_when_free() -> None:
    # Plenty of earlier slots on the target day; the anchor 15:30 still wins.
    course = plan(calendar(), protocol(session_count=3), preferred_time="15:30")

    assert [wall for _, wall in diary(course)] == ["15:30"] * 3


@pytest.mark.parametrize(
    ("case", "booked_on_target", "expected_time"),
    [
        ("anchor free", [], "11:00"),
        ("anchor taken, tie goes earlier", ["11:00-11:45"], "10:15"),
        ("anchor taken, later nearer", ["10:30-11:30"], "11:30"),
        ("anchor taken, earlier nearer", ["10:45-12:30"], "10:00"),
    ],
)
def test_r3_nearest_free_time_when_anchor_taken(case: str, booked_on_target: list[str], expected_time: str) -> None:
    cal = calendar(practitioner_busy=[busy(day(14), span) for span in booked_on_target])

    course = plan(cal, protocol(session_count=3), preferred_time="11:00")

    assert diary(course)[1] == (day(14), expected_time), case
    # Session 3 aims at session 1's time again, not at session 2's.
    assert diary(course)[2] == (day(28), "11:00")


def test_r3_full_target_day_moves_to_the_next_candidate_day() -> None:
    cal = calendar(practitioner_busy=[busy(day(16), "08:00-17:00")])

    course = plan(cal, TWO, start_date=WED, preferred_time="10:00")

    assert diary(course)[1] == (day(15), "10:00")


def test_r3_target_counts_from_the_local_date_not_the_utc_date() -> None:
    # 00:30 in Berlin is still the previous day in UTC.
    night = hours("00:00-23:00", days=range(7))
    course = plan(calendar(opening=night), TWO, preferred_time="00:30")

    first, second = course.sessions
    assert first.start_at.date() == date(2026, 2, 1)  # UTC: Sunday
    assert diary(course) == [(MON, "00:30"), (day(14), "00:30")]
    assert second.start_at == at(day(14), "00:30")
