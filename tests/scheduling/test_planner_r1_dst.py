"""R1: planned in the clinic's local wall-clock time, stored as UTC, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.scheduling.planner_builders import (
    BERLIN,
    NEW_YORK,
    at,
    calendar,
    diary,
    hours,
    plan,
    protocol,
)

ALL_WEEK = range(7)


def offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    """The zone's UTC offset at an instant."""
    found = instant.astimezone(zone).utcoffset()
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("zone", "start_date", "changes"),
    [
        # 12 sessions every 28 days from Monday 1 Feb 2027: Mar 14 and Nov 7 fall inside.
        (NEW_YORK, date(2027, 2, 1), (date(2027, 3, 14), date(2027, 11, 7))),
        (BERLIN, date(2026, 2, 2), (date(2026, 3, 29), date(2026, 10, 25))),
    ],
)
def test_r1_course_across_both_dst_changes_stays_at_0900_local(
    zone: ZoneInfo, start_date: date, changes: tuple[date, date]
) -> None:
    course = plan(
        calendar(zone),
        protocol(session_count=12, interval_days=28),
        start_date=start_date,
        preferred_time="09:00",
    )

    assert [wall for _, wall in diary(course, zone)] == ["09:00"] * 12
    assert [d for d, _ in diary(course, zone)] == [start_date + timedelta(days=28 * k) for k in range(12)]
    offsets = [offset(s.start_at, zone) for s in course.sessions]
    spring, autumn = changes
    for session, session_offset in zip(course.sessions, offsets, strict=True):
        summer = spring <= session.start_at.date() < autumn
        assert session_offset == (max(offsets) if summer else min(offsets))
    assert max(offsets) - min(offsets) == timedelta(hours=1)
    assert all(s.start_at.tzinfo is UTC for s in course.sessions)


def test_r1_new_york_sessions_move_in_utc_across_the_2027_changes() -> None:
    course = plan(
        calendar(NEW_YORK),
        protocol(session_count=12, interval_days=28),
        start_date=date(2027, 2, 1),
        preferred_time="09:00",
    )

    utc_hours = [s.start_at.hour for s in course.sessions]
    # EST (UTC-5) until Mar 14, EDT (UTC-4) until Nov 7, EST again after.
    assert utc_hours == [14, 14] + [13] * 8 + [14, 14]


def test_r1_spring_forward_gap_slot_is_never_produced() -> None:
    # Sunday 14 March 2027 in New York: 02:00-03:00 does not exist.
    sunday = date(2027, 3, 14)
    cal = calendar(NEW_YORK, opening=hours("01:00-05:00", days=ALL_WEEK), slot_minutes=30)
    course = plan(
        cal,
        protocol(session_count=1, session_minutes=30),
        start_date=sunday,
        preferred_time="02:30",
    )

    (session,) = course.sessions
    # Nearest existing grid time to 02:30 is 03:00 EDT (01:30 EST is an hour away).
    assert diary(course, NEW_YORK) == [(sunday, "03:00")]
    assert session.start_at == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)


def test_r1_fall_back_ambiguous_time_takes_the_first_occurrence() -> None:
    # Sunday 7 November 2027 in New York: 01:00-02:00 happens twice.
    sunday = date(2027, 11, 7)
    cal = calendar(NEW_YORK, opening=hours("00:00-04:00", days=ALL_WEEK), slot_minutes=60)
    course = plan(
        cal,
        protocol(session_count=1, session_minutes=60),
        start_date=sunday,
        preferred_time="01:00",
    )

    (session,) = course.sessions
    assert session.start_at == datetime(2027, 11, 7, 5, 0, tzinfo=UTC)  # 01:00 EDT
    # The end is the start plus 60 real minutes: 01:00 again on the wall, now EST.
    assert session.end_at == datetime(2027, 11, 7, 6, 0, tzinfo=UTC)


def test_r1_session_end_is_start_plus_length_in_real_time_on_a_short_night() -> None:
    # A session from 01:30 to "02:30" on spring-forward night ends at 03:30 EDT, one
    # real hour later; the clinic's window of 01:00-04:00 holds it.
    sunday = date(2027, 3, 14)
    cal = calendar(NEW_YORK, opening=hours("01:00-04:00", days=ALL_WEEK), slot_minutes=30)
    course = plan(
        cal,
        protocol(session_count=1, session_minutes=60),
        start_date=sunday,
        preferred_time="01:30",
    )

    (session,) = course.sessions
    assert session.start_at == at(sunday, "01:30", NEW_YORK)
    assert session.end_at - session.start_at == timedelta(hours=1)
    assert session.end_at.astimezone(NEW_YORK).strftime("%H:%M") == "03:30"


def test_r1_lord_howe_half_hour_dst_change_keeps_local_time() -> None:
    # Australia/Lord_Howe moves its clocks by 30 minutes (back on 4 April 2027).
    zone = ZoneInfo("Australia/Lord_Howe")
    course = plan(
        calendar(zone),
        protocol(session_count=3),
        start_date=date(2027, 3, 22),
        preferred_time="09:00",
    )

    assert [wall for _, wall in diary(course, zone)] == ["09:00"] * 3
    offsets = {offset(s.start_at, zone) for s in course.sessions}
    assert offsets == {timedelta(hours=11), timedelta(hours=10, minutes=30)}
