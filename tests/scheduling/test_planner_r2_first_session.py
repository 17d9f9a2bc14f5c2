"""R2: session 1 goes to the first free slot on or after start_date."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduling import Busy, DateRange, NoSlotAvailable
from tests.scheduling.planner_builders import (
    MON,
    NOW,
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

ONE = protocol(session_count=1)  # session_minutes=45, slot_minutes=15


@pytest.mark.parametrize(
    ("case", "start_date", "preferred", "booked", "closures", "now", "expected"),
    [
        ("preferred time free", MON, "10:00", [], [], NOW, (MON, "10:00")),
        # 09:15 and 10:45 are both 45 minutes away: the earlier wins.
        ("preferred taken, tie", MON, "10:00", ["10:00-10:45"], [], NOW, (MON, "09:15")),
        ("preferred taken, later nearer", MON, "10:00", ["09:30-10:30"], [], NOW, (MON, "10:30")),
        ("preferred off the grid", MON, "10:07", [], [], NOW, (MON, "10:00")),
        ("preferred after hours", MON, "18:30", [], [], NOW, (MON, "16:15")),
        ("whole day full", MON, "10:00", ["08:00-17:00"], [], NOW, (day(1), "10:00")),
        ("no preferred: earliest", MON, None, [], [], NOW, (MON, "08:00")),
        ("no preferred, 08:00 taken", MON, None, ["08:00-08:30"], [], NOW, (MON, "08:30")),
        ("start on a Saturday", day(5), "10:00", [], [], NOW, (day(7), "10:00")),
        ("start on a closure", MON, "10:00", [], [closed(MON, day(1))], NOW, (day(2), "10:00")),
        ("never before now", MON, "10:00", [], [], at(MON, "11:05"), (MON, "11:15")),
        ("now on a grid time", MON, None, [], [], at(MON, "11:00"), (MON, "11:00")),
        ("now after hours", MON, "09:00", [], [], at(MON, "16:30"), (day(1), "09:00")),
        ("start_date in the past", day(-30), None, [], [], at(MON, "12:00"), (MON, "12:00")),
    ],
)
def test_r2_first_session_slot(
    case: str,
    start_date: date,
    preferred: str | None,
    booked: list[str],
    closures: list[DateRange],
    now: datetime,
    expected: tuple[date, str],
) -> None:
    cal = calendar(practitioner_busy=[busy(MON, span) for span in booked], closures=closures)

    course = plan(cal, ONE, start_date=start_date, preferred_time=preferred, now=now)

    assert diary(course) == [expected], case


def test_r2_grid_counts_from_the_start_of_each_opening_interval() -> None:
    # Opening 08:10-12:00 with 30-minute slots: 08:10, 08:40, 09:10, …
    cal = calendar(opening=hours("08:10-12:00"), working=hours("08:00-17:00"), slot_minutes=30)

    assert diary(plan(cal, ONE)) == [(MON, "08:10")]
    assert diary(plan(cal, ONE, preferred_time="09:00")) == [(MON, "09:10")]


def test_r2_grid_follows_opening_hours_not_working_hours() -> None:
    # The practitioner starts at 08:20, but the clinic's grid is 08:00, 08:30, …
    cal = calendar(opening=hours("08:00-17:00"), working=hours("08:20-17:00"), slot_minutes=30)

    assert diary(plan(cal, ONE)) == [(MON, "08:30")]


def test_r2_gives_up_after_the_search_days() -> None:
    cal = calendar(closures=[closed(MON, day(200))])

    with pytest.raises(NoSlotAvailable) as raised:
        plan(cal, ONE, first_session_search_days=5)

    assert (raised.value.session_number, raised.value.window_start, raised.value.window_end) == (
        1,
        MON,
        day(4),
    )


def test_r2_default_search_covers_90_days() -> None:
    cal = calendar(closures=[closed(MON, day(87))])  # day 88 is Friday 1 May, day 89 the last

    assert diary(plan(cal, ONE)) == [(day(88), "08:00")]
    with pytest.raises(NoSlotAvailable) as raised:
        plan(calendar(closures=[closed(MON, day(89))]), ONE)
    assert raised.value.window_end == day(89)


def test_r2_first_session_of_a_later_number_without_predecessor() -> None:
    course = plan(calendar(), protocol(session_count=6), first_number=5, preferred_time="09:00")

    assert [s.number for s in course.sessions] == [5, 6]
    assert diary(course) == [(MON, "09:00"), (day(14), "09:00")]


def test_r2_busy_spans_need_not_come_sorted() -> None:
    booked = [busy(MON, "10:00-10:45"), busy(MON, "08:00-09:00"), busy(MON, "09:00-10:00")]
    cal = calendar(practitioner_busy=booked)

    assert diary(plan(cal, ONE)) == [(MON, "10:45")]


def test_r2_busy_spans_given_in_another_zone_are_read_as_instants() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    span = busy(MON, "08:00-12:00")
    cal = calendar(practitioner_busy=[Busy(span.start_at.astimezone(tokyo), span.end_at)])

    assert diary(plan(cal, ONE)) == [(MON, "12:00")]
