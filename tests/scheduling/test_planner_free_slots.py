"""free_slots: every free grid slot, by the same rules as the planner (R1, R2, R5)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scheduling import Calendar, free_slots
from tests.scheduling.planner_builders import (
    MON,
    NEW_YORK,
    NOW,
    at,
    busy,
    calendar,
    closed,
    day,
    hours,
)

ALL_WEEK = range(7)


def starts(cal: Calendar, first: date, last: date, minutes: int, now: datetime = NOW) -> list[str]:
    found = free_slots(cal, from_date=first, to_date=last, duration_minutes=minutes, now=now)
    assert all(s.end_at - s.start_at == (found[0].end_at - found[0].start_at) for s in found)
    return [s.start_at.astimezone(cal.zone).strftime("%a %H:%M") for s in found]


def test_r2_free_slots_lie_on_the_grid_and_fit_the_window() -> None:
    cal = calendar(opening=hours("08:00-10:00"), slot_minutes=30)

    assert starts(cal, MON, MON, 45) == ["Mon 08:00", "Mon 08:30", "Mon 09:00"]


def test_r5_free_slots_leave_out_busy_time_and_closed_days() -> None:
    cal = calendar(
        opening=hours("08:00-10:00"),
        slot_minutes=30,
        practitioner_busy=[busy(MON, "08:30-08:45")],
        time_off=[busy(day(1), "09:00-12:00")],
        closures=[closed(day(2))],
    )

    assert starts(cal, MON, day(2), 45) == ["Mon 09:00", "Tue 08:00"]


def test_r5_free_slots_cover_to_date_inclusive_in_order() -> None:
    cal = calendar(opening=hours("08:00-09:00"), slot_minutes=30)

    assert starts(cal, day(4), day(7), 30) == ["Fri 08:00", "Fri 08:30", "Mon 08:00", "Mon 08:30"]


def test_r5_free_slots_never_start_before_now() -> None:
    cal = calendar(opening=hours("08:00-10:00"), slot_minutes=30)

    assert starts(cal, MON, MON, 30, now=at(MON, "08:31")) == ["Mon 09:00", "Mon 09:30"]


def test_r1_free_slots_skip_the_spring_forward_gap() -> None:
    sunday = date(2027, 3, 14)
    cal = calendar(NEW_YORK, opening=hours("01:00-04:00", days=ALL_WEEK), slot_minutes=30)

    found = free_slots(cal, from_date=sunday, to_date=sunday, duration_minutes=30, now=NOW)

    assert [s.start_at for s in found] == [
        datetime(2027, 3, 14, hour, minute, tzinfo=UTC)
        for hour, minute in [(6, 0), (6, 30), (7, 0), (7, 30)]  # 01:00, 01:30 EST; 03:00, 03:30 EDT
    ]


def test_r1_free_slots_on_the_fall_back_night() -> None:
    sunday = date(2027, 11, 7)
    cal = calendar(NEW_YORK, opening=hours("00:00-03:00", days=ALL_WEEK), slot_minutes=60)

    found = free_slots(cal, from_date=sunday, to_date=sunday, duration_minutes=60, now=NOW)

    # 00:00 EDT, 01:00 EDT (the first 01:00), 02:00 EST; the window ends 03:00 EST.
    assert [s.start_at.hour for s in found] == [4, 5, 7]
    assert found[-1].end_at == datetime(2027, 11, 7, 8, 0, tzinfo=UTC)


def test_r1_free_slots_on_a_regular_day_are_utc() -> None:
    cal = calendar(opening=hours("08:00-09:00"), slot_minutes=60)

    (slot,) = free_slots(cal, from_date=MON, to_date=MON, duration_minutes=60, now=NOW)

    assert slot.start_at == datetime(2026, 2, 2, 7, 0, tzinfo=UTC)
    assert slot.start_at.tzinfo is UTC
