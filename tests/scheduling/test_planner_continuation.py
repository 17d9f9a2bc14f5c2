"""Continuing a course (resume, replacement, reflow): R3/R4 from a given predecessor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from scheduling import OUTSIDE_WINDOW, Busy, DateRange, HoursInterval, plan_course
from tests.scheduling.planner_builders import (
    MON,
    NEW_YORK,
    NOW,
    at,
    calendar,
    day,
    diary,
    plan,
    protocol,
    t,
)

PREVIOUS_AT = at(MON, "10:00")  # session 2 was on Monday 2 Feb at 10:00


def test_r3_continuation_plans_from_the_predecessor_at_its_time() -> None:
    course = plan(calendar(), first_number=3, count=2, previous_start_at=PREVIOUS_AT)

    assert [s.number for s in course.sessions] == [3, 4]
    assert diary(course) == [(day(14), "10:00"), (day(28), "10:00")]


def test_r3_continuation_anchor_time_overrides_the_predecessor_time() -> None:
    course = plan(calendar(), first_number=3, count=2, previous_start_at=PREVIOUS_AT, anchor_time=t("14:00"))

    assert diary(course) == [(day(14), "14:00"), (day(28), "14:00")]


def test_r3_anchor_time_applies_after_an_r2_first_session_too() -> None:
    course = plan(calendar(), protocol(session_count=2), preferred_time="09:00", anchor_time=t("15:00"))

    assert diary(course) == [(MON, "09:00"), (day(14), "15:00")]


def test_r1_continuation_keeps_the_predecessor_local_time_across_dst() -> None:
    previous_at = at(date(2027, 3, 1), "09:00", NEW_YORK)  # EST

    course = plan(calendar(NEW_YORK), first_number=2, count=1, previous_start_at=previous_at)

    assert diary(course, NEW_YORK) == [(date(2027, 3, 15), "09:00")]  # EDT


def test_r3_continuation_default_count_is_the_rest_of_the_course() -> None:
    course = plan(calendar(), protocol(session_count=6), first_number=4, previous_start_at=PREVIOUS_AT)

    assert [s.number for s in course.sessions] == [4, 5, 6]


def test_r3_continuation_replacement_beyond_session_count() -> None:
    # R9: a replacement is number n+1, planned by R3 from the last active session.
    course = plan(calendar(), first_number=7, count=1, previous_start_at=PREVIOUS_AT)

    assert [(s.number, *diary(course)[0]) for s in course.sessions] == [(7, day(14), "10:00")]


@pytest.mark.parametrize(
    ("case", "start_date", "expected", "warnings"),
    [
        ("start before the window: no effect", day(3), (day(14), "10:00"), ()),
        # t (Mon 16 Feb) and t+1 are before the start date, t-1/t-2 a weekend: t+2.
        ("start inside the window", day(16), (day(16), "10:00"), ()),
        ("start after the window: R6 days from it", day(19), (day(21), "10:00"), (OUTSIDE_WINDOW,)),
    ],
)
def test_r3_continuation_never_plans_before_start_date(
    case: str, start_date: date, expected: tuple[date, str], warnings: tuple[str, ...]
) -> None:
    course = plan(calendar(), start_date=start_date, first_number=3, count=1, previous_start_at=PREVIOUS_AT)

    assert diary(course) == [expected], case
    assert course.sessions[0].warnings == warnings


def test_r3_continuation_count_zero_plans_nothing() -> None:
    assert plan(calendar(), count=0).sessions == ()
    assert plan(calendar(), count=0, previous_start_at=PREVIOUS_AT).sessions == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [("now", datetime(2026, 1, 1)), ("previous_start_at", datetime(2026, 2, 2, 10))],  # noqa: DTZ001
)
def test_r1_naive_datetimes_are_rejected(field: str, value: datetime) -> None:
    arguments: dict[str, object] = {"now": NOW, "previous_start_at": PREVIOUS_AT, field: value}

    with pytest.raises(ValueError, match="aware"):
        plan_course(calendar(), protocol(), start_date=MON, preferred_time=None, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: HoursInterval(7, t("08:00"), t("09:00")), "weekday"),
        (lambda: HoursInterval(0, t("09:00"), t("09:00")), "end after"),
        (lambda: DateRange(day(1), MON), "ends before"),
        (lambda: Busy(at(MON, "10:00"), at(MON, "09:00")), "end after"),
        (lambda: Busy(datetime(2026, 2, 2, 9), at(MON, "10:00")), "aware"),  # noqa: DTZ001
        (lambda: protocol(session_count=13), "session_count"),
        (lambda: calendar(slot_minutes=0), "slot_minutes"),
        (lambda: plan(calendar(), first_session_search_days=0), "first_session_search_days"),
        (lambda: plan(calendar(), preferred_time=None, count=-1), "count"),
    ],
)
def test_invalid_values_are_rejected_as_caller_bugs(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
