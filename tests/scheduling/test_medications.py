"""R15: NSAIDs recognised in free-text medication lists, and the warning naming the dates to pause them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduling.aftercare import AVOID_MEDICATION, EXERCISE, Rule, SessionRef, restrictions_on, windows_for
from scheduling.medications import (
    MEDICATION_CLASS_NSAID,
    NSAID_WARNING,
    NsaidMatch,
    find_in_class,
    find_nsaids,
    medication_warnings,
)
from scheduling.spans import DateRange

BERLIN = ZoneInfo("Europe/Berlin")
AVOID_NSAIDS = Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "No anti-inflammatory painkillers.", "nsaid")
EXERCISES = Rule("exercises", EXERCISE, 2, 12, "Do the exercises.")


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=BERLIN).astimezone(UTC)


@pytest.mark.parametrize(
    ("entry", "drug"),
    [
        # generics, any case, with doses and forms
        ("ibuprofen", "ibuprofen"),
        ("IBUPROFEN 400MG tablets", "ibuprofen"),
        ("Ibuprofen400mg", "ibuprofen"),
        ("naproxen sodium", "naproxen"),
        ("Aspirin 100", "aspirin"),
        ("acetylsalicylic acid 100 mg", "aspirin"),
        ("Acetyl-salicylic acid", "aspirin"),
        ("ASA 81 mg daily", "aspirin"),
        ("2 ASA tablets", "aspirin"),
        ("325 ASA", "aspirin"),
        ("Asa", "aspirin"),
        ("diclofenac 1% gel", "diclofenac"),
        ("Celecoxib 200mg", "celecoxib"),
        ("meloxicam 15 mg", "meloxicam"),
        ("ketorolac", "ketorolac"),
        ("indomethacin 25mg", "indomethacin"),
        ("Indometacin", "indomethacin"),
        ("etodolac", "etodolac"),
        ("nabumetone", "nabumetone"),
        ("piroxicam", "piroxicam"),
        ("ketoprofen", "ketoprofen"),
        ("dexketoprofen", "dexketoprofen"),
        ("flurbiprofen", "flurbiprofen"),
        ("oxaprozin", "oxaprozin"),
        ("sulindac", "sulindac"),
        ("diflunisal", "diflunisal"),
        ("Mefenamic acid 500 mg", "mefenamic acid"),
        ("etoricoxib", "etoricoxib"),
        ("nimesulide", "nimesulide"),
        ("tolmetin", "tolmetin"),
        ("fenoprofen", "fenoprofen"),
        ("salsalate", "salsalate"),
        # brands
        ("Advil 200 mg", "ibuprofen"),
        ("advil", "ibuprofen"),
        ("Advil PM", "ibuprofen"),
        ("Motrin IB", "ibuprofen"),
        ("Nurofen Express", "ibuprofen"),
        ("Brufen", "ibuprofen"),
        ("ALEVE", "naproxen"),
        ("EC-Naprosyn 500", "naproxen"),
        ("Anaprox DS", "naproxen"),
        ("Bayer 81 mg", "aspirin"),
        ("Ecotrin", "aspirin"),
        ("Excedrin Migraine", "aspirin"),
        ("Voltaren gel", "diclofenac"),
        ("Cataflam", "diclofenac"),
        ("Zorvolex", "diclofenac"),
        ("Celebrex", "celecoxib"),
        ("Mobic", "meloxicam"),
        ("Toradol", "ketorolac"),
        ("Sprix nasal spray", "ketorolac"),
        ("Indocin", "indomethacin"),
        ("Tivorbex", "indomethacin"),
        ("Feldene", "piroxicam"),
        ("Daypro", "oxaprozin"),
        ("Ponstel", "mefenamic acid"),
        ("Arcoxia 90", "etoricoxib"),
        # an entry naming the drug counts, however it names it (module docstring)
        ("ibuprofen-free", "ibuprofen"),
        ("(ibuprofen)", "ibuprofen"),
    ],
)
def test_r15_nsaid_names_are_recognised(entry: str, drug: str) -> None:
    assert find_nsaids([entry]) == [NsaidMatch(entry, drug)]


@pytest.mark.parametrize(
    "entry",
    [
        "acetaminophen 500 mg",
        "Paracetamol",
        "Tylenol Extra Strength",
        "Panadol",
        "metformin 850",
        "Asacol 400 mg",  # mesalamine: an aminosalicylate, not an NSAID here
        "mesalamine",
        "5-ASA",
        "5 ASA",
        "5ASA",
        "4-ASA",
        "mesalamine (5-ASA)",
        "sertraline",
        "lisinopril 10 mg",
        "Bayer",  # a company: Aleve, Claritin and Xarelto are Bayer products too
        "Xarelto (Bayer)",
        "pantoprazole",
        "codeine",
        "tramadol",
        "Basaglar",  # "asa" inside a word
        "Mobicard",
        "",
    ],
)
def test_r15_non_nsaids_never_match(entry: str) -> None:
    assert find_nsaids([entry]) == []


def test_r15_entries_keep_their_spelling_order_and_every_nsaid_they_name() -> None:
    medications = ["pantoprazole", "Vimovo (naproxen/esomeprazole)", "aspirin + ibuprofen", "Advil", "Advil"]

    assert find_nsaids(medications) == [
        NsaidMatch("Vimovo (naproxen/esomeprazole)", "naproxen"),
        NsaidMatch("aspirin + ibuprofen", "aspirin"),
        NsaidMatch("aspirin + ibuprofen", "ibuprofen"),
        NsaidMatch("Advil", "ibuprofen"),
    ]


@pytest.mark.parametrize(
    ("medication_class", "expected"),
    [
        (MEDICATION_CLASS_NSAID, [NsaidMatch("Advil 200 mg", "ibuprofen")]),
        ("NSAID", [NsaidMatch("Advil 200 mg", "ibuprofen")]),
        ("anticoagulant", []),  # a class Prolo does not know: no match, no crash
        ("", []),
    ],
)
def test_r15_find_in_class(medication_class: str, expected: list[NsaidMatch]) -> None:
    assert find_in_class(medication_class, ["Advil 200 mg", "warfarin"]) == expected


ADVIL = NsaidMatch("Advil 200 mg", "ibuprofen")


@pytest.mark.parametrize(
    ("session_days", "message"),
    [
        (
            [date(2027, 3, 1)],
            "Advil 200 mg contains ibuprofen, an NSAID: pause it from 2027-03-01 to 2027-03-05 (avoid_nsaids).",
        ),
        (
            [date(2027, 3, 1), date(2027, 3, 15), date(2027, 3, 29)],
            "Advil 200 mg contains ibuprofen, an NSAID: pause it from 2027-03-01 to 2027-03-05, "
            "from 2027-03-15 to 2027-03-19 and from 2027-03-29 to 2027-04-02 (avoid_nsaids).",
        ),
        (  # overlapping windows are one span of dates
            [date(2027, 3, 1), date(2027, 3, 4)],
            "Advil 200 mg contains ibuprofen, an NSAID: pause it from 2027-03-01 to 2027-03-08 (avoid_nsaids).",
        ),
    ],
)
def test_r15_pause_advice_names_the_drug_and_dates(session_days: list[date], message: str) -> None:
    windows = windows_for([SessionRef(f"s{i}", at(d)) for i, d in enumerate(session_days)], [AVOID_NSAIDS], BERLIN)

    assert [w.message for w in medication_warnings([ADVIL.medication], windows)] == [message]


def test_r15_pause_advice_for_a_single_day_and_without_nsaid_windows() -> None:
    one_day = Rule("no_nsaids_today", AVOID_MEDICATION, 0, 1, "Not today.", "nsaid")
    other = Rule("no_warfarin", AVOID_MEDICATION, 0, 3, "Ask your doctor.", "anticoagulant")
    session = SessionRef("s", at(date(2027, 3, 1)))

    assert [w.message for w in medication_warnings([ADVIL.medication], windows_for([session], [one_day], BERLIN))] == [
        "Advil 200 mg contains ibuprofen, an NSAID: pause it on 2027-03-01 (no_nsaids_today)."
    ]
    assert medication_warnings([ADVIL.medication], windows_for([session], [other, EXERCISES], BERLIN)) == []


def test_r15_warnings_for_booking_restrictions_and_check_in() -> None:
    medications = ["Advil 200 mg", "Tylenol", "naproxen sodium"]
    sessions = [SessionRef("s1", at(date(2027, 3, 1))), SessionRef("s2", at(date(2027, 3, 15)))]
    course = windows_for(sessions, [AVOID_NSAIDS, EXERCISES], BERLIN)

    # Booking: every avoid_medication window of the new course.
    booking = medication_warnings(medications, course)
    assert [(w.code, w.medication, w.drug) for w in booking] == [
        (NSAID_WARNING, "Advil 200 mg", "ibuprofen"),
        (NSAID_WARNING, "naproxen sodium", "naproxen"),
    ]
    assert booking[0].pause == (
        DateRange(date(2027, 3, 1), date(2027, 3, 5)),
        DateRange(date(2027, 3, 15), date(2027, 3, 19)),
    )
    assert booking[1].message == (
        "naproxen sodium contains naproxen, an NSAID: pause it from 2027-03-01 to 2027-03-05 "
        "and from 2027-03-15 to 2027-03-19 (avoid_nsaids)."
    )

    # Restrictions answer: only what is in force that day.
    on_day = medication_warnings(medications, restrictions_on(course, date(2027, 3, 16)))
    assert on_day[0].message == (
        "Advil 200 mg contains ibuprofen, an NSAID: pause it from 2027-03-15 to 2027-03-19 (avoid_nsaids)."
    )
    assert medication_warnings(medications, restrictions_on(course, date(2027, 3, 10))) == []  # exercises only

    # Check-in: the windows of the session checked in.
    check_in = medication_warnings(medications, windows_for(sessions[1:], [AVOID_NSAIDS, EXERCISES], BERLIN))
    assert [w.pause for w in check_in] == [(DateRange(date(2027, 3, 15), date(2027, 3, 19)),)] * 2

    assert medication_warnings(["Tylenol", "metformin"], course) == []


NAMES = {
    "Advil": "ibuprofen",
    "aspirin": "aspirin",
    "Aleve": "naproxen",
    "Voltaren": "diclofenac",
    "Mobic": "meloxicam",
}
NOT_LETTERS = st.text(alphabet="0123456789 -/(),.%+", max_size=8)


@given(st.sampled_from(sorted(NAMES)), NOT_LETTERS, NOT_LETTERS, st.booleans())
def test_r15_names_match_as_whole_words_between_non_letters(name: str, left: str, right: str, upper: bool) -> None:
    entry = f"{left}{name.upper() if upper else name}{right}"
    assert find_nsaids([entry]) == [NsaidMatch(entry, NAMES[name])]


@given(st.sampled_from(sorted(NAMES)), st.sampled_from(["x", "s", "é", "Z"]), st.booleans())
def test_r15_a_letter_glued_to_a_name_makes_another_word(name: str, letter: str, before: bool) -> None:
    entry = f"{letter}{name}" if before else f"{name}{letter}"
    assert find_nsaids([entry]) == []
