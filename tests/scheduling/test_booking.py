"""A booking decided in one call: the plan, and what staff must be told about it (R6, R15)."""

from __future__ import annotations

from datetime import date

from scheduling import DateRange
from scheduling.aftercare import AVOID_MEDICATION, EXPECT_SYMPTOMS, Rule
from scheduling.booking import Notice, plan_booking
from scheduling.protocol import OUTSIDE_WINDOW
from tests.scheduling.planner_builders import MON, NOW, calendar, closed, day, diary, hours, plan, protocol, t

EVERY_DAY = hours("08:00-17:00", days=range(7))
RULES = (
    Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "No NSAIDs.", "nsaid"),
    Rule("expect_symptoms", EXPECT_SYMPTOMS, 0, 3, "Soreness is normal."),
)


def book(closures: list[DateRange], medications: list[str]) -> tuple[list[tuple[date, str]], tuple[Notice, ...]]:
    cal = calendar(opening=EVERY_DAY, closures=closures)
    decided = plan_booking(
        cal, protocol(session_count=3), start_date=MON, preferred_time=t("09:00"), rules=RULES,
        medications=medications, now=NOW,
    )  # fmt: skip
    return diary(decided.plan), decided.notices


def test_a_booking_plans_exactly_as_the_planner_does() -> None:
    cal = calendar(opening=EVERY_DAY, closures=[closed(day(11), day(17))])
    planned, _ = book([closed(day(11), day(17))], [])
    assert planned == diary(plan(cal, protocol(session_count=3), preferred_time="09:00"))


def test_nothing_to_tell_staff_about_a_course_in_its_windows_for_a_patient_without_nsaids() -> None:
    _, notices = book([], ["metformin"])
    assert notices == ()


def test_a_session_after_its_window_and_an_nsaid_to_pause_are_both_told() -> None:
    _, notices = book([closed(day(11), day(17))], ["Advil 200 mg"])
    assert [n.code for n in notices] == [OUTSIDE_WINDOW, "nsaid_in_medications"]
    assert notices[0].message.startswith("session 2: ") and "(R6)" in notices[0].message
    # R15: the drug by the patient's own words, and the dates to pause it around every session
    assert "Advil 200 mg" in notices[1].message and "ibuprofen" in notices[1].message
    assert str(MON) in notices[1].message and str(day(18)) in notices[1].message
