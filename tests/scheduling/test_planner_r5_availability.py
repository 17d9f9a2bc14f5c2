"""R5: only inside opening ∩ working hours, off closures and time off, clear of the
practitioner's sessions, and never on a day the patient already has a session."""

from __future__ import annotations

from datetime import date

import pytest

from scheduling import Busy, Calendar, HoursInterval
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
    t,
)

ONE = protocol(session_count=1)
LUNCH_BREAK = hours("08:00-12:00", "13:00-17:00")


@pytest.mark.parametrize(
    ("case", "cal", "preferred", "expected"),
    [
        ("closure", calendar(closures=[closed(MON)]), None, (day(1), "08:00")),
        ("time off", calendar(time_off=[busy(MON, "07:00-12:00")]), None, (MON, "12:00")),
        (
            "time off over several days",
            calendar(time_off=[Busy(at(MON, "07:00"), at(day(2), "16:00"))]),
            "12:00",
            (day(2), "16:00"),
        ),
        (
            "back-to-back bookings",
            calendar(practitioner_busy=[busy(MON, "08:00-08:45"), busy(MON, "08:45-09:30")]),
            None,
            (MON, "09:30"),
        ),
        (
            "a booking shorter than a session",
            calendar(practitioner_busy=[busy(MON, "09:00-09:10")]),
            "08:30",
            (MON, "08:15"),
        ),
        (
            "patient has a session that day",
            calendar(patient_busy=[busy(MON, "16:00-16:45")]),
            "09:00",
            (day(1), "09:00"),
        ),
        (
            "patient's session at 00:30 local is still that local day",
            calendar(patient_busy=[busy(MON, "00:30-01:15")]),
            "09:00",
            (day(1), "09:00"),
        ),
        (
            "patient's session over midnight blocks both local days",
            calendar(patient_busy=[Busy(at(day(-1), "23:30"), at(MON, "00:15"))]),
            "09:00",
            (day(1), "09:00"),
        ),
        (
            "patient's session the evening before does not block",
            calendar(patient_busy=[busy(day(-1), "22:00-23:30")]),
            "09:00",
            (MON, "09:00"),
        ),
        (
            "working hours narrower than opening hours",
            calendar(working=hours("10:00-14:00")),
            None,
            (MON, "10:00"),
        ),
        (
            "working hours end before the preferred time",
            calendar(working=hours("10:00-14:00")),
            "15:00",
            (MON, "13:15"),
        ),
        ("lunch break, nearer after", calendar(opening=LUNCH_BREAK), "12:15", (MON, "13:00")),
        ("lunch break, nearer before", calendar(opening=LUNCH_BREAK), "12:00", (MON, "11:15")),
        (
            "practitioner's own lunch break",
            calendar(working=LUNCH_BREAK),
            "11:45",
            (MON, "11:15"),
        ),
        (
            "practitioner off on Mondays",
            calendar(working=hours("08:00-17:00", days=range(1, 5))),
            None,
            (day(1), "08:00"),
        ),
    ],
)
def test_r5_first_session_avoids(case: str, cal: Calendar, preferred: str | None, expected: tuple[date, str]) -> None:
    assert diary(plan(cal, ONE, preferred_time=preferred)) == [expected], case


def test_r5_later_sessions_avoid_busy_days_and_times_too() -> None:
    cal = calendar(
        closures=[closed(day(14))],
        patient_busy=[busy(day(13), "17:30-18:00")],
        practitioner_busy=[busy(day(15), "09:00-10:00")],
    )

    course = plan(cal, protocol(session_count=2), preferred_time="09:00")

    # t closed, t-1 the patient's other session, t+1 taken 09:00-10:00:
    # 08:15 (45 minutes off) is nearer than 10:00 (60 minutes off).
    assert diary(course) == [(MON, "09:00"), (day(15), "08:15")]


def test_r5_session_must_fit_before_the_window_closes() -> None:
    cal = calendar(opening=hours("08:00-09:30"))

    course = plan(cal, protocol(session_count=1, session_minutes=60), preferred_time="09:00")

    assert diary(course) == [(MON, "08:30")]


def test_r5_overlapping_opening_intervals_are_both_used() -> None:
    # Two overlapping intervals with their own grids (08:00 and 08:10, 30-minute slots).
    opening = (
        HoursInterval(0, t("08:00"), t("10:00")),
        HoursInterval(0, t("08:10"), t("10:00")),
    )
    cal = calendar(opening=opening, working=opening, slot_minutes=30)

    assert diary(plan(cal, ONE, preferred_time="08:12")) == [(MON, "08:10")]
