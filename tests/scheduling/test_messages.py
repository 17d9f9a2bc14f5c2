"""R16, R22: reminder texts, locale-free dates, and no diagnosis in any message."""

from __future__ import annotations

import dataclasses
import inspect
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling import messages
from scheduling.aftercare import AVOID_MEDICATION, EXERCISE, EXPECT_SYMPTOMS, FOLLOW_UP, Rule
from scheduling.reminders import PatientContact, PlannedReminder, ReminderSettings, SessionInfo, plan_reminders

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2027, 3, 1), "Mon 1 Mar 2027"),
        (date(2027, 3, 2), "Tue 2 Mar 2027"),
        (date(2027, 3, 3), "Wed 3 Mar 2027"),
        (date(2027, 3, 4), "Thu 4 Mar 2027"),
        (date(2027, 3, 5), "Fri 5 Mar 2027"),
        (date(2027, 3, 6), "Sat 6 Mar 2027"),
        (date(2027, 3, 7), "Sun 7 Mar 2027"),
        (date(2027, 1, 31), "Sun 31 Jan 2027"),
        (date(2027, 12, 25), "Sat 25 Dec 2027"),
    ],
)
def test_dates_are_spelled_the_same_in_every_locale(day: date, expected: str) -> None:
    assert messages.day_text(day) == expected
    assert messages.day_text(day, with_year=False) == expected.rsplit(" ", 1)[0]


def test_a_moment_reads_in_the_clinics_wall_time() -> None:
    start_at = datetime(2027, 3, 29, 7, 5, tzinfo=UTC)  # after Berlin's spring change
    assert messages.moment_text(start_at.astimezone(BERLIN)) == "Mon 29 Mar 2027 at 09:05"


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (date(2027, 3, 1), date(2027, 3, 5), "from Mon 1 Mar to Fri 5 Mar"),
        (date(2027, 3, 1), date(2027, 3, 1), "on Mon 1 Mar"),
        (date(2027, 12, 30), date(2028, 1, 3), "from Thu 30 Dec 2027 to Mon 3 Jan 2028"),
    ],
)
def test_spans_name_both_days_and_the_year_only_over_new_year(first: date, last: date, expected: str) -> None:
    assert messages.span_text(first, last) == expected


@pytest.mark.parametrize(
    ("code", "names", "expected"),
    [
        ("nsaid", None, "anti-inflammatory painkillers (NSAIDs)"),
        ("NSAID", None, "anti-inflammatory painkillers (NSAIDs)"),
        ("nsaid", {"nsaid": "ibuprofen and similar painkillers"}, "ibuprofen and similar painkillers"),
        ("blood_thinners", None, "blood thinners"),
        ("blood_thinners", {"nsaid": "x"}, "blood thinners"),
    ],
)
def test_medication_classes_read_as_patients_say_them(code: str, names: dict[str, str] | None, expected: str) -> None:
    assert messages.class_name(code, names) == expected


def test_each_kind_has_its_template_and_only_email_gets_a_subject() -> None:
    start = datetime(2027, 3, 1, 9, tzinfo=BERLIN)
    first, last = date(2027, 3, 1), date(2027, 3, 5)
    nsaids = messages.class_name("nsaid")

    assert messages.appointment("Anna", "Riverside", start, email=True) == messages.Message(
        "Hello Anna, this is a reminder of your appointment at Riverside on Mon 1 Mar 2027 at 09:00.",
        "Your appointment at Riverside on Mon 1 Mar 2027 at 09:00",
    )
    assert messages.aftercare_start("Anna", "Riverside", nsaids, first, last, email=False) == messages.Message(
        "Hello Anna, this is Riverside. "
        "Please avoid anti-inflammatory painkillers (NSAIDs) from Mon 1 Mar to Fri 5 Mar."
    )
    assert messages.aftercare_end("Anna", "Riverside", nsaids, date(2027, 3, 6), email=False).body == (
        "Hello Anna, this is Riverside. From Sat 6 Mar you may take anti-inflammatory painkillers (NSAIDs) again."
    )
    assert messages.exercise("Anna", "Riverside", date(2027, 3, 3), email=False).body == (
        "Hello Anna, this is Riverside. From Wed 3 Mar, please start the exercises you were shown."
    )
    assert messages.follow_up("Anna", 3) == messages.Message(
        "Follow-up call due: patient Anna, session 3, check for infection, bleeding, allergic reaction."
    )
    for email in (True, False):
        texts = [
            messages.appointment("Anna", "Riverside", start, email=email),
            messages.aftercare_start("Anna", "Riverside", nsaids, first, last, email=email),
            messages.aftercare_end("Anna", "Riverside", nsaids, last, email=email),
            messages.exercise("Anna", "Riverside", first, email=email),
        ]
        assert all((t.subject is not None) == email for t in texts)


# --- R22: no diagnosis ---------------------------------------------------------------------------------

# Conditions and target areas as a course records them (SPEC: "chronic low back pain,
# sacroiliac joint, knee"), and words that would give one away.
CONDITION_WORDS = (
    "chronic",
    "low back",
    "back pain",
    "sacroiliac",
    "joint",
    "knee",
    "shoulder",
    "hip",
    "elbow",
    "ankle",
    "wrist",
    "neck",
    "lumbar",
    "cervical",
    "tendon",
    "tendin",
    "ligament",
    "osteoarthritis",
    "arthritis",
    "plantar",
    "fasciitis",
    "epicondyl",
    "rotator",
    "injury",
    "diagnos",
    "condition",
    "prolotherapy",
    "dextrose",
    "injection",
    "inject",
)
# Rules as clinics write them: free instruction text that names the condition. None of it may leak.
CLINIC_RULES = (
    Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "No ibuprofen for your knee osteoarthritis injection.", "nsaid"),
    Rule("expect_symptoms", EXPECT_SYMPTOMS, 0, 3, "Your sacroiliac joint will ache after the dextrose injection."),
    Rule("follow_up", FOLLOW_UP, 3, 1, "Call about the lumbar injection: infection, bleeding, allergic reaction."),
    Rule("exercises", EXERCISE, 2, 12, "Rotator cuff and low back pain exercises."),
)
FIRST_NAMES = ("Anna", "Jürgen", "María José", "O'Brien", "Zoë", "Li", "Amelia-Rose")
CLINICS = ("Riverside Clinic", "Praxis am Markt", "Dr. Weber & Partner", "Northside Health")


def condition_words_in(text: str) -> list[str]:
    return [w for w in CONDITION_WORDS if re.search(rf"\b{re.escape(w)}", text, re.IGNORECASE)]


def test_r22_nothing_the_planner_takes_can_hold_a_condition() -> None:
    clinical = re.compile(r"condition|diagnos|target|area|note|instruction|injectate", re.IGNORECASE)
    for cls in (SessionInfo, PatientContact, PlannedReminder):
        assert not [f.name for f in dataclasses.fields(cls) if clinical.search(f.name)], cls
    assert not [p for p in inspect.signature(plan_reminders).parameters if clinical.search(p)]


@settings(max_examples=200, deadline=None)
@given(
    first_name=st.sampled_from(FIRST_NAMES),
    clinic=st.sampled_from(CLINICS),
    channel=st.sampled_from(["sms", "email", "outbox"]),
    day=st.dates(date(2027, 1, 1), date(2027, 12, 31)),
    minutes=st.integers(8 * 4, 17 * 4 - 1).map(lambda n: n * 15),
    number=st.integers(1, 12),
)
def test_r22_no_message_names_a_condition(
    first_name: str, clinic: str, channel: str, day: date, minutes: int, number: int
) -> None:
    start = datetime.combine(day, time(), tzinfo=BERLIN) + timedelta(minutes=minutes)
    info = SessionInfo("s-1", "c-1", number, start.astimezone(UTC), "scheduled")
    contact = PatientContact(first_name, channel, True, "anna@example.org", "+4915112345678")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    reminders = plan_reminders(
        info, CLINIC_RULES, contact, ReminderSettings(BERLIN), clinic_name=clinic, now=now, open_days=None
    )

    assert {r.kind for r in reminders} == {
        *("appointment", "confirm_request", "aftercare_start", "aftercare_end", "exercise", "follow_up")
    }
    for r in reminders:
        assert condition_words_in(r.body) == [], (r.kind, r.body)
        assert condition_words_in(r.subject or "") == [], (r.kind, r.subject)
