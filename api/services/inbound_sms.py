"""A patient's SMS reply, heard once and acted on in one transaction (R30–R34).

Exactly once per provider message: the message's row is claimed first, by (provider,
provider message id), with an insert that does nothing on a conflict. A retry that
arrives after the first committed finds its row and answers as it did; one that
arrives while the first is still running waits on the unique index (PostgreSQL) or for
the writer's lock (SQLite), then finds it. Everything the message causes — the
opt-out, a session confirmed, staff items, the answer — is written in the same
transaction, audited with the message as the actor (`patient_sms`), so a crash
leaves all of it or none of it, and the provider's retry redoes it.

Prolo never answers inline: an answer is an `sms_reply` reminder keyed by the
message, sent by the dispatcher (R30), so a retry never texts twice. Staff items are
`reply_review` outbox reminders, `ready` at once: a person should see them now, and no
channel carries them. They never hold the patient's text (the dispatcher role reads the
outbox, and never the texts: R34); staff read it in `GET /v1/inbound-messages/{id}`.
"""

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import phonenumbers
from sqlalchemy import exists, func, select
from sqlmodel import col

from api.services import lifecycle
from api.services.calendars import local_day_bounds
from api.services.clinic import get_clinic, phone_for_people
from api.services.links import link_for_session, offer_url
from api.services.sms_opt_outs import active, opt_in, opt_out
from api.store.unit_of_work import UnitOfWork
from models import Clinic, InboundMessage, InboundMessageRead, Page, Patient, Reminder, Session, WaitlistOffer
from models.base import EARLIEST_DATE, LATEST_DATE, new_id
from scheduling.lifecycle import ACTIVE, SessionStatus
from scheduling.messages import moment_text
from scheduling.reminders import ReminderKind, ReminderStatus
from scheduling.replies import (
    KEYWORD,
    PROMPT_KINDS,
    Answer,
    Decision,
    Intent,
    Sender,
    Situation,
    StaffReason,
    answer_text,
    decide,
    outcome,
)
from scheduling.waitlist import OfferStatus

PROMPT_DAYS = timedelta(days=7)  # R31: a reply answers a message sent within the week
UNCLEAR_ANSWER_EVERY = timedelta(hours=24)  # R32: one automatic answer to unclear texts a day
ANSWER_STALE = timedelta(hours=12)  # an answer not sent by then helps nobody (R20's lateness)
STAFF_ITEM_KEPT = timedelta(days=365)  # staff items wait in the outbox until someone acknowledges them
_PROMPTS = sorted(kind for kind in ReminderKind if kind.value in PROMPT_KINDS)  # those this version sends
# What an opt-out keeps sending: its own confirmation (the number's last text) and, as carriers require, HELP
_SENT_WHEN_OPTED_OUT = frozenset({Answer.opted_out, Answer.help})
_WITH_LINK = frozenset({Answer.change, Answer.decline})  # R32: where the patient acts on the session's page


@dataclass(frozen=True)
class Received:
    """One text as the provider posted it, its signature checked."""

    provider: str
    message_id: str
    from_number: str
    to_number: str | None
    body: str
    received_at: datetime


@dataclass(frozen=True)
class Prompt:
    """R31: the latest SMS that invited a reply, and the sessions it was about."""

    kind: str
    patient_id: uuid.UUID
    sessions: tuple[Session, ...]
    offer_id: uuid.UUID | None = None  # a `waitlist_offer`'s offer (R32 row 4)


def normalise_number(raw: str, country: str | None) -> str | None:
    """R31: `raw` in E.164, read with the clinic's country as the default region; None if it is no number."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def receive(
    *, uow: UnitOfWork, message: Received, message_id: uuid.UUID, keyword_replies: bool, now: datetime
) -> InboundMessageRead:
    """Store one text and do what it asks (R30–R33), once: a retry answers what the first delivery did."""
    clinic = get_clinic(uow)
    number = normalise_number(message.from_number, clinic.country)
    claimed = _claim(uow, message, message_id, number, now)
    if claimed is None:
        first = uow.execute(
            select(InboundMessage).where(
                col(InboundMessage.provider) == message.provider,
                col(InboundMessage.provider_message_id) == message.message_id,
            )
        ).scalar_one()
        return inbound_read(first)
    row = claimed
    patients = _patients(uow, number)
    prompt = _prompt(uow, number, patients, now)
    sender = Sender.unknown if not patients else Sender.one if len(patients) == 1 else Sender.shared
    decision = decide(
        Situation(
            body=message.body,
            opted_out=opt_out_of(uow, number),
            sender=sender,
            prompt_kind=prompt.kind if prompt else None,
            unclear_answered_recently=_unclear_answered(uow, number, now),
            keyword_replies=keyword_replies,
        )
    )
    subject = prompt.patient_id if prompt else patients[0].id if len(patients) == 1 else None
    changed = _apply(uow, decision, row, number, patients, prompt, now)
    for reason in decision.staff:
        _staff_item(uow, row, reason, _staff_text(reason, patients, prompt, clinic), subject, prompt, now)
    if decision.answer is not None and number is not None:
        about = prompt.sessions if prompt else _next_session(uow, subject, now, decision.answer)
        link = link_for_session(uow, about[0].id, now) if about and decision.answer in _WITH_LINK else None
        if decision.answer is Answer.offer and prompt is not None:
            # R32 row 4: yes to an offer answers with the offer's link; it is accepted on its page, never here
            link, open_now = _offer_link(uow, prompt.offer_id, now)
            decision = decision if open_now else dataclasses.replace(decision, answer=Answer.offer_ended)
        assert decision.answer is not None
        text = answer_text(
            decision.answer,
            clinic_name=clinic.name,
            phone=phone_for_people(clinic),
            sessions=tuple(_when(s, clinic) for s in about),
            link=link,
        )
        blocked = opt_out_of(uow, number) and decision.answer not in _SENT_WHEN_OPTED_OUT
        _answer(uow, row, decision.answer, text, number, subject, prompt, now, blocked=blocked)
    row.patient_id = subject
    row.session_ids = [str(s.id) for s in prompt.sessions] if prompt else []
    row.intent = decision.intent
    row.outcome = outcome(decision, changed=changed)
    uow.add(row)
    uow.flush()
    return inbound_read(row)


def _claim(
    uow: UnitOfWork, message: Received, message_id: uuid.UUID, number: str | None, now: datetime
) -> InboundMessage | None:
    """The message's row, made now; None when (provider, message id) has one already (R30)."""
    values: dict[str, Any] = dict(
        id=message_id,
        provider=message.provider,
        provider_message_id=message.message_id,
        from_number=number or message.from_number,
        to_number=message.to_number,
        body=message.body,
        received_at=message.received_at,
        created_at=now,
        patient_id=None,
        session_ids=[],
        intent="unclear",
        outcome="none",
    )
    if not uow.insert_once(InboundMessage, values, unique=("provider", "provider_message_id")):
        return None
    return uow.get(InboundMessage, message_id)


def _patients(uow: UnitOfWork, number: str | None) -> list[Patient]:
    """R31: the active patients who have this number."""
    if number is None:
        return []
    query = select(Patient).where(col(Patient.phone) == number, ~col(Patient.archived)).order_by(col(Patient.id))
    return list(uow.execute(query).scalars())


def _prompt(uow: UnitOfWork, number: str | None, patients: list[Patient], now: datetime) -> Prompt | None:
    """R31: the latest SMS sent to the number within 7 days that invited a reply, if none of its sessions began."""
    if number is None or not patients:
        return None
    latest = uow.execute(
        select(Reminder)
        .where(
            col(Reminder.patient_id).in_([p.id for p in patients]),
            col(Reminder.channel) == "sms",
            col(Reminder.to_address) == number,
            col(Reminder.status) == ReminderStatus.sent,
            col(Reminder.kind).in_(_PROMPTS),
            col(Reminder.sent_at) >= now - PROMPT_DAYS,
        )
        .order_by(col(Reminder.sent_at).desc(), col(Reminder.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None or latest.patient_id is None:
        return None
    # a change notice names every session it told about (R37); the others, their own
    named = [uuid.UUID(i) for i in latest.announces] if latest.announces else [latest.session_id]
    query = select(Session).where(col(Session.id).in_([i for i in named if i is not None]))
    sessions = tuple(uow.execute(query.order_by(col(Session.start_at))).scalars())
    if not sessions:
        return None
    if any(s.start_at <= now for s in sessions):
        return None
    return Prompt(kind=latest.kind, patient_id=latest.patient_id, sessions=sessions, offer_id=latest.offer_id)


def opt_out_of(uow: UnitOfWork, number: str | None) -> bool:
    """R33: the number asked for no more texts."""
    return active(uow, number) is not None


def _unclear_answered(uow: UnitOfWork, number: str | None, now: datetime) -> bool:
    """R32: an answer to an unclear text went (or will go) to this number within 24 h."""
    if number is None:
        return False
    # by when Prolo answered (its own clock), not by the time a provider says a text was received
    from_number = select(col(InboundMessage.id)).where(col(InboundMessage.from_number) == number)
    query = select(
        exists().where(
            col(Reminder.inbound_message_id).in_(from_number),
            col(Reminder.kind) == ReminderKind.sms_reply,
            col(Reminder.rule_code) == Answer.unclear.value,
            col(Reminder.created_at) > now - UNCLEAR_ANSWER_EVERY,
        )
    )
    return bool(uow.execute(query).scalar())


def _apply(
    uow: UnitOfWork,
    decision: Decision,
    row: InboundMessage,
    number: str | None,
    patients: list[Patient],
    prompt: Prompt | None,
    now: datetime,
) -> bool:
    """The decision's change to the number or the prompt's sessions; True when something changed."""
    if decision.opt == "out" and number is not None:
        opt_out(uow, number=number, source=decision.opt_source or KEYWORD, inbound_message_id=row.id, now=now)
        return True
    if decision.opt == "in" and number is not None:
        opt_in(uow, number=number, now=now)
        return True
    if decision.confirm and prompt is not None:
        scheduled = [s for s in prompt.sessions if s.status == SessionStatus.scheduled]
        for session in scheduled:  # R32: only the sessions the prompt named
            lifecycle.confirm(uow=uow, session_id=session.id, now=now)
        return bool(scheduled)
    return False


def _offer_link(uow: UnitOfWork, offer_id: uuid.UUID | None, now: datetime) -> tuple[str | None, bool]:
    """The offer's page (a new link if the last was revoked, R24) and whether the offer is still open (R44)."""
    offer = uow.find(WaitlistOffer, offer_id) if offer_id is not None else None
    if offer is None or offer.status is not OfferStatus.open or offer.expires_at is None or offer.expires_at <= now:
        return None, False
    return offer_url(uow, offer, uow.get(Patient, offer.patient_id), now), True


def _next_session(uow: UnitOfWork, patient_id: uuid.UUID | None, now: datetime, answer: Answer) -> tuple[Session, ...]:
    """R32: without a prompt, a change is about the patient's next active session."""
    if answer is not Answer.change or patient_id is None:
        return ()
    query = (
        select(Session)
        .where(col(Session.patient_id) == patient_id, col(Session.status).in_(ACTIVE), col(Session.start_at) > now)
        .order_by(col(Session.start_at))
        .limit(1)
    )
    return tuple(uow.execute(query).scalars())


def _when(session: Session, clinic: Clinic) -> str:
    return f"session {session.number} on {moment_text(session.start_at.astimezone(clinic.zone))}"


def _names(patients: list[Patient]) -> str:
    return ", ".join(f"{p.given_name} {p.family_name} ({p.mrn})" for p in patients) or "no patient has this number"


def _staff_text(reason: StaffReason, patients: list[Patient], prompt: Prompt | None, clinic: Clinic) -> str:
    """A staff item's text: who and what to do, never the patient's own words (module docstring)."""
    whose = [p for p in patients if prompt is None or p.id == prompt.patient_id] or patients
    who = _names(whose)
    about = ", ".join(_when(s, clinic) for s in prompt.sessions) if prompt else "no session named"
    texts = {
        StaffReason.sms_opted_out: f"Texts to this number stopped at the patient's request (STOP). Patients: {who}.",
        StaffReason.cancel_keyword: f"Texts stopped as carriers require; {who} may want to cancel {about}: call.",
        StaffReason.possible_opt_out: f"A text that may ask for no more texts; texts to this number are stopped."
        f" Read it and clear the opt-out if it was none. Patients: {who}.",
        StaffReason.unknown_sender: "A text from a number no active patient has: read it.",
        StaffReason.ambiguous_sender: f"A text from a number several patients share: {who}. Read it and call.",
        StaffReason.no_open_prompt: f"{who} replied yes, but no recent message asked them to: which session?",
        StaffReason.declined: f"{who} answered no about {about}: please call.",
        StaffReason.unclear: f"{who} wrote a text Prolo could not read ({about}): read it and call.",
    }
    return texts[reason]


def _reminder(
    row: InboundMessage,
    kind: ReminderKind,
    key: str,
    patient_id: uuid.UUID | None,
    prompt: Prompt | None,
    now: datetime,
) -> Reminder:
    return Reminder(
        id=new_id(),
        kind=kind,
        audience="clinic",
        channel="outbox",
        due_at=now,
        expires_at=now + STAFF_ITEM_KEPT,
        idempotency_key=key,
        patient_id=patient_id,
        session_id=prompt.sessions[0].id if prompt and prompt.sessions else None,
        inbound_message_id=row.id,
        body="",
        created_at=now,
    )


def _staff_item(
    uow: UnitOfWork,
    row: InboundMessage,
    reason: StaffReason,
    text: str,
    patient_id: uuid.UUID | None,
    prompt: Prompt | None,
    now: datetime,
) -> None:
    """R34: a `reply_review` in the outbox, ready for staff now."""
    item = _reminder(row, ReminderKind.reply_review, f"reply_review:{reason}:{row.id.hex}", patient_id, prompt, now)
    item.status, item.sent_at, item.reason, item.body = ReminderStatus.ready, now, reason.value, text
    uow.add(item)


def _answer(
    uow: UnitOfWork,
    row: InboundMessage,
    answer: Answer,
    text: str,
    number: str,
    patient_id: uuid.UUID | None,
    prompt: Prompt | None,
    now: datetime,
    *,
    blocked: bool,
) -> None:
    """R30: the answer, an `sms_reply` the dispatcher sends (quiet hours do not apply: the patient just wrote)."""
    # no session: a course's replan owns the pending reminders of its sessions, and this one is the message's
    reply = _reminder(row, ReminderKind.sms_reply, f"sms_reply:{row.id.hex}", patient_id, None, now)
    reply.audience, reply.channel, reply.to_address, reply.body = "patient", "sms", number, text
    reply.expires_at, reply.rule_code = now + ANSWER_STALE, answer.value
    if blocked:  # R33: the number asked for no more texts
        reply.status, reply.reason = ReminderStatus.skipped, "sms_opted_out"
    uow.add(reply)


def inbound_read(row: InboundMessage) -> InboundMessageRead:
    return InboundMessageRead.model_validate(row, from_attributes=True)


def list_inbound(
    *,
    uow: UnitOfWork,
    patient_id: uuid.UUID | None,
    intent: Intent | None,
    from_date: date | None,
    to_date: date | None,
    limit: int,
    offset: int,
) -> Page[InboundMessageRead]:
    """Texts received, newest first, filtered by patient, intent and clinic-local dates (R34)."""
    query = select(InboundMessage)
    if patient_id is not None:
        query = query.where(col(InboundMessage.patient_id) == patient_id)
    if intent is not None:
        query = query.where(col(InboundMessage.intent) == intent)
    if from_date is not None or to_date is not None:
        start, end = local_day_bounds(from_date or EARLIEST_DATE, to_date or LATEST_DATE, get_clinic(uow).zone)
        query = query.where(col(InboundMessage.received_at) >= start, col(InboundMessage.received_at) < end)
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    order = (col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
    rows = uow.execute(query.order_by(*order).limit(limit).offset(offset)).scalars()
    return Page(items=[inbound_read(r) for r in rows], total=total, limit=limit, offset=offset)


def get_inbound(*, uow: UnitOfWork, inbound_id: uuid.UUID) -> InboundMessageRead:
    """One text received, with what Prolo understood and did."""
    return inbound_read(uow.get(InboundMessage, inbound_id))
