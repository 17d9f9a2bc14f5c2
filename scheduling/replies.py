"""What a patient's SMS reply means and what Prolo does about it (R31–R33).

Pure: the shell finds the facts (is the number opted out, who owns it, the open
prompt, when Prolo last answered an unclear text) and applies the decision.

R32's table, first matching row wins. A keyword is the whole message, trimmed,
without trailing ``.``/``!``, case-folded. Opt-out and opt-in keywords and HELP
apply to the number whoever owns it (carriers and the FCC's 2025 rule, FCC 24-24,
make them the number's, not the patient's). CANCEL is an opt-out, never a session
cancel: a patient who meant the session gets a person (``cancel_keyword``). N, NO
and X never cancel either: a machine does not end treatment on one letter.

A text that is not a keyword but says stop, unsubscribe, revoke or "opt out" is
taken as an opt-out at once (FCC 24-24: "any reasonable means"); a person then
checks it (``possible_opt_out``) and clears it if it was none. Everything else a
machine cannot be sure of goes to staff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    """What Prolo understood (API ``intent``)."""

    confirm = "confirm"
    change = "change"
    decline = "decline"
    opt_out = "opt_out"
    opt_in = "opt_in"
    help = "help"
    unclear = "unclear"
    offer_reply = "offer_reply"
    possible_opt_out = "possible_opt_out"


class Outcome(StrEnum):
    """What Prolo did (API ``outcome``): the first that holds, in this order."""

    applied = "applied"  # a session or the number's opt-out changed
    staff_item = "staff_item"
    answered = "answered"
    none = "none"


class Sender(StrEnum):
    """Who has the number among active patients (R31)."""

    unknown = "unknown"
    one = "one"
    shared = "shared"


class Answer(StrEnum):
    """Which text goes back (an ``sms_reply``, sent by the dispatcher, never inline: R30)."""

    opted_out = "opted_out"
    opted_in = "opted_in"
    help = "help"
    offer = "offer"
    offer_ended = "offer_ended"  # R44: the offer was taken, withdrawn or expired; the booking is unchanged
    confirmed = "confirmed"
    change = "change"
    decline = "decline"
    unclear = "unclear"


class StaffReason(StrEnum):
    """Why a person must look at a reply (a ``reply_review`` staff item's ``reason``)."""

    sms_opted_out = "sms_opted_out"
    cancel_keyword = "cancel_keyword"
    possible_opt_out = "possible_opt_out"
    unknown_sender = "unknown_sender"
    ambiguous_sender = "ambiguous_sender"
    no_open_prompt = "no_open_prompt"
    declined = "declined"
    unclear = "unclear"


OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out"})
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
CONFIRM_WORDS = frozenset({"c", "y", "yes", "confirm", "ok"})
CHANGE_WORDS = frozenset({"r", "reschedule", "change"})
DECLINE_WORDS = frozenset({"n", "no", "x"})
# R33: the opt-out's source, and the reason on the texts it skips
SMS_OPTED_OUT, POSSIBLE_OPT_OUT, KEYWORD, STAFF = "sms_opted_out", "possible_opt_out", "keyword", "staff"
YES = "yes"
CANCEL = "cancel"
WAITLIST_OFFER = "waitlist_offer"
# R31: the kinds of SMS that invite a reply, so a later reply may answer them
PROMPT_KINDS = frozenset({"confirm_request", "appointment", "change_notice", WAITLIST_OFFER})
# R32: not a keyword, but these words mean the patient may want no more texts
_POSSIBLE_OPT_OUT = re.compile(r"\b(stop|unsubscribe|revoke|opt[\s-]*out)\b")


def keyword(body: str) -> str:
    """R32: the body trimmed, trailing `.`/`!` dropped, case-folded (inner spaces made single)."""
    return " ".join(body.strip().rstrip(".! \t\r\n").casefold().split())


@dataclass(frozen=True)
class Situation:
    """What the shell found out about one inbound message."""

    body: str
    opted_out: bool  # the number has an opt-out on record
    sender: Sender
    prompt_kind: str | None  # the open prompt's reminder kind (R31), None without one
    unclear_answered_recently: bool = False  # an unclear-text answer went to the number within 24 h
    keyword_replies: bool = False  # Prolo confirms opt-outs and opt-ins itself (PROLO_SMS_KEYWORD_REPLIES=prolo)


@dataclass(frozen=True)
class Decision:
    """What to do: ``opt`` the number out or in, confirm the prompt's sessions, raise staff items, answer."""

    intent: Intent
    opt: str | None = None  # "out" | "in"
    opt_source: str | None = None  # "keyword" | "possible_opt_out"
    confirm: bool = False
    staff: tuple[StaffReason, ...] = ()
    answer: Answer | None = None


def decide(s: Situation) -> Decision:
    """R31–R32: what one inbound message means and what Prolo does, before it knows who changed what."""
    word = keyword(s.body)
    prompt = s.prompt_kind is not None
    if word in OPT_OUT_WORDS:
        if s.opted_out:  # a second STOP: already honoured, nothing more to do
            return Decision(Intent.opt_out)
        staff = (StaffReason.sms_opted_out,) + ((StaffReason.cancel_keyword,) if word == CANCEL and prompt else ())
        answer = Answer.opted_out if s.keyword_replies else None
        return Decision(Intent.opt_out, opt="out", opt_source="keyword", staff=staff, answer=answer)
    if word in OPT_IN_WORDS or (word == YES and s.opted_out):
        if not s.opted_out:
            return Decision(Intent.opt_in)
        return Decision(Intent.opt_in, opt="in", answer=Answer.opted_in if s.keyword_replies else None)
    if word in HELP_WORDS:
        return Decision(Intent.help, answer=Answer.help)
    if _POSSIBLE_OPT_OUT.search(word):
        if s.opted_out:
            return Decision(Intent.possible_opt_out, staff=(StaffReason.possible_opt_out,))
        return Decision(
            Intent.possible_opt_out, opt="out", opt_source="possible_opt_out", staff=(StaffReason.possible_opt_out,)
        )
    intent = _intent(word, s.prompt_kind)
    if not prompt and s.sender is Sender.unknown:
        return Decision(intent, staff=(StaffReason.unknown_sender,))
    if not prompt and s.sender is Sender.shared:
        return Decision(intent, staff=(StaffReason.ambiguous_sender,))
    if intent is Intent.offer_reply:
        return Decision(intent, answer=Answer.offer)
    if intent is Intent.confirm:
        if not prompt:
            return Decision(intent, staff=(StaffReason.no_open_prompt,))
        return Decision(intent, confirm=True, answer=Answer.confirmed)
    if intent is Intent.change:
        return Decision(intent, answer=Answer.change)
    if intent is Intent.decline:
        return Decision(intent, staff=(StaffReason.declined,), answer=Answer.decline)
    # R32: one automatic answer per number per 24 h, so two machines never talk to each other for ever
    return Decision(
        intent, staff=(StaffReason.unclear,), answer=None if s.unclear_answered_recently else Answer.unclear
    )


def _intent(word: str, prompt_kind: str | None) -> Intent:
    if word in CONFIRM_WORDS:
        return Intent.offer_reply if prompt_kind == WAITLIST_OFFER else Intent.confirm
    if word in CHANGE_WORDS:
        return Intent.change
    if word in DECLINE_WORDS:
        return Intent.decline
    return Intent.unclear


def outcome(decision: Decision, *, changed: bool) -> Outcome:
    """API ``outcome``: `applied` when a session or the opt-out changed, else `staff_item`, `answered`, `none`."""
    if changed:
        return Outcome.applied
    if decision.staff:
        return Outcome.staff_item
    if decision.answer is not None:
        return Outcome.answered
    return Outcome.none


EMERGENCY = "If you feel very unwell, call emergency services."


def answer_text(
    answer: Answer, *, clinic_name: str, phone: str | None, sessions: tuple[str, ...] = (), link: str | None = None
) -> str:
    """The `sms_reply` for `answer`: the clinic's name and phone, the sessions it is about (`moment_text`s),
    the session's own page or the offer's (`link`, R23) where the patient can act, and how to stop or restart
    texts; never a diagnosis (R22)."""
    call = f"call {phone}" if phone else "call the clinic"
    act = f"use {link} or {call}" if link else call
    when = ", ".join(sessions)
    texts = {
        Answer.opted_out: "you will get no more texts from us. Reply START to get them again.",
        Answer.opted_in: "texts from us are on again. Reply STOP to stop them.",
        Answer.help: f"questions about your sessions: {call}. Reply STOP to stop texts, START to get them again.",
        Answer.offer: f"to take the offered time, {f'use {link}' if link else 'use the link in our message'}"
        f" (first to accept gets it), or {call}.",
        Answer.offer_ended: f"that offer has ended; your booking is unchanged. Questions: {call}.",
        Answer.confirmed: f"Confirmed: {when}. Thank you." if when else "Confirmed. Thank you.",
        Answer.change: f"to change your session{' on ' + when if when else ''}, please {act}.",
        Answer.decline: f"thank you for letting us know. To change or cancel your session, please {act}.",
        Answer.unclear: f"we could not read your reply; please {call}. {EMERGENCY}",
    }
    return f"{clinic_name}: {texts[answer]}"
