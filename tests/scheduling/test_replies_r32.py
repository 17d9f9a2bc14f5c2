"""R31–R32: what a patient's text means and what Prolo does about it, row by row of R32's table."""

import pytest

from scheduling.replies import (
    Answer,
    Decision,
    Intent,
    Outcome,
    Sender,
    Situation,
    StaffReason,
    answer_text,
    decide,
    keyword,
    outcome,
)

ONE = Sender.one
PROMPT = "appointment"


def situation(body: str, **fields: object) -> Situation:
    values: dict[str, object] = dict(body=body, opted_out=False, sender=ONE, prompt_kind=PROMPT)
    values.update(fields)
    return Situation(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "word"),
    [("  Stop. ", "stop"), ("YES!", "yes"), ("opt   OUT", "opt out"), ("c!.", "c"), ("Ok\n", "ok"), ("", "")],
)
def test_keyword_is_trimmed_without_trailing_marks_and_case_folded(body: str, word: str) -> None:
    assert keyword(body) == word


@pytest.mark.parametrize(
    "body", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "Quit", "revoke", "OPTOUT", "opt out", "Stop."]
)
def test_row_1_opt_out_keywords_opt_the_number_out(body: str) -> None:
    decision = decide(situation(body, prompt_kind=None))
    assert (decision.intent, decision.opt, decision.opt_source) == (Intent.opt_out, "out", "keyword")
    assert decision.staff == (StaffReason.sms_opted_out,)
    assert not decision.confirm


@pytest.mark.parametrize("sender", list(Sender))
def test_row_1_applies_to_the_number_whoever_owns_it(sender: Sender) -> None:
    assert decide(situation("STOP", sender=sender, prompt_kind=None)).opt == "out"


def test_row_1_cancel_with_an_open_prompt_also_asks_staff_about_the_session() -> None:
    decision = decide(situation("Cancel"))
    assert decision.opt == "out" and not decision.confirm
    assert decision.staff == (StaffReason.sms_opted_out, StaffReason.cancel_keyword)


def test_row_1_one_confirmation_text_only_when_prolo_answers_keywords() -> None:
    assert decide(situation("STOP", keyword_replies=True)).answer is Answer.opted_out
    assert decide(situation("STOP", keyword_replies=False)).answer is None


def test_row_1_a_second_stop_changes_nothing() -> None:
    assert decide(situation("STOP", opted_out=True, keyword_replies=True)) == Decision(Intent.opt_out)


@pytest.mark.parametrize("body", ["START", "unstop", "Start."])
def test_row_2_start_opts_an_opted_out_number_in(body: str) -> None:
    decision = decide(situation(body, opted_out=True, keyword_replies=True))
    assert (decision.intent, decision.opt, decision.answer) == (Intent.opt_in, "in", Answer.opted_in)
    assert decision.staff == ()


def test_row_2_yes_opts_in_while_opted_out_and_never_confirms() -> None:
    decision = decide(situation("yes", opted_out=True))
    assert (decision.intent, decision.opt, decision.confirm) == (Intent.opt_in, "in", False)


def test_row_2_start_when_not_opted_out_does_nothing() -> None:
    assert decide(situation("START")) == Decision(Intent.opt_in)


@pytest.mark.parametrize("body", ["HELP", "info"])
@pytest.mark.parametrize("sender", list(Sender))
def test_row_3_help_answers_whoever_asks(body: str, sender: Sender) -> None:
    decision = decide(situation(body, sender=sender, prompt_kind=None))
    assert (decision.intent, decision.answer, decision.staff) == (Intent.help, Answer.help, ())


@pytest.mark.parametrize("body", ["C", "y", "YES", "confirm", "ok"])
def test_row_4_yes_to_a_waitlist_offer_answers_with_the_offer_and_confirms_nothing(body: str) -> None:
    decision = decide(situation(body, prompt_kind="waitlist_offer"))
    assert (decision.intent, decision.answer, decision.confirm) == (Intent.offer_reply, Answer.offer, False)


@pytest.mark.parametrize("body", ["C", "y", "YES", "confirm", "OK", "c."])
def test_row_5_yes_confirms_the_open_prompt(body: str) -> None:
    decision = decide(situation(body))
    assert (decision.intent, decision.confirm, decision.answer) == (Intent.confirm, True, Answer.confirmed)


def test_row_5_yes_without_an_open_prompt_goes_to_staff() -> None:
    decision = decide(situation("C", prompt_kind=None))
    assert (decision.confirm, decision.staff, decision.answer) == (False, (StaffReason.no_open_prompt,), None)


@pytest.mark.parametrize("body", ["R", "reschedule", "Change"])
@pytest.mark.parametrize("prompt", [PROMPT, None])
def test_row_6_change_answers_how_to_change(body: str, prompt: str | None) -> None:
    decision = decide(situation(body, prompt_kind=prompt))
    assert (decision.intent, decision.answer, decision.staff) == (Intent.change, Answer.change, ())


@pytest.mark.parametrize("body", ["N", "no", "X", "No!"])
def test_row_7_no_goes_to_staff_answers_and_never_cancels(body: str) -> None:
    decision = decide(situation(body))
    assert (decision.intent, decision.answer) == (Intent.decline, Answer.decline)
    assert decision.staff == (StaffReason.declined,)
    assert (decision.opt, decision.confirm) == (None, False)


@pytest.mark.parametrize("body", ["I'll be 10 min late", "what time again?", "yes please", "cc", "🙂"])
def test_row_8_anything_else_goes_to_staff_with_one_answer_a_day(body: str) -> None:
    first = decide(situation(body))
    assert (first.intent, first.staff, first.answer) == (Intent.unclear, (StaffReason.unclear,), Answer.unclear)
    again = decide(situation(body, unclear_answered_recently=True))
    assert (again.staff, again.answer) == ((StaffReason.unclear,), None)


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting me",
        "STOP IT",
        "unsubscribe me please",
        "I revoke consent",
        "opt-out please",
        "Opt out of it!",
    ],
)
def test_words_that_may_mean_stop_opt_out_at_once_for_staff_to_check(body: str) -> None:
    decision = decide(situation(body, keyword_replies=True))
    assert (decision.intent, decision.opt, decision.opt_source) == (Intent.possible_opt_out, "out", "possible_opt_out")
    assert decision.staff == (StaffReason.possible_opt_out,)
    assert decision.answer is None  # no confirmation text: a person decides


@pytest.mark.parametrize("body", ["nonstop pain since Monday", "bus stopped late", "the end"])
def test_stop_inside_another_word_is_no_opt_out(body: str) -> None:
    assert decide(situation(body)).opt is None


@pytest.mark.parametrize(
    ("sender", "reason"), [(Sender.unknown, "unknown_sender"), (Sender.shared, "ambiguous_sender")]
)
@pytest.mark.parametrize("body", ["C", "N", "R", "hello"])
def test_unknown_and_shared_numbers_without_a_prompt_go_to_staff_unanswered(
    sender: Sender, reason: str, body: str
) -> None:
    decision = decide(situation(body, sender=sender, prompt_kind=None))
    assert (decision.staff, decision.answer, decision.confirm) == ((StaffReason(reason),), None, False)


def test_a_shared_number_with_an_open_prompt_answers_the_prompt() -> None:
    assert decide(situation("C", sender=Sender.shared)).confirm


def test_each_message_raises_at_most_one_staff_item_except_cancel_with_a_prompt() -> None:
    bodies = ["STOP", "START", "HELP", "C", "R", "N", "hm", "please stop", "CANCEL"]
    for body in bodies:
        for prompt in (PROMPT, None):
            for sender in Sender:
                staff = decide(situation(body, prompt_kind=prompt, sender=sender)).staff
                assert len(staff) <= 1 or (body == "CANCEL" and prompt), (body, prompt, sender)


@pytest.mark.parametrize(
    ("decision", "changed", "expected"),
    [
        (Decision(Intent.confirm, confirm=True, answer=Answer.confirmed), True, Outcome.applied),
        (Decision(Intent.decline, staff=(StaffReason.declined,), answer=Answer.decline), False, Outcome.staff_item),
        (Decision(Intent.help, answer=Answer.help), False, Outcome.answered),
        (Decision(Intent.opt_in), False, Outcome.none),
    ],
)
def test_outcome_is_the_first_that_holds(decision: Decision, changed: bool, expected: Outcome) -> None:
    assert outcome(decision, changed=changed) is expected


def test_answers_give_the_clinic_and_its_phone_and_never_more() -> None:
    for answer in Answer:
        text = answer_text(answer, clinic_name="Riverside", phone="+1 415-555-0100", sessions=("session 2 on …",))
        assert text.startswith("Riverside: ")
    assert "+1 415-555-0100" in answer_text(Answer.unclear, clinic_name="R", phone="+1 415-555-0100")
    assert "emergency services" in answer_text(Answer.unclear, clinic_name="R", phone=None)
    assert "START" in answer_text(Answer.opted_out, clinic_name="R", phone=None)
    assert "STOP" in answer_text(Answer.help, clinic_name="R", phone=None)
