"""R27: the times a patient may move a session to by themselves, and why each is safe to offer.

The property generates courses among other bookings, closures, time off and the patient's
other sessions, with a pre-session NSAID rule, and asks for the alternatives of a random
session. Every alternative, applied, must leave the course valid by R3, R4 and R5 (checked
against the literal oracle), move no more than two other sessions, and start no pre-session
window on or before today.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scheduling import Busy, Calendar, ProtocolValues
from scheduling.aftercare import AVOID_MEDICATION, Rule
from scheduling.alternatives import Alternative, SelfService, alternatives, alternatives_reach, planned_choice
from scheduling.lifecycle import SessionStatus
from scheduling.reflow import CourseSession, Move
from tests.scheduling.course_validity import applied, assert_still_valid, booked_courses
from tests.scheduling.planner_builders import (
    BERLIN,
    NEW_YORK,
    PROTOCOL,
    at,
    busy,
    calendar,
    closed,
    hours,
    plan,
    protocol,
)

NSAIDS_BEFORE = Rule("pre_nsaids", AVOID_MEDICATION, -3, 3, "No NSAIDs before the session", "nsaid")
NSAIDS_AFTER = Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "No NSAIDs", "nsaid")
NOW = datetime(2027, 2, 1, 8, tzinfo=UTC)


def service(
    cal: Calendar,
    protocol: ProtocolValues,
    sessions: list[CourseSession],
    *,
    now: datetime,
    rules: tuple[Rule, ...] = (NSAIDS_AFTER,),
    notice_hours: int = 24,
    max_moves: int = 2,
) -> SelfService:
    return SelfService(
        calendar=cal,
        protocol=protocol,
        sessions=sessions,
        rules=rules,
        anchor_time=sessions[0].start_at.astimezone(cal.zone).time().replace(tzinfo=None),
        notice=timedelta(hours=notice_hours),
        max_moves=max_moves,
        now=now,
        today=now.astimezone(cal.zone).date(),
    )


def booked(cal: Calendar, proto: ProtocolValues = PROTOCOL) -> list[CourseSession]:
    planned = plan(cal, proto, start_date=date(2027, 3, 1), preferred_time="09:00", now=NOW)
    return [CourseSession(s.number, s.start_at, s.end_at, SessionStatus.scheduled) for s in planned.sessions]


def local(alternative: Alternative, zone: ZoneInfo = BERLIN) -> tuple[str, list[tuple[int, str]]]:
    def text(at_: datetime) -> str:
        return at_.astimezone(zone).strftime("%a %d %b %H:%M")

    return text(alternative.session.start_at), [(m.number, text(m.start_at)) for m in alternative.moved]


def test_r27_free_days_first_nearest_the_sessions_time_nothing_moved_first() -> None:
    """Session 3 (Mon 29 Mar 09:00, after Mon 15 Mar): its window is Fri 26 Mar – Thu 1 Apr, target first."""
    cal = calendar()
    course = booked(cal)
    found = alternatives(service(cal, PROTOCOL, course, now=NOW), 3, limit=3)
    # its own day at the nearest other time first (no move), then the days nearest its date (the weekend is
    # closed), earlier first on ties
    assert [local(a) for a in found] == [
        ("Mon 29 Mar 08:45", []),
        ("Tue 30 Mar 09:00", []),
        ("Wed 31 Mar 09:00", []),
    ]


def test_r27_a_day_that_would_push_the_next_session_out_moves_it_and_says_so() -> None:
    """At least 14 days apart (R4): session 2 a day later pushes every later one a day on; with at most two
    moves allowed, only the days that move none or few are offered."""
    strict = protocol(min_interval_days=14)
    cal = calendar()
    course = booked(cal, strict)
    found = alternatives(service(cal, strict, course, now=NOW, max_moves=5), 2, limit=12)
    assert len(found) == 4  # Mon to Thu: Fri 12 Mar is less than 14 days after session 1
    assert [local(a) for a in found[:2]] == [
        ("Mon 15 Mar 08:45", []),
        ("Tue 16 Mar 09:00", [(3, "Tue 30 Mar 09:00"), (4, "Tue 13 Apr 09:00"), (5, "Tue 27 Apr 09:00"),
                              (6, "Tue 11 May 09:00")]),
    ]  # fmt: skip
    assert [local(a) for a in alternatives(service(cal, strict, course, now=NOW), 2, limit=12)] == [
        ("Mon 15 Mar 08:45", [])
    ]


@pytest.mark.parametrize(
    ("sunday", "offered"),
    [
        ("00:00-00:15", []),  # Sun 13 June has no other time: nothing is offered
        ("00:00-00:30", [("Sun 13 Jun 00:05", [])]),  # its own day at another time, session 3 unmoved
    ],
)
def test_r27_a_day_that_leaves_a_later_session_outside_its_window_is_not_offered(
    sunday: str, offered: list[tuple[str, list[tuple[int, str]]]]
) -> None:
    """Every 3 days ± 1, open Thu, Sat and Sun just after midnight (New York): Thu 10, Sun 13, Thu 17 June.
    Session 2 on Sat 12 June would put session 3's window on Mon 14 - Wed 16 June, all closed: re-planned,
    session 3 gets Thu 17 June back by R6, outside its window. It does not move, but that is a warning (R27)."""
    first = hours("00:00-00:15", days=(3, 5))
    cal = calendar(NEW_YORK, opening=first + hours(sunday, days=(6,)), slot_minutes=5)
    every_three = ProtocolValues(
        session_count=3, interval_days=3, interval_tolerance_days=1, min_interval_days=0, session_minutes=15
    )
    planned = plan(cal, every_three, start_date=date(2027, 6, 7), preferred_time="00:00", now=NOW)
    course = [CourseSession(s.number, s.start_at, s.end_at, SessionStatus.scheduled) for s in planned.sessions]
    assert [s.start_at.astimezone(NEW_YORK).strftime("%a %d %b %H:%M") for s in course] == [
        "Thu 10 Jun 00:00",
        "Sun 13 Jun 00:00",
        "Thu 17 Jun 00:00",
    ]
    asked = service(cal, every_three, course, now=course[1].start_at - timedelta(hours=49), notice_hours=0)

    found = alternatives(asked, 2, limit=3)

    assert [local(a, NEW_YORK) for a in found] == offered
    saturday = datetime.combine(date(2027, 6, 12), time(0), NEW_YORK).astimezone(UTC)
    assert planned_choice(asked, 2, Alternative(Move(2, saturday, saturday + timedelta(minutes=15)), ()).choice) is None


def test_r27_inside_the_notice_period_nothing_is_offered_before_it() -> None:
    cal = calendar()
    course = booked(cal)
    now = course[0].start_at - timedelta(hours=30)
    found = alternatives(service(cal, PROTOCOL, course, now=now), 1, limit=12)
    assert found and all(a.session.start_at >= now + timedelta(hours=24) for a in found)


def test_r27_a_pre_session_window_that_would_start_today_rules_the_day_out() -> None:
    """Stop NSAIDs 3 days before: a session four days away may not move to the day after tomorrow."""
    cal = calendar()
    course = booked(cal)
    now = at(course[0].start_at.astimezone(BERLIN).date() - timedelta(days=4), "08:00")
    found = alternatives(service(cal, PROTOCOL, course, now=now, rules=(NSAIDS_BEFORE,), notice_hours=0), 1, limit=12)
    today = now.astimezone(BERLIN).date()
    assert found
    assert all(a.session.start_at.astimezone(BERLIN).date() - timedelta(days=3) > today for a in found)


def test_r27_closures_busy_days_and_time_off_are_never_offered() -> None:
    monday = date(2027, 3, 29)
    cal = calendar(
        closures=(closed(monday + timedelta(days=1)),),
        time_off=(busy(monday - timedelta(days=3), "08:00-17:00"),),
        patient_busy=(busy(monday + timedelta(days=2), "12:00-12:45"),),
    )
    course = booked(cal)
    days = {
        a.session.start_at.astimezone(BERLIN).date()
        for a in alternatives(service(cal, PROTOCOL, course, now=NOW), 3, limit=12)
    }
    assert not days & {monday + timedelta(days=1), monday - timedelta(days=3), monday + timedelta(days=2)}


def test_r27_a_choice_is_applied_only_if_planning_it_again_gives_the_same() -> None:
    cal = calendar()
    course = booked(cal)
    offered = alternatives(service(cal, PROTOCOL, course, now=NOW), 3, limit=3)
    choice = offered[1].choice
    assert planned_choice(service(cal, PROTOCOL, course, now=NOW), 3, choice) == offered[1]
    taken = dataclasses.replace(
        cal, practitioner_busy=(*cal.practitioner_busy, Busy(offered[1].session.start_at, offered[1].session.end_at))
    )
    assert planned_choice(service(taken, PROTOCOL, course, now=NOW), 3, choice) is None
    assert planned_choice(service(cal, PROTOCOL, course, now=NOW), 3, "not-a-choice") is None
    assert planned_choice(service(cal, PROTOCOL, course, now=NOW), 3, f"{choice.split('-')[0]}-{'0' * 16}") is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_r27_every_alternative_applied_keeps_the_course_valid(data: st.DataObject) -> None:
    booked = data.draw(booked_courses())
    if booked is None:
        return
    cal, protocol, course, k, rules = booked.calendar, booked.protocol, booked.course, booked.number, booked.rules
    zone, before_days, booked_at = cal.zone, booked.before_days, booked.booked_at
    now = course[k - 1].start_at - timedelta(hours=data.draw(st.integers(1, 24 * 10), label="hours before"))
    now = max(now, booked_at)
    span = alternatives_reach(protocol, zone, course, k)
    limited = dataclasses.replace(cal, span=span)  # the planner may look only where the reach says
    asked = service(limited, protocol, course, now=now, rules=rules, notice_hours=data.draw(st.sampled_from([0, 24])))
    found = alternatives(asked, k, limit=3)
    event(f"{len(found)} alternatives")
    today = now.astimezone(zone).date()
    for alternative in found:
        after = applied(course, (alternative.session, *alternative.moved))
        changed = assert_still_valid(cal, protocol, course, after, now=now, pre_session_days=before_days, today=today)
        assert k in changed and len(changed - {k}) <= 2
        assert alternative.session.start_at >= asked.now + asked.notice
        assert planned_choice(asked, k, alternative.choice) == alternative  # planned again: the same


def test_r27_session_one_uses_its_own_date_plus_minus_tolerance() -> None:
    cal = calendar(opening=hours("08:00-17:00"))
    course = booked(cal)
    found = alternatives(service(cal, PROTOCOL, course, now=NOW), 1, limit=12)
    first = course[0].start_at.astimezone(BERLIN).date()
    assert sorted(a.session.start_at.astimezone(BERLIN).date() - first for a in found) == [
        timedelta(days=n)
        for n in (-3, 0, 1, 2, 3)  # Sat 27 and Sun 28 Feb are closed
    ]
