"""R39–R45: when a waiting entry closes, what a dispatch pass does with an opening, which entries fit
an opening (the real R8 dry run with reflow and the checks on top of it), and in which order.

The property generates courses among other bookings, closures, time off and the patient's other
sessions, with a pre-session NSAID rule, a waiting entry and an opening somewhere free: whenever the
entry fits, the move the offer would make leaves the course valid by R3, R4 and R5, moves no session
later and starts no pre-session window on or before the day of the offer.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scheduling import Busy, Calendar, ProtocolValues, ReschedulePlan, reschedule_reach
from scheduling.aftercare import AVOID_MEDICATION, Rule
from scheduling.alternatives import window_days
from scheduling.lifecycle import CourseStatus, SessionStatus
from scheduling.reflow import CourseSession
from scheduling.waitlist import (
    CloseReason,
    Entry,
    Opening,
    OpeningStatus,
    Priority,
    Reach,
    Step,
    Unfit,
    WaitlistSettings,
    entry_closing,
    fit,
    hold_until,
    next_batch,
    opening_step,
    ranked,
)
from tests.scheduling.course_validity import NSAIDS_AFTER, applied, assert_still_valid, booked_courses
from tests.scheduling.planner_builders import BERLIN, PROTOCOL, at, busy, calendar, closed, hours, plan, t
from tests.scheduling.planner_oracle import free_starts

NOW = datetime(2027, 3, 16, 8, tzinfo=UTC)  # Tue 16 Mar 2027, 09:00 in Berlin
NSAIDS_BEFORE = Rule("pre_nsaids", AVOID_MEDICATION, -3, 3, "No NSAIDs before the session", "nsaid")
REACHED = Reach(reachable=True, open_offers=0, offers_last_7_days=0, offers_last_30_days=0)
SETTINGS = WaitlistSettings()
SESSION_DAY = date(2027, 3, 29)


def booked(cal: Calendar, proto: ProtocolValues = PROTOCOL) -> list[CourseSession]:
    """Six sessions from Mon 1 Mar 2027 at 09:00: 1, 15, 29 Mar, 12, 26 Apr, 10 May."""
    planned = plan(cal, proto, start_date=date(2027, 3, 1), preferred_time="09:00", now=NOW - timedelta(days=30))
    return [CourseSession(s.number, s.start_at, s.end_at, SessionStatus.scheduled) for s in planned.sessions]


def entry(cal: Calendar | None = None, number: int = 3, **changes: object) -> Entry:
    cal = calendar() if cal is None else cal
    sessions = changes.pop("sessions", None) or booked(cal)
    made = Entry(
        id="e1",
        sequence=1,
        priority=Priority.normal,
        practitioner_id="p1",
        number=number,
        earliest_date=None,
        availability=(),
        calendar=cal,
        protocol=PROTOCOL,
        sessions=sessions,  # type: ignore[arg-type]
        rules=(NSAIDS_AFTER,),
        anchor_time=t("09:00"),
        reach=REACHED,
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def opening(on: date, span: str = "09:00-09:45", practitioner_id: str = "p1") -> Opening:
    a, b = span.split("-")
    return Opening(practitioner_id, at(on, a), at(on, b))


def local(plan_: ReschedulePlan) -> list[tuple[int, str]]:
    return [(m.number, m.start_at.astimezone(BERLIN).strftime("%a %d %b %H:%M")) for m in (plan_.session, *plan_.moved)]


# R39 ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session_status", "course_status", "expires_on", "today", "reason"),
    [
        (SessionStatus.scheduled, CourseStatus.active, None, date(2027, 3, 28), None),
        (SessionStatus.confirmed, CourseStatus.planned, date(2027, 3, 20), date(2027, 3, 19), None),
        (SessionStatus.scheduled, CourseStatus.active, None, SESSION_DAY, CloseReason.session_day),
        (SessionStatus.scheduled, CourseStatus.active, date(2027, 3, 20), date(2027, 3, 20), CloseReason.expired),
        (SessionStatus.cancelled, CourseStatus.active, None, date(2027, 3, 20), CloseReason.session_cancelled),
        (SessionStatus.scheduled, CourseStatus.on_hold, None, date(2027, 3, 20), CloseReason.course_on_hold),
        (SessionStatus.cancelled, CourseStatus.cancelled, None, date(2027, 3, 20), CloseReason.course_cancelled),
    ],
)
def test_r39_an_entry_closes_by_itself(
    session_status: SessionStatus,
    course_status: CourseStatus,
    expires_on: date | None,
    today: date,
    reason: CloseReason | None,
) -> None:
    found = entry_closing(
        session_status=session_status,
        session_date=SESSION_DAY,
        course_status=course_status,
        expires_on=expires_on,
        today=today,
    )
    assert found == reason


# R40, R45 -------------------------------------------------------------------------------------------------------

START = datetime(2027, 3, 20, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "now", "hold", "free", "step"),
    [
        (OpeningStatus.settling, START - timedelta(days=1, minutes=5), None, True, Step.wait),  # settles 10 min
        (OpeningStatus.settling, START - timedelta(days=1), None, True, Step.offer),
        (OpeningStatus.settling, START - timedelta(days=1, minutes=5), None, False, Step.lapse),  # taken meanwhile
        (OpeningStatus.offering, START - timedelta(minutes=179), None, True, Step.lapse),  # too near
        (OpeningStatus.offering, START - timedelta(minutes=180), None, True, Step.offer),
        (OpeningStatus.offering, START - timedelta(hours=5), START - timedelta(hours=4), True, Step.wait),  # held
        (OpeningStatus.offering, START - timedelta(hours=4), START - timedelta(hours=4), True, Step.offer),  # next
        (OpeningStatus.filled, START - timedelta(days=2), None, False, Step.wait),
        (OpeningStatus.withdrawn, START - timedelta(days=2), None, True, Step.wait),
    ],
)
def test_r40_settle_hold_next_batch_and_lapse(
    status: OpeningStatus, now: datetime, hold: datetime | None, free: bool, step: Step
) -> None:
    eligible_at = START - timedelta(days=1)  # freed ten minutes before that
    found = opening_step(
        status=status,
        start_at=START,
        eligible_at=eligible_at,
        hold_until=hold,
        span_free=free,
        now=now,
        min_lead=SETTINGS.min_lead,
    )
    assert found is step


def test_r43_the_hold_lasts_until_the_batchs_latest_expiry() -> None:
    assert hold_until([START, START + timedelta(minutes=3), START - timedelta(minutes=1)]) == START + timedelta(
        minutes=3
    )
    assert hold_until([]) is None


# R41 ------------------------------------------------------------------------------------------------------------


def test_r41_a_freed_friday_fits_session_three_and_moves_nothing_else() -> None:
    """Session 3 is on Mon 29 Mar; Fri 26 Mar is inside its R3 window (15 Mar + 14 ± 3), so nothing reflows."""
    found = fit(entry(), opening(date(2027, 3, 26)), SETTINGS, now=NOW)
    assert isinstance(found, ReschedulePlan)
    assert local(found) == [(3, "Fri 26 Mar 09:00")]


def test_r41_an_earlier_session_pulls_the_next_ones_with_it_but_never_later() -> None:
    """Session 1 from Mon 1 Mar to Thu 25 Feb: each later one leaves its R3 window (14 ± 3 after the one before)
    and is pulled to the new target, four days earlier."""
    found = fit(entry(number=1), opening(date(2027, 2, 25)), SETTINGS, now=datetime(2027, 2, 20, 12, tzinfo=UTC))
    assert isinstance(found, ReschedulePlan)
    assert local(found) == [
        (1, "Thu 25 Feb 09:00"),
        (2, "Thu 11 Mar 09:00"),
        (3, "Thu 25 Mar 09:00"),
        (4, "Thu 08 Apr 09:00"),
        (5, "Thu 22 Apr 09:00"),
        (6, "Thu 06 May 09:00"),
    ]


def test_r41_a_reflow_that_would_move_a_session_later_is_not_offered() -> None:
    """Session 4 sits on Mon 5 Apr, a week after session 3 (allowed by R4, outside R3): moving 3 to Fri 26 Mar
    changes its day, so 4 is re-planned into 26 Mar + 14 ± 3 — later than it is now."""
    cal = calendar()
    sessions = booked(cal)
    early = sessions[3].start_at - timedelta(days=7)
    sessions[3] = dataclasses.replace(sessions[3], start_at=early, end_at=early + timedelta(minutes=45))
    assert fit(entry(cal, sessions=sessions), opening(date(2027, 3, 26)), SETTINGS, now=NOW) is Unfit.moves_later


@pytest.mark.parametrize(
    ("changes", "made", "now", "unfit"),
    [
        ({}, opening(date(2027, 3, 26), practitioner_id="p2"), NOW, Unfit.other_practitioner),
        ({}, opening(date(2027, 3, 26), "09:00-09:30"), NOW, Unfit.too_short),
        ({"earliest_date": date(2027, 3, 27)}, opening(date(2027, 3, 26)), NOW, Unfit.before_earliest_date),
        ({"availability": hours("13:00-17:00")}, opening(date(2027, 3, 26)), NOW, Unfit.outside_availability),
        ({"availability": hours("08:00-12:00", days=[0, 1])}, opening(date(2027, 3, 26)), NOW,
         Unfit.outside_availability),  # Friday is not one of the patient's days
        ({}, opening(date(2027, 3, 26)), at(date(2027, 3, 26), "06:01"), Unfit.too_near),
        ({}, opening(date(2027, 3, 29), "08:00-08:45"), NOW, Unfit.too_little_gain),  # the same day
        ({}, opening(date(2027, 3, 22)), NOW, Unfit.warns),  # 7 days after session 2: R4 holds, R3 does not
        ({}, opening(date(2027, 3, 19)), NOW, Unfit.not_plannable),  # 4 days after session 2: R4
        ({}, opening(date(2027, 3, 27)), NOW, Unfit.not_plannable),  # a Saturday: closed (R5)
        ({"rules": (NSAIDS_BEFORE, NSAIDS_AFTER)}, opening(date(2027, 3, 26)), at(date(2027, 3, 23), "09:00"),
         Unfit.pre_session_window),  # stop NSAIDs from Tue 23 Mar: that is today
        ({"reach": dataclasses.replace(REACHED, reachable=False)}, opening(date(2027, 3, 26)), NOW,
         Unfit.unreachable),
        ({"reach": dataclasses.replace(REACHED, open_offers=1)}, opening(date(2027, 3, 26)), NOW, Unfit.open_offer),
        ({"reach": dataclasses.replace(REACHED, offers_last_7_days=3)}, opening(date(2027, 3, 26)), NOW,
         Unfit.weekly_cap),
    ],
)  # fmt: skip
def test_r41_what_keeps_an_entry_from_an_opening(
    changes: dict[str, Any], made: Opening, now: datetime, unfit: Unfit
) -> None:
    assert fit(entry(**changes), made, SETTINGS, now=now) is unfit


def test_r41_the_pre_session_window_may_start_tomorrow() -> None:
    found = fit(
        entry(rules=(NSAIDS_BEFORE, NSAIDS_AFTER)),
        opening(date(2027, 3, 26)),
        SETTINGS,
        now=at(date(2027, 3, 22), "09:00"),
    )
    assert isinstance(found, ReschedulePlan)


def test_r41_someone_elses_booking_in_the_span_refuses_it() -> None:
    cal = calendar(practitioner_busy=[busy(date(2027, 3, 26), "09:15-10:00")], closures=[closed(date(2027, 4, 30))])
    assert fit(entry(cal), opening(date(2027, 3, 26)), SETTINGS, now=NOW) is Unfit.not_plannable


# R42, R45 -------------------------------------------------------------------------------------------------------


def test_r42_urgent_first_then_fewer_recent_offers_then_first_come_then_id() -> None:
    base = entry()

    def one(id_: str, sequence: int, priority: Priority = Priority.normal, offers: int = 0) -> Entry:
        reach = dataclasses.replace(REACHED, offers_last_30_days=offers)
        return dataclasses.replace(base, id=id_, sequence=sequence, priority=priority, reach=reach)

    entries = [
        one("late", 9),
        one("offered_twice", 1, offers=2),
        one("urgent_late", 8, Priority.urgent),
        one("early", 2),
        one("same_b", 5),
        one("same_a", 5),
        one("urgent_offered", 3, Priority.urgent, offers=1),
    ]
    assert [e.id for e in ranked(entries)] == [
        "urgent_late",
        "urgent_offered",
        "early",
        "same_a",
        "same_b",
        "late",
        "offered_twice",
    ]
    assert [e.id for e in ranked(reversed(entries))] == [e.id for e in ranked(entries)]


def test_r45_the_next_batch_skips_whoever_this_opening_was_offered_to() -> None:
    plan_ = fit(entry(), opening(date(2027, 3, 26)), SETTINGS, now=NOW)
    assert isinstance(plan_, ReschedulePlan)
    pairs = [(dataclasses.replace(entry(), id=f"e{n}"), plan_) for n in range(6)]
    assert [e.id for e, _ in next_batch(pairs, [], 3)] == ["e0", "e1", "e2"]
    assert [e.id for e, _ in next_batch(pairs, ["e0", "e1", "e2"], 3)] == ["e3", "e4", "e5"]
    assert next_batch(pairs, [f"e{n}" for n in range(6)], 3) == []


# Done-when 3: course validity, property-tested ----------------------------------------------------------------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_r41_an_accepted_offer_never_leaves_the_course_invalid(data: st.DataObject) -> None:
    booked = data.draw(booked_courses())
    if booked is None:
        return
    cal, proto, course, k, booked_at = booked.calendar, booked.protocol, booked.course, booked.number, booked.booked_at
    zone = cal.zone
    # the opening: a free start of the calendar (the course's own sessions busy) before session k, on a day of its
    # R3 window mostly (where offers are made), else in the ten days before it
    taken = tuple(Busy(s.start_at, s.end_at) for s in course)
    with_course = dataclasses.replace(cal, practitioner_busy=cal.practitioner_busy + taken, span=None)
    k_date = course[k - 1].start_at.astimezone(zone).date()
    duration = timedelta(minutes=proto.session_minutes)
    in_window = [d for d in window_days(proto, zone, course, k) if d < k_date]
    near: bool = data.draw(st.booleans(), label="inside the window")
    days = in_window if in_window and near else [k_date - timedelta(days=n) for n in range(1, 11)]
    starts = [s for d in days for s in free_starts(with_course, d, duration, booked_at)]
    if not starts:
        event("no free start before the session")
        return
    start_at = data.draw(st.sampled_from(starts), label="opening")
    now = max(booked_at, start_at - timedelta(hours=data.draw(st.integers(3, 24 * 10), label="hours ahead")))
    later = [s.start_at for s in course if s.number > k]
    limited = dataclasses.replace(cal, span=reschedule_reach(proto, zone, new_start_at=start_at, later_start_ats=later))
    waiting = entry(limited, number=k, protocol=proto, sessions=course, rules=booked.rules, anchor_time=booked.anchor)
    found = fit(waiting, Opening("p1", start_at, start_at + duration), SETTINGS, now=now)
    event(found.value if isinstance(found, Unfit) else "fits")
    if isinstance(found, Unfit):
        return
    after = applied(course, (found.session, *found.moved))
    today = now.astimezone(zone).date()
    changed = assert_still_valid(cal, proto, course, after, now=now, pre_session_days=booked.before_days, today=today)
    assert k in changed
    assert all(new.start_at <= old.start_at for new, old in zip(after, course, strict=True))  # never later
    assert not found.session.warnings and not any(m.warnings for m in found.moved)
