"""R13/R16: the staff's follow-up call goes on the clinic's next open day, never on a day nobody is there."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.aftercare import AVOID_MEDICATION, EXERCISE, EXPECT_SYMPTOMS, FOLLOW_UP, Rule, SessionRef, windows_for
from scheduling.errors import CalendarTooShort
from scheduling.hours import HoursInterval
from scheduling.open_days import FOLLOW_UP_REACH_DAYS, OpenDays, follow_up_day, follow_up_reach
from scheduling.reminders import PatientContact, ReminderSettings, SessionInfo, plan_reminders
from scheduling.spans import DateRange

BERLIN = ZoneInfo("Europe/Berlin")
EARLY = datetime(2027, 1, 1, tzinfo=UTC)
# R13: the default protocol's rules.
RULES = (
    Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "Do not take anti-inflammatory painkillers.", "nsaid"),
    Rule("expect_symptoms", EXPECT_SYMPTOMS, 0, 3, "Some pain and stiffness is expected."),
    Rule("follow_up", FOLLOW_UP, 3, 1, "Staff call: infection, bleeding, allergic reaction."),
    Rule("exercises", EXERCISE, 2, 12, "Do the exercises you were shown."),
)
MON_TO_FRI = tuple(HoursInterval(day, time(8), time(17)) for day in range(5))
EASTER_2027 = (DateRange(date(2027, 3, 26), date(2027, 3, 26)), DateRange(date(2027, 3, 29), date(2027, 3, 29)))
WHIT_MONDAY_2027 = DateRange(date(2027, 5, 17), date(2027, 5, 17))
CLINIC = OpenDays.of(MON_TO_FRI, (*EASTER_2027, WHIT_MONDAY_2027))


def at(day: date, wall: str = "10:00") -> datetime:
    return datetime.combine(day, time.fromisoformat(wall), tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("session_day", "call_day"),
    [
        (date(2027, 3, 1), date(2027, 3, 4)),  # Monday: day 3 is Thursday, open
        (date(2027, 3, 5), date(2027, 3, 8)),  # Friday: R13's day 3 is the Monday after, open
        (date(2027, 3, 3), date(2027, 3, 8)),  # Wednesday: day 3 is Saturday, so Monday
        (date(2027, 3, 4), date(2027, 3, 8)),  # Thursday: day 3 is Sunday, so Monday
        (date(2027, 3, 24), date(2027, 3, 30)),  # Wednesday: Saturday, Sunday, then Easter Monday: Tuesday
        (date(2027, 5, 14), date(2027, 5, 18)),  # Friday: day 3 is Whit Monday, a public holiday: Tuesday
    ],
)
def test_r16_the_follow_up_call_goes_on_the_next_open_day(session_day: date, call_day: date) -> None:
    (window,) = [
        w
        for w in windows_for([SessionRef("s", at(session_day))], RULES, BERLIN, open_days=CLINIC)
        if w.kind == FOLLOW_UP
    ]
    assert (window.from_date, window.until_date) == (call_day, call_day)
    assert follow_up_day(session_day + timedelta(days=3), CLINIC) == call_day


def test_r16_only_the_call_moves_the_patients_own_windows_keep_their_days() -> None:
    session = SessionRef("s", at(date(2027, 3, 24)))  # Wednesday before Easter
    moved = {w.rule_code: (w.from_date, w.until_date) for w in windows_for([session], RULES, BERLIN, open_days=CLINIC)}
    every_day = {w.rule_code: (w.from_date, w.until_date) for w in windows_for([session], RULES, BERLIN)}
    assert moved.pop("follow_up") == (date(2027, 3, 30), date(2027, 3, 30))
    assert every_day.pop("follow_up") == (date(2027, 3, 27), date(2027, 3, 27))  # no open days given: day 3
    assert moved == every_day  # NSAIDs, soreness and exercises run over the weekend and the holiday as before


def test_r16_a_longer_call_window_starts_on_its_first_open_day_and_keeps_its_end() -> None:
    rules = [Rule("call", FOLLOW_UP, 3, 4, "Call within days 3 to 6.")]
    (window,) = windows_for([SessionRef("s", at(date(2027, 3, 3)))], rules, BERLIN, open_days=CLINIC)
    assert (window.from_date, window.until_date) == (date(2027, 3, 8), date(2027, 3, 9))  # Sat–Tue: Mon–Tue


def test_r16_with_no_open_day_in_reach_the_call_stays_on_its_rules_day() -> None:
    summer_break = OpenDays.of(MON_TO_FRI, [DateRange(date(2027, 7, 26), date(2027, 8, 20))])
    assert follow_up_day(date(2027, 7, 29), summer_break) == date(2027, 7, 29)  # all of its reach is closed
    assert follow_up_day(date(2027, 8, 19), summer_break) == date(2027, 8, 23)  # the Monday the clinic reopens
    never_open = OpenDays.of(())
    assert follow_up_day(date(2027, 3, 6), never_open) == date(2027, 3, 6)


def test_r16_open_days_refuse_a_date_they_were_not_loaded_for() -> None:
    reach = follow_up_reach([date(2027, 3, 27), date(2027, 3, 13)])
    assert reach == DateRange(date(2027, 3, 13), date(2027, 3, 27) + timedelta(days=FOLLOW_UP_REACH_DAYS))
    assert follow_up_reach([]) is None
    loaded = OpenDays.of(MON_TO_FRI, EASTER_2027, DateRange(date(2027, 3, 27), date(2027, 3, 28)))
    with pytest.raises(CalendarTooShort):
        follow_up_day(date(2027, 3, 27), loaded)  # Saturday, Sunday, then Monday: never loaded, never guessed


def test_r16_r19_the_staff_reminder_is_due_on_the_open_day_under_a_new_key() -> None:
    session = SessionInfo("s-1", "c-1", 2, at(date(2027, 3, 24)).astimezone(UTC), "scheduled")
    contact = PatientContact("Anna", "sms", consent=True, phone="+4915112345678")
    settings = ReminderSettings(BERLIN)

    def follow_up(open_days: OpenDays | None) -> tuple[str, str]:
        reminders = plan_reminders(
            session, RULES, contact, settings, clinic_name="Isar", now=EARLY, open_days=open_days
        )
        (call,) = [r for r in reminders if r.kind == FOLLOW_UP]
        return call.due_at.astimezone(BERLIN).isoformat(), call.idempotency_key

    saturday, on_saturday = follow_up(None)
    tuesday, on_tuesday = follow_up(CLINIC)
    assert saturday == "2027-03-27T09:00:00+01:00"
    assert tuesday == "2027-03-30T09:00:00+02:00"  # the send time of the open day, in summer time by then
    assert on_tuesday != on_saturday  # another day is another message (R19, R21)
    assert follow_up(CLINIC) == (tuesday, on_tuesday)  # and planning it again gives the same one
