"""The words patients read in their calendar and on the handout (S9, S11): honest to R15's list, no diagnosis."""

import pytest

from scheduling.aftercare import KINDS
from scheduling.medications import find_nsaids
from scheduling.messages import COMMON_NSAIDS, NSAID_ALTERNATIVE, aftercare_title, when_to_call


@pytest.mark.parametrize(
    "name", [n.strip(" ()") for phrase in COMMON_NSAIDS for n in phrase.replace("(", ",").split(",")]
)
def test_r15_every_nsaid_named_to_patients_is_one_prolo_recognises(name: str) -> None:
    assert find_nsaids([name]), name


def test_r15_the_painkiller_patients_may_take_is_no_nsaid() -> None:
    assert find_nsaids([NSAID_ALTERNATIVE]) == []


@pytest.mark.parametrize("kind", KINDS)
def test_s9_every_aftercare_kind_has_a_title_for_patients(kind: str) -> None:
    title = aftercare_title(kind, "nsaid")
    assert title and title != "Aftercare"


def test_s9_the_nsaid_window_reads_as_the_class_patients_know() -> None:
    assert aftercare_title("avoid_medication", "nsaid") == "No anti-inflammatory painkillers (NSAIDs)"


def test_s11_when_to_call_names_fever_spreading_redness_and_bleeding_and_the_number() -> None:
    text = when_to_call("+49 89 1234567")
    assert all(sign in text for sign in ("fever", "redness", "spreads", "bleeding", "+49 89 1234567"))
    assert when_to_call(None).startswith("Call the clinic at once")
