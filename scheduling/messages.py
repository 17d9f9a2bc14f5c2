"""Reminder texts, and the words patients read in their calendar and on the handout (R16, R22, S9, S11).

One template per kind, plain English, the same on every machine.

A text is built from the patient's first name, the clinic's name, dates and times,
a session number and the name of a medication class, and from nothing else: no
condition, target area, diagnosis, clinical note, or the protocol's free-text
instruction ever reaches this module, so an SMS cannot carry a diagnosis (R22)
by construction. The planner is never handed one either (see ``reminders``).

Dates are spelled with fixed English names ("Mon 1 Mar 2027 at 09:00"), never with
``strftime``'s ``%a``/``%b``, which follow the process locale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from scheduling.aftercare import AVOID_MEDICATION, EXERCISE, EXPECT_SYMPTOMS, FOLLOW_UP

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# How a patient reads an avoid_medication rule's class (R12, R15). Callers may add
# or override names; a class not named anywhere reads as its code ("blood_thinners"
# → "blood thinners").
DEFAULT_MEDICATION_CLASS_NAMES: Mapping[str, str] = MappingProxyType(
    {"nsaid": "anti-inflammatory painkillers (NSAIDs)"}
)

# R13's follow_up rule: what staff ask about on the call.
FOLLOW_UP_CHECKS = "check for infection, bleeding, allergic reaction"

# NSAIDs as patients know them, by the names on the box; R15 recognises every one (a test checks).
COMMON_NSAIDS = ("ibuprofen (Advil, Motrin, Nurofen)", "naproxen (Aleve)", "aspirin", "diclofenac (Voltaren)")
# What patients may take for the pain instead: it eases pain without dampening the inflammation.
NSAID_ALTERNATIVE = "Paracetamol/acetaminophen (Tylenol, Panadol) is fine."
# R13's follow-up checks (infection, bleeding, allergic reaction) as signs a patient can see:
# any of them and the patient calls the clinic at once, without waiting for the clinic's call.
CALL_THE_CLINIC_IF = (
    "a fever or chills",
    "redness, warmth or swelling that spreads or gets worse",
    "bleeding that does not stop",
    "a rash, hives or a swollen face (if breathing is hard, call emergency services)",
)
# The title of an aftercare window's day in a calendar, by R12 kind: no drug of the patient's own,
# no condition, so it may stand in a feed anyone holding the URL can read (S9).
_AFTERCARE_TITLES = {
    AVOID_MEDICATION: "No {medication}",
    EXPECT_SYMPTOMS: "Some soreness is normal",
    EXERCISE: "Do your exercises",
    FOLLOW_UP: "The clinic calls to check on you",
}


# What no single line of text holds: C0 and C1 control characters (line breaks, tabs, NUL, escape …), DEL,
# and Unicode's line and paragraph separators. A name with one breaks an email header or a calendar line.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def is_one_line(text: str) -> bool:
    """True when ``text`` has no line break or other control character (names, reasons: S2)."""
    return _NOT_ONE_LINE.search(text) is None


def one_line(text: str) -> str:
    """``text`` on one line: control characters become spaces, runs of spaces one (rows stored before S2)."""
    return " ".join(_NOT_ONE_LINE.sub(" ", text).split())


@dataclass(frozen=True)
class Message:
    """A reminder's text; ``subject`` only for email; ``rider``: its words when another message carries them (R38)."""

    body: str
    subject: str | None = None
    rider: str | None = field(default=None, compare=False)  # the same message, said on another's back


def day_text(day: date, *, with_year: bool = True) -> str:
    """``Mon 1 Mar 2027``, or ``Mon 1 Mar`` without the year."""
    text = f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if with_year else text


def moment_text(local: datetime) -> str:
    """``Mon 1 Mar 2027 at 09:00`` for an aware datetime already in the clinic's zone."""
    return f"{day_text(local.date())} at {local.hour:02d}:{local.minute:02d}"


def span_text(from_date: date, until_date: date) -> str:
    """``from Mon 1 Mar to Fri 5 Mar`` (both days included), or ``on Mon 1 Mar`` for one day.

    The year is left out unless the span crosses New Year, where it is the only way
    to read it right.
    """
    with_year = from_date.year != until_date.year
    if from_date == until_date:
        return f"on {day_text(from_date, with_year=False)}"
    return f"from {day_text(from_date, with_year=with_year)} to {day_text(until_date, with_year=with_year)}"


def class_name(medication_class: str, names: Mapping[str, str] | None = None) -> str:
    """The patient-facing name of a medication class: ``names`` first, then the defaults."""
    key = medication_class.casefold()
    for table in (names or {}, DEFAULT_MEDICATION_CLASS_NAMES):
        if key in table:
            return table[key]
    return medication_class.replace("_", " ")


def aftercare_title(kind: str, medication_class: str | None) -> str:
    """An aftercare window (R12) as a calendar event's title: "No anti-inflammatory painkillers (NSAIDs)"."""
    medication = class_name(medication_class or "medication")
    return _AFTERCARE_TITLES.get(kind, "Aftercare").format(medication=medication)


def when_to_call(phone: str | None) -> str:
    """ "Call the clinic (+49 …) at once if you have a fever or chills; …" """
    clinic = f"the clinic ({phone})" if phone else "the clinic"
    signs = "; ".join(CALL_THE_CLINIC_IF[:-1]) + "; or " + CALL_THE_CLINIC_IF[-1]
    return f"Call {clinic} at once if you have {signs}."


def appointment(
    first_name: str, clinic_name: str, start_local: datetime, *, email: bool, link: str | None = None
) -> Message:
    """R16 ``appointment``: where and when, nothing about why; with the session's link (R23), the one link."""
    when = moment_text(start_local)
    body = f"Hello {first_name}, this is a reminder of your appointment at {clinic_name} on {when}."
    if link is not None:
        body += f" {manage_text(link)}"
    return Message(body, f"Your appointment at {clinic_name} on {when}" if email else None)


def manage_text(link: str) -> str:
    """What a message says about the session's link (R23): short, as an SMS must be."""
    return f"To confirm, cancel or move it: {link}"


def aftercare_start(
    first_name: str, clinic_name: str, medication: str, from_date: date, until_date: date, *, email: bool
) -> Message:
    """R16 ``aftercare_start``: the class to avoid and the days, both included."""
    span = span_text(from_date, until_date)
    rider = f"Please avoid {medication} {span}."
    body = f"Hello {first_name}, this is {clinic_name}. {rider}"
    return Message(body, f"Aftercare: please avoid {medication} {span}" if email else None, rider)


def aftercare_end(first_name: str, clinic_name: str, medication: str, resume_date: date, *, email: bool) -> Message:
    """R16 ``aftercare_end``: "you may resume …" from the day after the window."""
    day = day_text(resume_date, with_year=False)
    rider = f"From {day} you may take {medication} again."
    body = f"Hello {first_name}, this is {clinic_name}. {rider}"
    return Message(body, f"Aftercare: from {day} you may take {medication} again" if email else None, rider)


def exercise(first_name: str, clinic_name: str, from_date: date, *, email: bool) -> Message:
    """R16 ``exercise``: once, on the first day of the exercise window."""
    day = day_text(from_date, with_year=False)
    rider = f"From {day}, please start the exercises you were shown."
    body = f"Hello {first_name}, this is {clinic_name}. {rider}"
    return Message(body, f"Aftercare: your exercises start on {day}" if email else None, rider)


def follow_up(first_name: str, session_number: int) -> Message:
    """R13/R16 ``follow_up``: a call for staff, through the outbox; no subject, no condition."""
    return Message(f"Follow-up call due: patient {first_name}, session {session_number}, {FOLLOW_UP_CHECKS}.")


def confirm_request(
    first_name: str, clinic_name: str, start_local: datetime, *, channel: str, phone: str | None, link: str | None
) -> Message:
    """R35 ``confirm_request``: the patient answers by text, on the session's page, or by phone."""
    when = moment_text(start_local)
    call = f"call us on {phone}" if phone else "call the clinic"
    if channel == "sms":
        how = f"reply C, or use {link}" if link else f"reply C, or {call}"
    else:  # an email or the front desk's outbox: nobody reads a reply
        how = f"use {link}, or {call}" if link else call
    body = f"Hello {first_name}, please confirm your session at {clinic_name} on {when}: {how}."
    return Message(body, f"Please confirm your session at {clinic_name} on {when}" if channel == "email" else None)


@dataclass(frozen=True)
class Change:
    """One line of a change notice (R37): a session's number, what the patient was told and what holds now."""

    number: int
    was_local: datetime | None  # None: the patient was never told of this session (a replacement)
    now_local: datetime | None  # None: cancelled
    link: str | None = None  # the session's own page, when Prolo has one


def change_line(change: Change) -> str:
    """ "session 3: now Tue 9 Mar 2027 at 10:00 (was Mon 8 Mar 2027 at 09:00)" """
    if change.now_local is None:
        text = "cancelled" if change.was_local is None else f"cancelled (was {moment_text(change.was_local)})"
    elif change.was_local is None:
        text = f"new, on {moment_text(change.now_local)}"
    else:
        text = f"now {moment_text(change.now_local)} (was {moment_text(change.was_local)})"
    return f"session {change.number}: {text}" + (f", {change.link}" if change.link and change.now_local else "")


def change_notice(
    first_name: str, clinic_name: str, changes: list[Change], *, phone: str | None, email: bool
) -> Message:
    """R37 ``change_notice``: the final state of every session whose time or status changed."""
    lines = "; ".join(change_line(c) for c in changes)
    call = f" Questions? Call {phone}." if phone else ""
    body = f"Hello {first_name}, this is {clinic_name}. Your sessions have changed: {lines}.{call}"
    return Message(body, f"Your sessions at {clinic_name} have changed" if email else None)
