"""NSAIDs in a patient's medication list, and the warning that names the dates to pause them (R15).

Anti-inflammatory drugs dampen the inflammation prolotherapy sets off, so they are
avoided for a few days after each session (R13 ``avoid_nsaids``). A medication
list is free text ("Advil 200 mg", "naproxen sodium"), so names are matched
case-insensitively as whole words: a letter on either side is no match ("Asacol"
never holds "ASA"), a digit or punctuation is ("Advil200mg", "EC-Naprosyn").

Matching is deliberately simple: an entry that names the drug counts, even as
"ibuprofen-free" or "Aspirin Free Excedrin". A needless warning costs staff a
glance; a missed one costs the treatment. Company names are not drug names:
"Bayer" alone (it also makes Aleve, Claritin, Xarelto) is no match, only
"Bayer" followed by a dose ("Bayer 81 mg"), which is how its aspirin is written.

Messages name the entry, the drug and the dates; never a condition or diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from scheduling.aftercare import AVOID_MEDICATION, Restriction, Window, date_runs
from scheduling.spans import DateRange

MEDICATION_CLASS_NSAID = "nsaid"
NSAID_WARNING = "nsaid_in_medications"

# Canonical generic name → regular expressions of its generic and brand names, each
# matched as a whole word. Brands of combination products name the NSAID they hold.
_NSAIDS: dict[str, tuple[str, ...]] = {
    "ibuprofen": ("ibuprofen", "advil", "motrin", "nurofen", "brufen", "caldolor", "duexis"),
    "dexibuprofen": ("dexibuprofen",),
    "naproxen": ("naproxen", "aleve", "naprosyn", "anaprox", "naprelan", "vimovo"),
    "aspirin": (
        "aspirin",
        r"acetyl-?\s*salicylic",
        # ASA, but not 5-ASA or 4-ASA (aminosalicylates such as mesalamine, not NSAIDs);
        # "325 ASA" or "2 ASA tablets" still count.
        r"(?<!^[45])(?<!\D[45])(?<!^[45][-\s])(?<!\D[45][-\s])asa",
        r"bayer(?=\s*\d)",  # "Bayer 81 mg"; see the module docstring
        "ecotrin",
        "disprin",
        "excedrin",  # most Excedrin products hold aspirin with paracetamol and caffeine
    ),
    "diclofenac": (
        "diclofenac",
        "voltaren",
        "voltarol",
        "cataflam",
        "zorvolex",
        "zipsor",
        "cambia",
        "arthrotec",
        "pennsaid",
        "flector",
    ),
    "aceclofenac": ("aceclofenac",),
    "celecoxib": ("celecoxib", "celebrex"),
    "etoricoxib": ("etoricoxib", "arcoxia"),
    "parecoxib": ("parecoxib",),
    "meloxicam": ("meloxicam", "mobic", "vivlodex"),
    "piroxicam": ("piroxicam", "feldene"),
    "lornoxicam": ("lornoxicam",),
    "tenoxicam": ("tenoxicam",),
    "ketorolac": ("ketorolac", "toradol", "sprix"),
    "indomethacin": ("indomethacin", "indometacin", "indocin", "tivorbex"),
    "etodolac": ("etodolac", "lodine"),
    "nabumetone": ("nabumetone", "relafen"),
    "ketoprofen": ("ketoprofen", "orudis", "oruvail"),
    "dexketoprofen": ("dexketoprofen",),
    "flurbiprofen": ("flurbiprofen", "ansaid", "strefen"),
    "oxaprozin": ("oxaprozin", "daypro"),
    "sulindac": ("sulindac", "clinoril"),
    "diflunisal": ("diflunisal", "dolobid"),
    "mefenamic acid": ("mefenamic", "ponstel", "ponstan"),
    "meclofenamate": ("meclofenamate", "meclofenamic"),
    "tiaprofenic acid": ("tiaprofenic",),
    "nimesulide": ("nimesulide",),
    "tolmetin": ("tolmetin",),
    "fenoprofen": ("fenoprofen", "nalfon"),
    "salsalate": ("salsalate",),
}

# A whole word: no letter just before or after (digits and punctuation are fine).
_PATTERNS = tuple(
    (drug, re.compile(r"(?<![^\W\d_])(?:" + "|".join(names) + r")(?![^\W\d_])", re.IGNORECASE))
    for drug, names in _NSAIDS.items()
)


@dataclass(frozen=True)
class NsaidMatch:
    """A medication entry, as the patient's record writes it, and the NSAID it holds."""

    medication: str
    drug: str  # canonical generic name, e.g. "ibuprofen"


@dataclass(frozen=True)
class MedicationWarning:
    """A warning for the API's ``{code, message}`` list, with the data it was built from."""

    code: str  # e.g. NSAID_WARNING
    message: str
    medication: str
    drug: str
    pause: tuple[DateRange, ...]  # local dates, sorted, disjoint


def find_nsaids(medications: Iterable[str]) -> list[NsaidMatch]:
    """R15: every NSAID named in the list, entry by entry, in the order they are written.

    One entry naming two NSAIDs gives two matches; one naming a drug twice gives one.
    """
    found: list[NsaidMatch] = []
    for medication in medications:
        hits: list[tuple[int, str]] = []
        for drug, pattern in _PATTERNS:
            if (hit := pattern.search(medication)) is not None:
                hits.append((hit.start(), drug))
        for _, drug in sorted(hits):
            match = NsaidMatch(medication, drug)
            if match not in found:
                found.append(match)
    return found


# medication_class of an avoid_medication rule → (finder, how a message names the class, warning code).
_CLASSES: dict[str, tuple[Callable[[Iterable[str]], list[NsaidMatch]], str, str]] = {
    MEDICATION_CLASS_NSAID: (find_nsaids, "an NSAID", NSAID_WARNING),
}


def find_in_class(medication_class: str, medications: Iterable[str]) -> list[NsaidMatch]:
    """The medications of ``medication_class``; [] for a class Prolo cannot recognise."""
    known = _CLASSES.get(medication_class.casefold())
    return known[0](medications) if known else []


def medication_warnings(medications: Iterable[str], windows: Iterable[Window | Restriction]) -> list[MedicationWarning]:
    """R15: one warning per medication to pause during the given avoid_medication windows.

    Pass the windows the answer is about: a new course's windows (booking), the
    restrictions in force on a day (restrictions answer), or the checked-in
    session's windows (check-in). No such window, no warning: nothing to pause.
    """
    entries = list(medications)
    given = list(windows)
    warnings: list[MedicationWarning] = []
    for medication_class in sorted({(w.medication_class or "").casefold() for w in given}):
        known = _CLASSES.get(medication_class)
        relevant = _avoiding(medication_class, given)
        if known is None or not relevant:
            continue
        find, label, code = known
        pause = tuple(date_runs(relevant))
        for match in find(entries):
            message = _message(match, label, relevant)
            warnings.append(MedicationWarning(code, message, match.medication, match.drug, pause))
    return warnings


def _avoiding(medication_class: str, windows: Iterable[Window | Restriction]) -> list[Window | Restriction]:
    return [
        w for w in windows if w.kind == AVOID_MEDICATION and (w.medication_class or "").casefold() == medication_class
    ]


def _message(match: NsaidMatch, label: str, windows: list[Window | Restriction]) -> str:
    """ "Advil 200 mg contains ibuprofen, an NSAID: pause it from … to … (avoid_nsaids)." """
    spans = [
        f"on {r.start_date.isoformat()}"
        if r.start_date == r.end_date
        else f"from {r.start_date.isoformat()} to {r.end_date.isoformat()}"
        for r in date_runs(windows)
    ]
    dates = spans[0] if len(spans) == 1 else ", ".join(spans[:-1]) + " and " + spans[-1]
    codes = ", ".join(sorted({w.rule_code for w in windows}))
    return f"{match.medication} contains {match.drug}, {label}: pause it {dates} ({codes})."
