"""R3/R6: which sessions lie outside their interval window, and which came into it or left it after a change.

The course: six sessions every other Monday at 09:00 from Monday 1 March 2027 (1, 15, 29 March,
12, 26 April, 10 May), Europe/Berlin; interval 14 ± 3, at least 7 days (R4). Session 3's window
after session 2 on 15 March is 26 March .. 1 April.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from scheduling.lifecycle import SessionStatus
from scheduling.reflow import CourseSession
from scheduling.windows import in_window, outside_window, predecessor, window_changes
from tests.scheduling.planner_builders import BERLIN, PROTOCOL, at

MONDAYS = [date(2027, 3, 1), date(2027, 3, 15), date(2027, 3, 29), date(2027, 4, 12), date(2027, 4, 26)]
FRIDAY_2_APRIL = date(2027, 4, 2)  # after session 3's window (R6: the week after it)
CANCELLED, NO_SHOW, COMPLETED = SessionStatus.cancelled, SessionStatus.no_show, SessionStatus.completed


def course(*days: date, statuses: dict[int, SessionStatus] | None = None) -> list[CourseSession]:
    """Sessions 1.. on these days at 09:00, scheduled unless told otherwise."""
    statuses = statuses or {}
    starts = [at(day, "09:00") for day in days]
    return [
        CourseSession(n, s, s + timedelta(minutes=45), statuses.get(n, SessionStatus.scheduled))
        for n, s in enumerate(starts, start=1)
    ]


def outside(sessions: Sequence[CourseSession]) -> frozenset[int]:
    return outside_window(PROTOCOL, BERLIN, sessions)


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (date(2027, 3, 29), True),  # the target
        (date(2027, 3, 26), True),  # target - 3
        (date(2027, 4, 1), True),  # target + 3
        (date(2027, 3, 25), False),  # one day early
        (date(2027, 4, 2), False),  # one day late: R6's week after the window
    ],
)
def test_r3_the_window_is_target_plus_or_minus_tolerance(day: date, inside: bool) -> None:
    assert in_window(PROTOCOL, date(2027, 3, 15), day) is inside


def test_r4_a_day_inside_the_tolerance_but_within_the_minimum_interval_is_outside() -> None:
    wide = dataclasses.replace(PROTOCOL, interval_tolerance_days=10)
    assert not in_window(wide, date(2027, 3, 15), date(2027, 3, 21))  # 6 days: R4 breaks first
    assert in_window(wide, date(2027, 3, 15), date(2027, 3, 22))


def test_r8_the_predecessor_is_the_nearest_earlier_injection() -> None:
    sessions = course(*MONDAYS, statuses={1: COMPLETED, 2: CANCELLED, 3: NO_SHOW})
    assert predecessor(sessions, 4) is sessions[0]  # cancelled and missed sessions were no injection
    assert predecessor(sessions, 2) is sessions[0]
    assert predecessor(sessions, 1) is None  # session 1 has no window


def test_r6_a_session_booked_after_its_window_is_outside_and_the_others_are_not() -> None:
    sessions = course(MONDAYS[0], MONDAYS[1], FRIDAY_2_APRIL)
    assert outside(sessions) == {3}
    assert outside(course(*MONDAYS)) == set()


def test_only_active_sessions_are_judged() -> None:
    sessions = course(MONDAYS[0], MONDAYS[1], FRIDAY_2_APRIL, statuses={3: COMPLETED})
    assert outside(sessions) == set()  # it took place: nothing left to warn about


def changes(before: Sequence[CourseSession], after: Sequence[CourseSession]) -> tuple[set[int], set[int]]:
    """The sessions whose warning must say `outside_window` after the change, and those that must not."""
    said = window_changes(PROTOCOL, BERLIN, before, after)
    return {n for n, out in said.items() if out}, {n for n, out in said.items() if not out}


def test_predecessor_moved_later_brings_the_session_into_its_window() -> None:
    # The defect: session 3 booked on 2 April (R6), then session 2 moves to Wednesday 17 March;
    # session 3's window is 28 March .. 4 April now, and it has not moved.
    before = course(MONDAYS[0], MONDAYS[1], FRIDAY_2_APRIL)
    after = course(MONDAYS[0], date(2027, 3, 17), FRIDAY_2_APRIL)
    assert changes(before, after) == (set(), {1, 3})  # session 1 has no window: nothing to warn about
    assert changes(after, before) == ({3}, {1})  # and back out


def test_a_cancelled_or_missed_predecessor_leaves_the_next_session_outside_its_window() -> None:
    # Session 3 now counts from session 1 (1 March): its window is 12 .. 18 March. Session 2 is no longer
    # active: nothing is said about it; sessions 4 and 5 still count from the sessions before them.
    before = course(*MONDAYS)
    for status in (CANCELLED, NO_SHOW):
        after = course(*MONDAYS, statuses={2: status})
        assert changes(before, after) == ({3}, {1, 4, 5})


def test_a_session_that_moved_is_left_to_its_move() -> None:
    before = course(MONDAYS[0], MONDAYS[1], FRIDAY_2_APRIL)
    after = course(MONDAYS[0], date(2027, 3, 17), date(2027, 4, 9))  # both moved: the move gave their warnings
    assert changes(before, after) == (set(), {1})


def test_a_stale_warning_is_cleared_by_the_next_change_to_the_course() -> None:
    # Session 3 is inside its window (it carries a warning from before this rule was kept): any change that
    # leaves it where it is says it must not carry one.
    sessions = course(*MONDAYS)
    assert changes(sessions, course(*MONDAYS, statuses={1: COMPLETED})) == (set(), {2, 3, 4, 5})


def test_a_session_outside_its_window_that_no_change_put_there_keeps_what_it_says() -> None:
    # Resumed after a hold: session 3 was planned from the resume date (R2), long after session 1.
    # Outside by the rule, but no change put it there: it is not flagged for the gap a hold made.
    before = course(MONDAYS[0], MONDAYS[1], date(2027, 6, 7), statuses={1: COMPLETED, 2: CANCELLED})
    after = course(MONDAYS[0], MONDAYS[1], date(2027, 6, 7), statuses={1: COMPLETED, 2: CANCELLED})
    assert changes(before, after) == (set(), set())
    # nor is a session added since (a replacement, a resumed one): the planner gave its warning
    assert changes(before[:2], after) == (set(), set())


def test_same_day_moves_change_no_window() -> None:
    before = course(MONDAYS[0], MONDAYS[1], FRIDAY_2_APRIL)
    after = [*before]
    after[1] = dataclasses.replace(before[1], start_at=at(MONDAYS[1], "15:00"), end_at=at(MONDAYS[1], "15:45"))
    assert changes(before, after) == (set(), {1})  # session 3 stays outside, as booked (R6)
