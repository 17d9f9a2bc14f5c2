"""R6: past the tolerance window, the 7 days after it with a warning; else an error."""

from __future__ import annotations

import pickle

import pytest

from scheduling import OUTSIDE_WINDOW, NoSlotAvailable, SchedulingError
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
# interval 14 ± 3: the window for session 2 is day 11 .. day 17.


@pytest.mark.parametrize(
    ("case", "last_closed", "expected_day"),
    [
        ("window closed: first day after it", 17, 18),
        ("window and 2 more closed: earliest open day after", 19, 20),
        ("window and 6 more closed: the last day R6 looks at", 23, 24),
    ],
)
def test_r6_blocked_window_goes_to_the_week_after_with_a_warning(
    case: str, last_closed: int, expected_day: int
) -> None:
    cal = calendar(opening=EVERY_DAY, closures=[closed(day(11), day(last_closed))])

    course = plan(cal, protocol(session_count=3), preferred_time="09:00")

    first, second, third = course.sessions
    assert diary(course)[1] == (day(expected_day), "09:00"), case
    assert (first.warnings, second.warnings, third.warnings) == ((), (OUTSIDE_WINDOW,), ())
    # R3 goes on from where session 2 really is.
    assert diary(course)[2] == (day(expected_day + 14), "09:00")


def test_r6_blocked_window_by_bookings_also_counts() -> None:
    full_days = [busy(day(d), "08:00-17:00") for d in range(11, 18)]
    cal = calendar(opening=EVERY_DAY, practitioner_busy=full_days)

    course = plan(cal, protocol(session_count=2), preferred_time="09:00")

    assert diary(course)[1] == (day(18), "09:00")
    assert course.sessions[1].warnings == (OUTSIDE_WINDOW,)


def test_r6_everything_blocked_raises_with_the_tolerance_window() -> None:
    cal = calendar(opening=EVERY_DAY, closures=[closed(day(11), day(24))])

    with pytest.raises(NoSlotAvailable) as raised:
        plan(cal, protocol(session_count=3), preferred_time="09:00")

    error = raised.value
    assert (error.session_number, error.window_start, error.window_end) == (2, day(11), day(17))
    assert isinstance(error, SchedulingError)
    assert str(error) == "no free slot for session 2 between 2026-02-13 and 2026-02-19"


def test_r6_error_names_the_right_session_late_in_the_course() -> None:
    # Sessions 1-3 fit; session 4 (target day 42) finds nothing.
    cal = calendar(opening=EVERY_DAY, closures=[closed(day(39), day(60))])

    with pytest.raises(NoSlotAvailable) as raised:
        plan(cal, protocol(session_count=6))

    assert (raised.value.session_number, raised.value.window_start) == (4, day(39))
    assert raised.value.window_end == day(45)


def test_r6_error_carries_its_data_through_pickle() -> None:
    error = NoSlotAvailable(3, MON, day(6))

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.session_number, copy.window_start, copy.window_end) == (3, MON, day(6))
