"""R35–R38: confirm requests, nothing stale, change notices, one message a day (the pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduling import messages
from scheduling.aftercare import AVOID_MEDICATION, EXERCISE, EXPECT_SYMPTOMS, FOLLOW_UP, Rule
from scheduling.hygiene import (
    MERGED,
    SessionChange,
    SessionNow,
    changes,
    merge_same_day,
    notice_due,
    notice_key,
    stale_reason,
)
from scheduling.reminders import PatientContact, PlannedReminder, ReminderSettings, SessionInfo, plan_reminders

BERLIN = ZoneInfo("Europe/Berlin")
EARLY = datetime(2027, 1, 1, tzinfo=UTC)
RULES = (
    Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "No NSAIDs.", "nsaid"),
    Rule("expect_symptoms", EXPECT_SYMPTOMS, 0, 3, "Some pain is expected."),
    Rule("follow_up", FOLLOW_UP, 3, 1, "Staff call."),
    Rule("exercises", EXERCISE, 2, 12, "Exercises."),
)
SMS = PatientContact("Anna", "sms", consent=True, phone="+4915112345678")
EMAIL = PatientContact("Anna", "email", consent=True, email="anna@example.org")


def at(day: date, wall: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(wall), tzinfo=BERLIN)


def plan(
    start: datetime, status: str = "scheduled", contact: PatientContact = SMS, **options: Any
) -> list[PlannedReminder]:
    info = SessionInfo("s-1", "c-1", 2, start.astimezone(UTC), status)
    return plan_reminders(
        info,
        RULES,
        contact,
        ReminderSettings(BERLIN, **options),
        clinic_name="Riverside",
        now=EARLY,
        open_days=None,
        clinic_phone="+49301234567",
    )


def kinds_at(reminders: list[PlannedReminder]) -> list[tuple[str, str, int | None]]:
    return [(r.kind, r.due_at.astimezone(BERLIN).strftime("%a %d %H:%M"), r.offset_minutes) for r in reminders]


# -- R35 ---------------------------------------------------------------------------------------------------------


def test_r35_a_scheduled_session_gets_a_confirm_request_three_days_before() -> None:
    reminders = plan(at(date(2027, 3, 10), "10:00"))  # a Wednesday
    timed = [k for k in kinds_at(reminders) if k[0] in ("appointment", "confirm_request")]
    assert timed == [
        ("confirm_request", "Sun 07 10:00", 4320),
        ("appointment", "Mon 08 10:00", 2880),
        ("appointment", "Wed 10 08:00", 120),
    ]


@pytest.mark.parametrize(
    ("status", "options", "expected"),
    [
        # confirmed: no request, and the 48 h reminder it stood in for is dropped; the 2 h one still goes
        ("confirmed", {}, [("appointment", 120)]),
        ("confirmed", {"skip_when_confirmed_offsets_minutes": ()}, [("appointment", 2880), ("appointment", 120)]),
        # turned off: exactly the reminders before R35
        ("scheduled", {"confirm_request_offset_minutes": None}, [("appointment", 2880), ("appointment", 120)]),
        ("checked_in", {}, [("appointment", 2880), ("appointment", 120)]),
        ("cancelled", {}, []),
    ],
)
def test_r35_confirm_requests_follow_the_sessions_status(
    status: str, options: dict[str, Any], expected: list[tuple[str, int]]
) -> None:
    reminders = plan(at(date(2027, 3, 10), "10:00"), status, **options)
    assert [(r.kind, r.offset_minutes) for r in reminders if r.kind in ("appointment", "confirm_request")] == expected


@pytest.mark.parametrize(
    ("contact", "link", "says"),
    [
        (SMS, None, "reply C, or call us on +49301234567"),
        (SMS, "https://prolo.example.org/p/abc", "reply C, or use https://prolo.example.org/p/abc"),
        (EMAIL, None, ": call us on +49301234567."),
        (EMAIL, "https://prolo.example.org/p/abc", "use https://prolo.example.org/p/abc, or call us"),
    ],
)
def test_r35_the_request_says_how_to_answer_on_its_channel(
    contact: PatientContact, link: str | None, says: str
) -> None:
    text = messages.confirm_request(
        "Anna", "Riverside", at(date(2027, 3, 10), "10:00"), channel=contact.channel, phone="+49301234567", link=link
    )
    assert "please confirm your session at Riverside on Wed 10 Mar 2027 at 10:00" in text.body
    assert says in text.body
    assert (text.subject is not None) == (contact.channel == "email")


# -- R36 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "offset", "session", "course", "reason"),
    [
        ("appointment", 2880, "confirmed", "planned", "already_confirmed"),
        ("confirm_request", 4320, "confirmed", "planned", "already_confirmed"),
        ("appointment", 120, "confirmed", "planned", None),  # it still goes; if it was dropped, it moved
        ("appointment", 120, "cancelled", "active", "session_not_active"),
        ("appointment", 120, "no_show", "active", "session_not_active"),
        ("confirm_request", 4320, "cancelled", "active", "session_not_active"),
        ("appointment", 120, "cancelled", "on_hold", "course_on_hold"),
        ("aftercare_start", None, "cancelled", "cancelled", "course_cancelled"),
        ("exercise", None, "scheduled", "on_hold", "course_on_hold"),
        # a completed session's aftercare survives the course (the injection happened)
        ("aftercare_end", None, "completed", "on_hold", None),
        ("exercise", None, "completed", "cancelled", None),
        ("aftercare_start", None, "scheduled", "active", None),  # moved with its session
    ],
)
def test_r36_every_stale_message_has_its_reason(
    kind: str, offset: int | None, session: str, course: str, reason: str | None
) -> None:
    assert stale_reason(kind, offset, session, course, ReminderSettings(BERLIN)) == reason


# -- R37 ---------------------------------------------------------------------------------------------------------

T1, T2, T3 = (datetime(2027, 3, d, 9, tzinfo=UTC) for d in (10, 11, 12))
NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("told", "sessions", "expected"),
    [
        ({"a": T1}, [SessionNow("a", 1, "scheduled", T1)], []),  # nothing moved
        ({"a": T1}, [SessionNow("a", 1, "confirmed", T1)], []),  # confirming is not news
        ({"a": T1}, [SessionNow("a", 1, "scheduled", T3)], [SessionChange("a", 1, T1, T3)]),
        ({"a": T1}, [SessionNow("a", 1, "cancelled", T1)], [SessionChange("a", 1, T1, None)]),
        ({}, [SessionNow("n", 7, "scheduled", T2)], [SessionChange("n", 7, None, T2)]),  # a replacement
        ({"a": None}, [SessionNow("a", 1, "cancelled", T1)], []),  # told of the cancellation already
        ({"a": T1}, [SessionNow("a", 1, "completed", T1)], []),
        ({"a": T1}, [SessionNow("a", 1, "no_show", T1)], []),
        # in the past on both sides: nobody needs a notice about it
        ({"a": NOW - timedelta(days=2)}, [SessionNow("a", 1, "cancelled", NOW - timedelta(days=2))], []),
        (
            {"a": T1, "b": T2},
            [SessionNow("b", 2, "scheduled", T3), SessionNow("a", 1, "scheduled", T2)],
            [SessionChange("a", 1, T1, T2), SessionChange("b", 2, T2, T3)],
        ),
    ],
)
def test_r37_a_notice_lists_only_what_differs_from_what_the_patient_was_told(
    told: dict[str, datetime | None], sessions: list[SessionNow], expected: list[SessionChange]
) -> None:
    assert changes(told, sessions, NOW) == expected


def test_r37_a_move_undone_leaves_nothing_to_tell() -> None:
    told = {"a": T1}
    assert changes(told, [SessionNow("a", 1, "scheduled", T2)], NOW) != []
    assert changes(told, [SessionNow("a", 1, "scheduled", T1)], NOW) == []


@pytest.mark.parametrize(
    ("local_change", "expected"),
    [
        ("2027-03-01T10:00", "2027-03-01T10:05"),
        ("2027-03-01T20:57", "2027-03-02T08:00"),  # the grace ends in quiet hours: the next morning
        ("2027-03-02T03:00", "2027-03-02T08:00"),
    ],
)
def test_r37_the_notice_waits_out_the_grace_and_the_night(local_change: str, expected: str) -> None:
    changed = datetime.fromisoformat(local_change).replace(tzinfo=BERLIN)
    due = notice_due(changed, 5, ReminderSettings(BERLIN))
    assert due.astimezone(BERLIN).replace(tzinfo=None).isoformat(timespec="minutes") == expected


def test_r37_the_notice_key_follows_what_it_says() -> None:
    one = notice_key("p", [SessionChange("a", 1, T1, T2)], T1)
    assert one == notice_key("p", [SessionChange("a", 1, T1, T2)], T1)
    assert one != notice_key("p", [SessionChange("a", 1, T1, T3)], T1)
    assert one != notice_key("p", [SessionChange("a", 1, T1, T2)], T2)


def test_r37_the_notice_text_gives_the_final_state_of_each_session() -> None:
    text = messages.change_notice(
        "Anna",
        "Riverside",
        [
            messages.Change(3, at(date(2027, 3, 8), "09:00"), at(date(2027, 3, 9), "10:00")),
            messages.Change(4, at(date(2027, 3, 22), "09:00"), None),
            messages.Change(7, None, at(date(2027, 4, 5), "09:00"), link="https://prolo.example.org/p/x"),
        ],
        phone="+49301234567",
        email=False,
    )
    assert text.body == (
        "Hello Anna, this is Riverside. Your sessions have changed: "
        "session 3: now Tue 9 Mar 2027 at 10:00 (was Mon 8 Mar 2027 at 09:00); "
        "session 4: cancelled (was Mon 22 Mar 2027 at 09:00); "
        "session 7: new, on Mon 5 Apr 2027 at 09:00, https://prolo.example.org/p/x. Questions? Call +49301234567."
    )


# -- R38 ---------------------------------------------------------------------------------------------------------


def test_r38_same_day_aftercare_rides_with_the_appointment_reminder() -> None:
    # session on Wed 10 at 10:00: the NSAID window starts that day (09:00 reminder), the 2 h reminder is at 08:00
    planned = merge_same_day(plan(at(date(2027, 3, 10), "10:00")), BERLIN)
    by_kind = {r.kind: r for r in planned}
    carrier, rider = by_kind["appointment"], by_kind["aftercare_start"]
    sent_on_wed = [r for r in planned if r.status == "pending" and r.due_at.astimezone(BERLIN).day == 10]
    assert [(r.kind, r.offset_minutes) for r in sent_on_wed if r.audience == "patient"] == [("appointment", 120)]
    rider = next(r for r in planned if r.kind == "aftercare_start")
    assert (rider.status, rider.merged_into) == (MERGED, sent_on_wed[0].idempotency_key)
    assert sent_on_wed[0].body.endswith(
        "Please avoid anti-inflammatory painkillers (NSAIDs) from Wed 10 Mar to Sun 14 Mar."
    )
    assert carrier.kind == "appointment"


def test_r38_date_based_messages_alone_on_a_day_ride_with_the_first() -> None:
    # avoid_nsaids ends Sun 14 → aftercare_end Mon 15; exercises start Fri 12; make them meet: 4-day window
    rules = (Rule("avoid_nsaids", AVOID_MEDICATION, 0, 2, "x", "nsaid"), Rule("exercises", EXERCISE, 2, 12, "y"))
    info = SessionInfo("s-1", "c-1", 2, at(date(2027, 3, 10), "10:00").astimezone(UTC), "scheduled")
    cfg = ReminderSettings(BERLIN, confirm_request_offset_minutes=None)
    planned = merge_same_day(
        plan_reminders(info, rules, SMS, cfg, clinic_name="Riverside", now=EARLY, open_days=None), BERLIN
    )
    friday = [r for r in planned if r.due_at.astimezone(BERLIN).day == 12]
    assert sorted((r.kind, r.status) for r in friday) == [("aftercare_end", "pending"), ("exercise", "merged")]
    assert "please start the exercises" in next(r.body for r in friday if r.status == "pending")


def test_r38_time_based_messages_never_merge_and_skipped_ones_stay_alone() -> None:
    planned = merge_same_day(plan(at(date(2027, 3, 10), "10:00"), skip_when_confirmed_offsets_minutes=()), BERLIN)
    assert all(r.status != MERGED for r in planned if r.kind in ("appointment", "confirm_request"))
    nobody = PatientContact("Anna", "sms", consent=False, phone="+4915112345678")
    assert all(r.status != MERGED for r in merge_same_day(plan(at(date(2027, 3, 10), "10:00"), contact=nobody), BERLIN))


def test_r38_without_the_carrier_the_riders_merge_again() -> None:
    planned = plan(at(date(2027, 3, 10), "10:00"))
    merged = merge_same_day(planned, BERLIN)
    rider = next(r for r in merged if r.kind == "aftercare_start")
    assert rider.status == MERGED
    # the 2 h reminder is gone (say the session was confirmed and the clinic skips it too): the rider goes alone
    without = [r for r in planned if not (r.kind == "appointment" and r.offset_minutes == 120)]
    alone = next(r for r in merge_same_day(without, BERLIN) if r.kind == "aftercare_start")
    assert (alone.status, alone.merged_into) == ("pending", None)


def test_r38_two_courses_on_one_day_merge_the_same_whichever_asks_first() -> None:
    # two courses of one patient, sessions on Wed 10 at 10:00 and 11:00: two time-based messages that day, and
    # both courses' NSAID windows ride with the first of them (the 08:00 reminder), whichever course is planned
    knee = plan(at(date(2027, 3, 10), "10:00"))
    info = SessionInfo("s-2", "c-2", 1, at(date(2027, 3, 10), "11:00").astimezone(UTC), "scheduled")
    cfg = ReminderSettings(BERLIN)
    shoulder = plan_reminders(info, RULES, SMS, cfg, clinic_name="Riverside", now=EARLY, open_days=None)
    one, other = merge_same_day(knee + shoulder, BERLIN), merge_same_day(shoulder + knee, BERLIN)
    assert sorted(one, key=lambda r: r.idempotency_key) == sorted(other, key=lambda r: r.idempotency_key)
    wednesday = [r for r in one if r.audience == "patient" and r.due_at.astimezone(BERLIN).day == 10]
    carrier = min((r for r in wednesday if r.kind == "appointment"), key=lambda r: r.due_at)
    assert (carrier.session_id, carrier.status) == ("s-1", "pending")
    assert {(r.session_id, r.merged_into) for r in wednesday if r.kind == "aftercare_start"} == {
        ("s-1", carrier.idempotency_key),
        ("s-2", carrier.idempotency_key),
    }
    assert [r.kind for r in wednesday if r.status == "pending"] == ["appointment", "appointment"]


def test_r38_a_tie_between_two_courses_has_one_answer() -> None:
    # no appointment or confirm messages: both courses' NSAID windows start Wed 10 at 09:00, a tie on time and kind
    cfg = ReminderSettings(BERLIN, appointment_offsets_minutes=(), confirm_request_offset_minutes=None)
    courses = [
        plan_reminders(
            SessionInfo(f"s-{n}", f"c-{n}", 1, at(date(2027, 3, 10), wall).astimezone(UTC), "scheduled"),
            RULES,
            SMS,
            cfg,
            clinic_name="Riverside",
            now=EARLY,
            open_days=None,
        )
        for n, wall in ((1, "10:00"), (2, "11:00"))
    ]
    one, other = merge_same_day(courses[0] + courses[1], BERLIN), merge_same_day(courses[1] + courses[0], BERLIN)
    assert sorted(one, key=lambda r: r.idempotency_key) == sorted(other, key=lambda r: r.idempotency_key)
    wednesday = [r for r in one if r.audience == "patient" and r.due_at.astimezone(BERLIN).day == 10]
    assert sorted(r.status for r in wednesday) == ["merged", "pending"]
