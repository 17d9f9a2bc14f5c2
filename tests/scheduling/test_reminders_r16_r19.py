"""R16–R19: which reminders a session gets, when, for whom, and that replanning never duplicates."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling.aftercare import AVOID_MEDICATION, EXERCISE, EXPECT_SYMPTOMS, FOLLOW_UP, Rule
from scheduling.lifecycle import SessionStatus
from scheduling.reminders import (
    PatientContact,
    PlannedReminder,
    ReminderSettings,
    SessionInfo,
    in_quiet_hours,
    local_instant,
    plan_reminders,
    reminder_key,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
CLINIC = "Riverside Prolotherapy"
EARLY = datetime(2027, 1, 1, tzinfo=UTC)  # "now" long before every session below

# R13: the default protocol's rules.
DEFAULT_RULES = (
    Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "Do not take anti-inflammatory painkillers.", "nsaid"),
    Rule("expect_symptoms", EXPECT_SYMPTOMS, 0, 3, "Some pain and stiffness is expected."),
    Rule("follow_up", FOLLOW_UP, 3, 1, "Staff call: infection, bleeding, allergic reaction."),
    Rule("exercises", EXERCISE, 2, 12, "Do the exercises you were shown."),
)
SMS = PatientContact("Anna", "sms", consent=True, email=None, phone="+4915112345678")
NO_QUIET = time(0), time(0)  # quiet_start == quiet_end: no quiet hours


def local(day: date, wall: str, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.combine(day, time.fromisoformat(wall), tzinfo=zone)


def session(start: datetime, status: str = "scheduled", session_id: str = "s-1", number: int = 2) -> SessionInfo:
    return SessionInfo(session_id, "c-1", number, start.astimezone(UTC), status)


def plan(
    start: datetime,
    *,
    zone: ZoneInfo = BERLIN,
    rules: tuple[Rule, ...] = DEFAULT_RULES,
    contact: PatientContact = SMS,
    now: datetime = EARLY,
    status: str = "scheduled",
    session_id: str = "s-1",
    **options: Any,
) -> list[PlannedReminder]:
    # R16–R19 as they stand alone: no confirm request (R35, tested in test_reminder_hygiene_r35_r38.py)
    cfg = ReminderSettings(zone, **{"confirm_request_offset_minutes": None, **options})
    return plan_reminders(
        session(start, status, session_id), rules, contact, cfg, clinic_name=CLINIC, now=now, open_days=None
    )


def appointments(start: datetime, zone: ZoneInfo = BERLIN, **options: Any) -> list[str]:
    """The appointment reminders' local due times, ISO with the offset."""
    return [r.due_at.astimezone(zone).isoformat() for r in plan(start, zone=zone, rules=(), **options)]


def shown(reminders: list[PlannedReminder], zone: ZoneInfo = BERLIN) -> list[tuple[str, str, str, str, str | None]]:
    """(kind, audience, channel, local due time, rule_code) per reminder."""
    return [
        (r.kind, r.audience, r.channel, r.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), r.rule_code)
        for r in reminders
    ]


# --- R16: kinds and times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # The Monday after the spring change: 48 real hours back is Saturday 08:00, not 09:00.
        (BERLIN, "2027-03-29T09:00", ["2027-03-27T08:00:00+01:00", "2027-03-29T07:00:00+02:00"]),
        (NEW_YORK, "2027-03-15T09:00", ["2027-03-13T08:00:00-05:00", "2027-03-15T07:00:00-04:00"]),
        # The Monday after the autumn change: Saturday 10:00.
        (BERLIN, "2027-11-01T09:00", ["2027-10-30T10:00:00+02:00", "2027-11-01T07:00:00+01:00"]),
        (NEW_YORK, "2027-11-08T09:00", ["2027-11-06T10:00:00-04:00", "2027-11-08T07:00:00-05:00"]),
        # Two real hours over the jump itself; the fold's first 02:30 in autumn.
        (BERLIN, "2027-03-28T04:00", ["2027-03-26T03:00:00+01:00", "2027-03-28T01:00:00+01:00"]),
        (BERLIN, "2027-10-31T03:30", ["2027-10-29T04:30:00+02:00", "2027-10-31T02:30:00+02:00"]),
        (NEW_YORK, "2027-11-07T02:30", ["2027-11-05T03:30:00-04:00", "2027-11-07T01:30:00-04:00"]),
    ],
)
def test_r16_appointment_offsets_count_real_hours_across_dst(zone: ZoneInfo, start: str, expected: list[str]) -> None:
    start_at = datetime.fromisoformat(start).replace(tzinfo=zone)
    quiet_start, quiet_end = NO_QUIET
    assert appointments(start_at, zone, quiet_start=quiet_start, quiet_end=quiet_end) == expected


def test_r16_default_protocol_gives_the_spec_reminders() -> None:
    reminders = plan(local(date(2027, 3, 1), "14:00"))  # a Monday, far from DST

    assert shown(reminders) == [
        ("appointment", "patient", "sms", "2027-02-27 14:00", None),  # 48 h before
        ("aftercare_start", "patient", "sms", "2027-03-01 09:00", "avoid_nsaids"),  # day 0 at the send time
        ("appointment", "patient", "sms", "2027-03-01 12:00", None),  # 2 h before
        ("exercise", "patient", "sms", "2027-03-03 09:00", "exercises"),  # once, on day 2
        ("follow_up", "clinic", "outbox", "2027-03-04 09:00", "follow_up"),  # day 3, for staff
        ("aftercare_end", "patient", "sms", "2027-03-06 09:00", "avoid_nsaids"),  # the day after day 4
    ]
    assert [r.offset_minutes for r in reminders] == [2880, None, 120, None, None, None]
    assert "expect_symptoms" not in {r.rule_code for r in reminders}  # R16 names no such reminder
    assert all(r.due_at.tzinfo is UTC for r in reminders)


def test_r16_date_based_reminders_keep_the_local_send_time_across_dst() -> None:
    reminders = plan(local(date(2027, 3, 26), "10:00"))  # Friday; clocks spring forward on Sunday
    dated = [r for r in reminders if r.kind != "appointment"]

    assert [(r.kind, r.due_at.astimezone(BERLIN).isoformat()) for r in dated] == [
        ("aftercare_start", "2027-03-26T09:00:00+01:00"),
        ("exercise", "2027-03-28T09:00:00+02:00"),
        ("follow_up", "2027-03-29T09:00:00+02:00"),
        ("aftercare_end", "2027-03-31T09:00:00+02:00"),
    ]


@pytest.mark.parametrize(
    ("zone", "day", "wall", "expected"),
    [
        (BERLIN, date(2027, 3, 28), "02:30", "2027-03-28T03:00:00+02:00"),  # the gap: the moment clocks jump
        (BERLIN, date(2027, 3, 28), "02:00", "2027-03-28T03:00:00+02:00"),
        (BERLIN, date(2027, 3, 28), "01:59", "2027-03-28T01:59:00+01:00"),
        (BERLIN, date(2027, 3, 28), "03:00", "2027-03-28T03:00:00+02:00"),
        (NEW_YORK, date(2027, 3, 14), "02:15", "2027-03-14T03:00:00-04:00"),
        (BERLIN, date(2027, 10, 31), "02:30", "2027-10-31T02:30:00+02:00"),  # the fold: first occurrence
        (NEW_YORK, date(2027, 11, 7), "01:30", "2027-11-07T01:30:00-04:00"),
        (ZoneInfo("Australia/Lord_Howe"), date(2027, 10, 3), "02:10", "2027-10-03T02:30:00+11:00"),  # 30 min gap
        (ZoneInfo("America/Santiago"), date(2027, 9, 5), "00:00", "2027-09-05T01:00:00-03:00"),  # no midnight
    ],
)
def test_r16_a_local_send_time_names_one_instant(zone: ZoneInfo, day: date, wall: str, expected: str) -> None:
    at = local_instant(day, time.fromisoformat(wall), zone)
    assert at.tzinfo is UTC
    assert at.astimezone(zone).isoformat() == expected


def test_r16_a_send_time_in_the_gap_goes_when_the_clocks_jump() -> None:
    # exercises start on day 2: Sunday 28 March, whose 02:30 does not exist in Berlin.
    reminders = plan(local(date(2027, 3, 26), "10:00"), send_time=time(2, 30), quiet_start=time(0), quiet_end=time(0))
    exercise = next(r for r in reminders if r.kind == "exercise")
    assert exercise.due_at == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)


def test_r16_avoid_medication_windows_may_start_before_the_session() -> None:
    rules = (Rule("no_anticoagulants", AVOID_MEDICATION, -2, 3, "Pause blood thinners.", "blood_thinners"),)
    reminders = plan(local(date(2027, 3, 10), "10:00"), rules=rules)

    assert [(k, d) for k, _, _, d, _ in shown(reminders)] == [
        ("aftercare_start", "2027-03-08 09:00"),
        ("appointment", "2027-03-08 10:00"),
        ("appointment", "2027-03-10 08:00"),
        ("aftercare_end", "2027-03-11 09:00"),
    ]
    start = next(r for r in reminders if r.kind == "aftercare_start")
    assert start.body.endswith("Please avoid blood thinners from Mon 8 Mar to Wed 10 Mar.")


def test_r16_follow_up_is_for_the_clinic_through_the_outbox() -> None:
    reminders = plan(local(date(2027, 3, 1), "14:00"), contact=PatientContact("Anna", "email", False, "a@example.org"))
    follow_up = next(r for r in reminders if r.kind == "follow_up")

    assert (follow_up.audience, follow_up.channel, follow_up.status, follow_up.reason) == (
        "clinic",
        "outbox",
        "pending",
        None,
    )
    assert follow_up.subject is None
    assert follow_up.body == (
        "Follow-up call due: patient Anna, session 2, check for infection, bleeding, allergic reaction."
    )


@pytest.mark.parametrize(
    ("status", "kinds"),
    [
        (SessionStatus.scheduled, {"appointment", "aftercare_start", "aftercare_end", "exercise", "follow_up"}),
        (SessionStatus.confirmed, {"appointment", "aftercare_start", "aftercare_end", "exercise", "follow_up"}),
        (SessionStatus.checked_in, {"appointment", "aftercare_start", "aftercare_end", "exercise", "follow_up"}),
        (SessionStatus.completed, {"aftercare_start", "aftercare_end", "exercise", "follow_up"}),  # windows stand (R14)
        (SessionStatus.cancelled, set()),
        (SessionStatus.no_show, set()),  # no injection, no aftercare
    ],
)
def test_r16_which_sessions_get_which_reminders(status: SessionStatus, kinds: set[str]) -> None:
    reminders = plan(local(date(2027, 3, 1), "14:00"), status=status.value)
    assert {r.kind for r in reminders} == kinds


def test_r16_unknown_states_channels_and_naive_times_are_caller_bugs() -> None:
    with pytest.raises(ValueError, match="lost"):
        SessionInfo("s", "c", 1, EARLY, "lost")
    with pytest.raises(ValueError, match="aware"):
        SessionInfo("s", "c", 1, EARLY.replace(tzinfo=None), "scheduled")
    with pytest.raises(ValueError, match="pigeon"):
        PatientContact("Anna", "pigeon", True)
    with pytest.raises(ValueError, match="aware"):
        plan(local(date(2027, 3, 1), "14:00"), now=EARLY.replace(tzinfo=None))


# --- R17: quiet hours -------------------------------------------------------------------------------

# Days on both sides of each 2027 DST change, and the change days themselves.
DST_DAYS = (
    [(BERLIN, date(2027, 3, d)) for d in (27, 28, 29)]
    + [(BERLIN, date(2027, 10, d)) for d in (30, 31)]
    + [(BERLIN, date(2027, 11, 1))]
    + [(NEW_YORK, date(2027, 3, d)) for d in (13, 14, 15)]
    + [(NEW_YORK, date(2027, 11, d)) for d in (6, 7, 8)]
)
CHANGE_DAYS = {date(2027, 3, 28), date(2027, 10, 31), date(2027, 3, 14), date(2027, 11, 7)}


@pytest.mark.parametrize(
    ("wall", "quiet_start", "quiet_end", "quiet"),
    [
        ("20:59", time(21), time(8), False),
        ("21:00", time(21), time(8), True),
        ("00:00", time(21), time(8), True),
        ("07:59", time(21), time(8), True),
        ("08:00", time(21), time(8), False),
        ("12:59", time(13), time(14), False),
        ("13:00", time(13), time(14), True),
        ("14:00", time(13), time(14), False),
        ("03:00", time(0), time(0), False),  # equal: no quiet hours
    ],
)
def test_r17_quiet_hours_are_read_on_the_local_wall_clock(
    wall: str, quiet_start: time, quiet_end: time, quiet: bool
) -> None:
    cfg = ReminderSettings(NEW_YORK, quiet_start=quiet_start, quiet_end=quiet_end)
    at = local(date(2027, 11, 7), wall, NEW_YORK).astimezone(UTC)
    assert in_quiet_hours(at, cfg) is quiet


@pytest.mark.parametrize(("zone", "day"), DST_DAYS)
def test_r17_two_hour_reminder_at_0730_moves_to_0800_still_90_min_ahead(zone: ZoneInfo, day: date) -> None:
    start = local(day, "09:30", zone)
    two_hours = plan(start, zone=zone, rules=())[-1]

    assert two_hours.offset_minutes == 120
    assert two_hours.due_at.astimezone(zone).replace(tzinfo=None) == datetime.combine(day, time(8))
    assert start - two_hours.due_at == timedelta(minutes=90)


@pytest.mark.parametrize(("zone", "day"), DST_DAYS)
def test_r17_two_hour_reminder_at_0630_moves_to_2000_the_evening_before(zone: ZoneInfo, day: date) -> None:
    start = local(day, "08:30", zone)
    two_hours = plan(start, zone=zone, rules=())[-1]

    assert two_hours.offset_minutes == 120
    # 08:00 would be only 30 min ahead of the appointment.
    assert two_hours.due_at.astimezone(zone).replace(tzinfo=None) == datetime.combine(day - timedelta(days=1), time(20))
    # 12.5 real hours ahead, one less or more when the clocks change that night.
    lead = {date(2027, 3, 28): 11.5, date(2027, 3, 14): 11.5, date(2027, 10, 31): 13.5, date(2027, 11, 7): 13.5}
    assert (start - two_hours.due_at) / timedelta(hours=1) == lead.get(day, 12.5)


@pytest.mark.parametrize(
    ("start", "offset", "due"),
    [
        ("09:00", 720, "08:00"),  # 21:00 the day before is quiet; 08:00 is exactly 60 min ahead: allowed
        ("08:59", 720, "20:59 the day before"),  # just outside quiet hours: unchanged
        ("08:45", 690, "20:00 the day before"),  # 21:15 is quiet, 08:00 only 45 min ahead
        ("16:00", 600, "08:00"),  # 06:00 → 08:00, 8 h ahead
        ("10:00", 120, "08:00"),  # exactly quiet_end is not quiet: unchanged
        ("23:00", 120, "21:00 → 20:00"),  # a late appointment: the evening its quiet hours begin
    ],
)
def test_r17_quiet_hours_boundaries(start: str, offset: int, due: str) -> None:
    day = date(2027, 3, 10)
    got = plan(local(day, start), rules=(), appointment_offsets_minutes=(offset,))[0].due_at.astimezone(BERLIN)
    expected = {
        "08:00": local(day, "08:00"),
        "20:59 the day before": local(day - timedelta(days=1), "20:59"),
        "20:00 the day before": local(day - timedelta(days=1), "20:00"),
        "21:00 → 20:00": local(day, "20:00"),
    }[due]
    assert got == expected


def test_r17_the_evening_fallback_is_an_hour_before_a_custom_quiet_start() -> None:
    day = date(2027, 3, 10)
    custom: dict[str, Any] = {"quiet_start": time(22), "quiet_end": time(7), "appointment_offsets_minutes": (120,)}

    assert appointments(local(day, "08:30"), **custom) == ["2027-03-10T07:00:00+01:00"]  # 90 min ahead
    assert appointments(local(day, "07:30"), **custom) == ["2027-03-09T21:00:00+01:00"]


def test_r17_quiet_hours_need_not_wrap_midnight() -> None:
    day = date(2027, 3, 10)
    lunch: dict[str, Any] = {"quiet_start": time(13), "quiet_end": time(14), "appointment_offsets_minutes": (120,)}

    assert appointments(local(day, "15:30"), **lunch) == ["2027-03-10T14:00:00+01:00"]
    assert appointments(local(day, "14:45"), **{**lunch, "appointment_offsets_minutes": (90,)}) == [
        "2027-03-10T12:00:00+01:00",  # 13:15 is quiet and 14:00 only 45 min ahead: an hour before quiet_start
    ]
    assert appointments(local(day, "16:30"), **lunch) == ["2027-03-10T14:30:00+01:00"]


def test_r17_equal_start_and_end_mean_no_quiet_hours() -> None:
    quiet_start, quiet_end = NO_QUIET
    got = appointments(local(date(2027, 3, 10), "08:30"), quiet_start=quiet_start, quiet_end=quiet_end)
    assert got == ["2027-03-08T08:30:00+01:00", "2027-03-10T06:30:00+01:00"]


@pytest.mark.parametrize(
    ("send_time", "patient_due", "clinic_due"),
    [
        (time(7), "08:00", "07:00"),  # morning quiet part: to quiet_end, same date
        (time(22), "20:00", "22:00"),  # evening quiet part: an hour before quiet_start, same date
        (time(21), "20:00", "21:00"),
        (time(8), "08:00", "08:00"),
        (time(20, 59), "20:59", "20:59"),
    ],
)
def test_r17_date_based_reminders_stay_on_their_date_and_staff_ones_stay_put(
    send_time: time, patient_due: str, clinic_due: str
) -> None:
    reminders = plan(local(date(2027, 3, 1), "14:00"), send_time=send_time)
    for r in reminders:
        if r.kind == "appointment":
            continue
        wall = r.due_at.astimezone(BERLIN).strftime("%H:%M")
        assert wall == (clinic_due if r.audience == "clinic" else patient_due), r.kind
    days = {r.kind: r.due_at.astimezone(BERLIN).date() for r in reminders if r.kind != "appointment"}
    assert days == {
        "aftercare_start": date(2027, 3, 1),
        "exercise": date(2027, 3, 3),
        "follow_up": date(2027, 3, 4),
        "aftercare_end": date(2027, 3, 6),
    }


def test_r17_a_reminder_pushed_onto_a_longer_offsets_is_sent_once() -> None:
    # 3 h and 2 h before 08:30 are both quiet, and both fall back to 20:00 the evening before.
    reminders = plan(local(date(2027, 3, 10), "08:30"), rules=(), appointment_offsets_minutes=(180, 120))
    assert [(r.offset_minutes, r.due_at.astimezone(BERLIN).isoformat()) for r in reminders] == [
        (180, "2027-03-09T20:00:00+01:00"),
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"appointment_offsets_minutes": (120, 120)},
        {"appointment_offsets_minutes": (0,)},
        {"appointment_offsets_minutes": (-60,)},
        {"quiet_start": time(21), "quiet_end": time(20, 30)},  # 23.5 h: no room for the evening fallback
        {"send_time": time(9, tzinfo=UTC)},
    ],
)
def test_r17_settings_that_cannot_work_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ReminderSettings(BERLIN, **options)


# --- R18: past and skipped ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "kinds"),
    [
        (
            "2027-02-27T13:59",
            ["appointment", "aftercare_start", "appointment", "exercise", "follow_up", "aftercare_end"],
        ),
        ("2027-02-27T14:00", ["aftercare_start", "appointment", "exercise", "follow_up", "aftercare_end"]),  # due = now
        ("2027-03-01T08:59", ["aftercare_start", "appointment", "exercise", "follow_up", "aftercare_end"]),
        ("2027-03-01T12:00", ["exercise", "follow_up", "aftercare_end"]),
        ("2027-03-06T09:00", []),
    ],
)
def test_r18_past_reminders_are_not_made(now: str, kinds: list[str]) -> None:
    now_at = datetime.fromisoformat(now).replace(tzinfo=BERLIN)
    reminders = plan(local(date(2027, 3, 1), "14:00"), now=now_at)
    assert [r.kind for r in reminders] == kinds
    assert all(r.due_at > now_at for r in reminders)


def test_r18_a_quiet_hours_shift_into_the_past_is_not_made() -> None:
    # 2 h before 08:30 is 06:30 tomorrow, but its slot is 20:00 tonight, already gone.
    start = local(date(2027, 3, 10), "08:30")
    reminders = plan(start, rules=(), now=local(date(2027, 3, 9), "20:30"))
    assert reminders == []


@pytest.mark.parametrize(
    ("contact", "status", "reason"),
    [
        (PatientContact("Anna", "email", False, "anna@example.org", "+4915112345678"), "skipped", "no_consent"),
        (PatientContact("Anna", "none", False), "skipped", "no_consent"),
        (PatientContact("Anna", "none", True, "anna@example.org"), "skipped", "channel_none"),
        (PatientContact("Anna", "email", True, None, "+4915112345678"), "skipped", "no_email"),
        (PatientContact("Anna", "email", True, "  "), "skipped", "no_email"),
        (PatientContact("Anna", "sms", True, "anna@example.org", None), "skipped", "no_phone"),
        (PatientContact("Anna", "sms", True, None, ""), "skipped", "no_phone"),
        (PatientContact("Anna", "email", True, "anna@example.org"), "pending", None),
        (PatientContact("Anna", "sms", True, None, "+4915112345678"), "pending", None),
        (PatientContact("Anna", "outbox", True), "pending", None),  # the front desk delivers
        (PatientContact("Anna", "sms", True, None, "+4915112345678", archived=True), "skipped", "patient_archived"),
        (PatientContact("Anna", "none", False, archived=True), "skipped", "patient_archived"),
    ],
)
def test_r18_patient_reminders_are_skipped_with_the_reason(contact: PatientContact, status: str, reason: str) -> None:
    reminders = plan(local(date(2027, 3, 1), "14:00"), contact=contact)
    patient = [r for r in reminders if r.audience == "patient"]
    clinic = [r for r in reminders if r.audience == "clinic"]

    assert len(patient) == 5  # still planned, so staff see why
    assert {(r.status, r.reason, r.channel) for r in patient} == {(status, reason, contact.channel)}
    assert [(r.status, r.reason, r.channel) for r in clinic] == [("pending", None, "outbox")]  # never skipped
    assert all(r.body for r in reminders)


# --- R19: idempotent, at most one per (session, kind, rule, offset) -------------------------------------

BASE = local(date(2027, 3, 1), "14:00")


def test_r19_the_same_inputs_give_the_same_plan() -> None:
    assert plan(BASE) == plan(BASE)
    shuffled = list(DEFAULT_RULES)
    random.Random(7).shuffle(shuffled)
    assert plan(BASE, rules=tuple(shuffled)) == plan(BASE)


def test_r19_one_reminder_per_session_kind_rule_and_offset() -> None:
    reminders = plan(BASE, appointment_offsets_minutes=(2880, 1440, 120, 60))
    identities = [r.identity for r in reminders]
    assert len(identities) == len(set(identities)) == 8
    assert len({r.idempotency_key for r in reminders}) == 8
    with pytest.raises(ValueError, match="unique"):
        plan(BASE, rules=(*DEFAULT_RULES, DEFAULT_RULES[0]))


def test_r19_replanning_later_keeps_the_remaining_keys() -> None:
    first = plan(BASE)
    later = plan(BASE, now=local(date(2027, 3, 2), "10:00"))
    assert later == [r for r in first if r.due_at > local(date(2027, 3, 2), "10:00")]


def test_r19_keys_ignore_consent_and_channel_so_a_change_never_makes_a_second_message() -> None:
    keys = {
        contact.channel + str(contact.consent): [(r.identity, r.idempotency_key) for r in plan(BASE, contact=contact)]
        for contact in (
            SMS,
            dataclasses.replace(SMS, consent=False),
            PatientContact("Anna", "email", True, "anna@example.org"),
            PatientContact("Anna", "outbox", True),
        )
    }
    assert len({tuple(v) for v in keys.values()}) == 1


def test_r19_a_moved_session_gets_new_keys_for_what_changed() -> None:
    before = {r.identity: r for r in plan(BASE)}
    next_day = {r.identity: r for r in plan(BASE + timedelta(days=1))}
    later_same_day = {r.identity: r for r in plan(BASE + timedelta(hours=2))}

    assert before.keys() == next_day.keys() == later_same_day.keys()
    assert all(before[i].idempotency_key != next_day[i].idempotency_key for i in before)
    # Same day, other hour: the appointment reminders announce a new time; the aftercare
    # ones say exactly what they said, at the same time, under the same key.
    for identity, r in later_same_day.items():
        same = r.idempotency_key == before[identity].idempotency_key
        assert same == (r.kind != "appointment"), r.kind


def test_r19_two_times_quiet_hours_send_to_one_instant_still_differ() -> None:
    # 08:30 and 08:45: both 2 h reminders fall back to 20:00 the evening before, but they
    # announce different times, so they must never pass for each other.
    a = plan(local(date(2027, 3, 10), "08:30"), rules=())[-1]
    b = plan(local(date(2027, 3, 10), "08:45"), rules=())[-1]
    assert a.due_at == b.due_at
    assert a.identity == b.identity
    assert a.idempotency_key != b.idempotency_key
    assert a.body != b.body


def test_r19_keys_are_stable_across_releases() -> None:
    # Stored rows and receivers hold these keys: changing the scheme re-sends everything.
    due_at = datetime(2027, 2, 27, 13, 0, tzinfo=UTC)
    key = reminder_key("s-1", "appointment", None, 2880, due_at, "2027-03-01T13:00:00+00:00")
    assert key == plan(BASE)[0].idempotency_key
    assert key == "6007d9c73dfd824d138ecd44860f2e9b"


def test_r19_keys_differ_between_sessions() -> None:
    one = {r.idempotency_key for r in plan(BASE, session_id="s-1")}
    two = {r.idempotency_key for r in plan(BASE, session_id="s-2")}
    assert not one & two


# --- Properties -----------------------------------------------------------------------------------------

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "UTC")
CHANGES = [
    date(2027, 3, 14),
    date(2027, 3, 28),
    date(2027, 4, 4),
    date(2027, 9, 5),
    date(2027, 10, 31),
    date(2027, 11, 7),
]
BOUNDED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def quarter(lo: int, hi: int) -> st.SearchStrategy[time]:
    return st.integers(lo * 4, hi * 4 - 1).map(lambda n: time(n // 4, n % 4 * 15))


def quiet(at: datetime, cfg: ReminderSettings) -> bool:
    """R17 read literally, apart from the planner's code."""
    t = at.astimezone(cfg.zone).time()
    if cfg.quiet_start < cfg.quiet_end:
        return cfg.quiet_start <= t < cfg.quiet_end
    return cfg.quiet_start != cfg.quiet_end and (t >= cfg.quiet_start or t < cfg.quiet_end)


@st.composite
def cases(draw: st.DrawFn) -> tuple[SessionInfo, ReminderSettings, PatientContact, datetime]:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    day = draw(st.sampled_from(CHANGES)) + timedelta(days=draw(st.integers(-3, 3)))
    start_at = datetime.combine(day, draw(quarter(0, 24)), tzinfo=zone).astimezone(UTC)
    cfg = ReminderSettings(
        zone,
        appointment_offsets_minutes=tuple(
            draw(st.sets(st.integers(1, 96).map(lambda n: n * 30), min_size=1, max_size=3))
        ),
        send_time=draw(quarter(0, 24)),
        quiet_start=draw(st.one_of(quarter(18, 24), quarter(12, 14))),
        quiet_end=draw(st.one_of(quarter(5, 11), quarter(14, 16))),
    )
    status = draw(st.sampled_from([s.value for s in SessionStatus]))
    contact = PatientContact(
        "Anna",
        draw(st.sampled_from(["email", "sms", "outbox", "none"])),
        draw(st.booleans()),
        "anna@example.org",
        draw(st.sampled_from([None, "+4915112345678"])),
    )
    now = start_at + timedelta(minutes=draw(st.integers(-6 * 24 * 60, 6 * 24 * 60)))
    return SessionInfo("s-1", "c-1", 1, start_at, status), cfg, contact, now


@BOUNDED
@given(cases())
def test_r17_r18_r19_no_patient_reminder_in_quiet_hours_or_the_past(
    case: tuple[SessionInfo, ReminderSettings, PatientContact, datetime],
) -> None:
    info, cfg, contact, now = case
    reminders = plan_reminders(info, DEFAULT_RULES, contact, cfg, clinic_name=CLINIC, now=now, open_days=None)

    assert reminders == plan_reminders(info, DEFAULT_RULES, contact, cfg, clinic_name=CLINIC, now=now, open_days=None)
    assert len({r.identity for r in reminders}) == len(reminders)
    assert len({r.idempotency_key for r in reminders}) == len(reminders)
    for r in reminders:
        assert r.due_at > now and r.due_at.tzinfo is UTC
        if r.audience == "patient":
            assert not quiet(r.due_at, cfg), (r.kind, r.due_at.astimezone(cfg.zone))
        if r.kind == "appointment":
            assert r.due_at < info.start_at
