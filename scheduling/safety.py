"""Safety warnings shown at check-in: what the clinician must know before injecting again.

Returned as warnings, never silently dropped: a previous infection or allergic
reaction, an NSAID in the medication list (R15, built by `medications`), and a
recorded allergy that the protocol's injectate mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PREVIOUS_ADVERSE_EVENT = "previous_adverse_event"
ALLERGY_TO_INJECTATE = "allergy_to_injectate"
# The adverse events after which the next injection needs a clinician's look first.
ALARMING_EVENTS = frozenset({"infection", "allergic_reaction"})


@dataclass(frozen=True)
class PastEvent:
    session_number: int
    type: str
    severity: str


@dataclass(frozen=True)
class SafetyWarning:
    code: str
    message: str


def adverse_event_warnings(events: Iterable[PastEvent]) -> list[SafetyWarning]:
    """A warning for each infection or allergic reaction recorded at an earlier session."""
    return [
        SafetyWarning(
            PREVIOUS_ADVERSE_EVENT,
            f"session {e.session_number} recorded {e.type.replace('_', ' ')} ({e.severity}): "
            "check before injecting again",
        )
        for e in sorted(events, key=lambda e: e.session_number)
        if e.type in ALARMING_EVENTS
    ]


def allergy_warnings(allergies: Iterable[str], injectate: str) -> list[SafetyWarning]:
    """A warning for each recorded allergy whose name appears, as a word, in the injectate."""
    warnings = []
    for allergy in allergies:
        name = allergy.strip()
        if name and re.search(rf"(?<![a-z]){re.escape(name.casefold())}(?![a-z])", injectate.casefold()):
            warnings.append(
                SafetyWarning(ALLERGY_TO_INJECTATE, f"recorded allergy {name!r} matches the injectate {injectate!r}")
            )
    return warnings
