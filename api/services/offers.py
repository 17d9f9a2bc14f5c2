"""Offers (R43–R45): an opening offered to waiting patients, held while they decide; the first accept wins.

An accept runs under the practitioner's lock (the writers' order, R11), so of N patients accepting
one opening's offers at once exactly one moves: the others find the opening `filled` and their
offer `taken` (409 `offer_taken`). The accept repeats the offer's dry run — the same R8 reschedule
with reflow, the opening's own hold left out — and applies it only if it is what was offered.
"""

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from api.services.candidates import Candidate, fitting, waitlist_settings
from api.services.candidates import _entry as course_entry
from api.services.clinic import get_clinic, phone_for_people
from api.services.links import offer_url
from api.services.offer_messages import cancel_offer_messages
from api.services.openings import end_offers
from api.services.reschedule import reschedule
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Page, Patient, Reminder, Session, WaitlistEntry, WaitlistOffer, WaitlistOpening
from models.record import Rescheduled, SessionReschedule
from models.waitlist import CandidateRead, OfferRead
from scheduling import Move, ReschedulePlan
from scheduling.messages import moment_text
from scheduling.reminders import PATIENT, ReminderKind, ReminderStatus
from scheduling.waitlist import EntryStatus, OfferStatus, Opening, OpeningStatus, Reach, Unfit, fit, hold_until

ACCEPTED_REASON = "waitlist offer accepted"
_ANYONE = Reach(reachable=True, open_offers=0, offers_last_7_days=0, offers_last_30_days=0)


class OfferTaken(Conflict):
    code = "offer_taken"

    def __init__(self) -> None:
        super().__init__("someone else accepted this time first: your booking is unchanged")


class OfferInvalid(Conflict):
    code = "offer_invalid"

    def __init__(self) -> None:
        super().__init__("the offered move is no longer what it was: the booking is unchanged, the entry waits on")


def proposed(plan: ReschedulePlan) -> dict[str, Any]:
    """What an offer moves: the session and every other session, by number, new start and end."""

    def one(move: Move) -> dict[str, Any]:
        return {"number": move.number, "start": move.start_at.isoformat(), "end": move.end_at.isoformat()}

    return {"session": one(plan.session), "moved": [one(m) for m in plan.moved]}


def offer_read(row: WaitlistOffer) -> OfferRead:
    return OfferRead(
        id=row.id,
        opening_id=row.opening_id,
        entry_id=row.entry_id,
        patient_id=row.patient_id,
        session_id=row.session_id,
        status=row.status,
        proposed=row.proposed,
        sent_at=row.sent_at,
        expires_at=row.expires_at,
    )


def offer_text(clinic: Clinic, patient: Patient, session: Session, plan: ReschedulePlan, url: str | None) -> str:
    """The `waitlist_offer` message (R43): the new time, how many other sessions would move, who gets it, and
    the offer's page; never a diagnosis (R22). Without a link (no public origin), the clinic's phone."""
    new, old = plan.session.start_at.astimezone(clinic.zone), session.start_at.astimezone(clinic.zone)
    moves = len(plan.moved)
    also = {0: "no other session moves", 1: "1 other session would move with it"}.get(
        moves, f"{moves} other sessions would move with it"
    )
    how = f"See it and accept: {url}" if url else f"To take it, call {phone_for_people(clinic) or 'the clinic'}."
    return (
        f"Hello {patient.given_name}, an earlier time is free at {clinic.name}: "
        f"{moment_text(new)} instead of {moment_text(old)}; {also}. "
        f"First to accept gets it; otherwise you keep your current time. {how}"
    )


def make_offers(uow: UnitOfWork, opening: WaitlistOpening, chosen: list[Candidate], now: datetime) -> int:
    """Offer the opening to each chosen entry and hold it until the batch's last offer expires (R43)."""
    hold = timedelta(minutes=waitlist_settings(uow).hold_minutes)
    clinic = get_clinic(uow)
    made = []
    for candidate in chosen:
        offer = WaitlistOffer(
            opening_id=opening.id,
            entry_id=candidate.row.id,
            patient_id=candidate.row.patient_id,
            session_id=candidate.row.session_id,
            proposed=proposed(candidate.plan),
            sent_at=now,  # the dispatch pass that makes it sends it (its reminder is due now)
            expires_at=now + hold,
            created_at=now,
        )
        uow.add(offer)
        uow.flush()
        candidate.row.offers_count += 1
        uow.add(candidate.row)
        patient = uow.get(Patient, offer.patient_id)
        session = uow.get(Session, offer.session_id)
        body = offer_text(
            clinic,
            patient,
            session,
            candidate.plan,
            offer_url(uow, offer, patient, now),  # R44: the offer's own page, where the patient accepts
        )
        uow.add(
            Reminder(
                kind=ReminderKind.waitlist_offer,
                audience=PATIENT,
                channel=patient.reminder_channel,
                due_at=now,
                expires_at=now + hold,
                status=ReminderStatus.pending,
                idempotency_key=f"waitlist_offer:{offer.id}",
                patient_id=patient.id,
                session_id=session.id,
                offer_id=offer.id,
                rule_code=str(offer.id),
                to_address={"email": patient.email, "sms": patient.phone}.get(patient.reminder_channel),
                subject="An earlier time for your session",
                body=body,
                created_at=now,
            )
        )
        made.append(offer)
    opening.status = OpeningStatus.offering
    opening.hold_until = hold_until(o.expires_at for o in made if o.expires_at) or opening.hold_until
    uow.add(opening)
    return len(made)


def staff_offer(
    *, uow: UnitOfWork, opening_id: uuid.UUID, entry_ids: list[uuid.UUID], now: datetime
) -> list[OfferRead]:
    """Staff offer the opening to the entries they name (no batch cap); each must fit now (R41, R43)."""
    opening = uow.lock(WaitlistOpening, opening_id)
    if opening.status not in (OpeningStatus.settling, OpeningStatus.offering):
        raise Conflict(f"the opening is {opening.status}", current_status=opening.status)
    by_id = {c.row.id: c for c in fitting(uow, opening, now)}
    missing = [str(e) for e in entry_ids if e not in by_id]
    if missing:
        raise Conflict("these entries do not fit the opening now (or were offered it before)", entry_ids=missing)
    make_offers(uow, opening, [by_id[e] for e in entry_ids], now)
    uow.flush()
    offers = select(WaitlistOffer).where(
        col(WaitlistOffer.opening_id) == opening.id, col(WaitlistOffer.entry_id).in_(entry_ids)
    )
    return [offer_read(o) for o in uow.execute(offers).scalars()]


def accept(*, uow: UnitOfWork, offer_id: uuid.UUID, now: datetime) -> Rescheduled:
    """R44: the first accept of an open offer moves the session as offered; the opening is filled, the entry
    fulfilled, the other offers taken, and the patient gets a change notice."""
    found = uow.get(WaitlistOffer, offer_id)
    opening = uow.get(WaitlistOpening, found.opening_id)
    uow.lock_for_change(practitioner_id=opening.practitioner_id)  # the practitioner's lock: one accept at a time
    offer = uow.lock(WaitlistOffer, offer_id)
    opening = uow.lock(WaitlistOpening, offer.opening_id)
    if offer.status is OfferStatus.taken or opening.status is OpeningStatus.filled:
        raise OfferTaken
    if offer.status is not OfferStatus.open or offer.expires_at is None or offer.expires_at <= now:
        raise Conflict("the offer has ended: the booking is unchanged", current_status=offer.status)
    entry_row = uow.lock(WaitlistEntry, offer.entry_id)
    entry = course_entry(uow, entry_row, opening, now) if entry_row.status is EntryStatus.waiting else None
    if entry is None:
        raise OfferInvalid
    target = Opening(str(opening.practitioner_id), opening.start_at, opening.end_at)
    plan = fit(dataclasses.replace(entry, reach=_ANYONE), target, waitlist_settings(uow), now=now)
    if isinstance(plan, Unfit) or proposed(plan) != offer.proposed:
        raise OfferInvalid
    entry_row.status = EntryStatus.fulfilled  # before the move: its own move does not close it (R39)
    uow.add(entry_row)
    request = SessionReschedule(start=opening.start_at, reflow=True, reason=ACCEPTED_REASON)
    answer = reschedule(uow=uow, session_id=offer.session_id, request=request, now=now, ignore_hold=opening.id)
    offer.status = OfferStatus.accepted
    uow.add(offer)
    uow.flush()
    end_offers(uow, opening.id, OfferStatus.taken)
    cancel_offer_messages(uow, [offer.id], "offer_accepted")  # taken before its text went: the change notice tells
    opening.status, opening.hold_until, opening.end_reason = OpeningStatus.filled, None, None
    uow.add(opening)
    uow.flush()
    return answer


def candidates(*, uow: UnitOfWork, opening_id: uuid.UUID, now: datetime) -> list[CandidateRead]:
    """The entries the opening fits now, ranked, each with its dry run (R41, R42)."""
    opening = uow.get(WaitlistOpening, opening_id)
    return [
        CandidateRead(entry_id=c.row.id, rank=rank, proposed=proposed(c.plan))
        for rank, c in enumerate(fitting(uow, opening, now), 1)
    ]


def offer_for_change(*, uow: UnitOfWork, offer_id: uuid.UUID) -> OfferRead:
    """One offer as GET shows it (its If-Match is checked against it)."""
    return offer_read(uow.get(WaitlistOffer, offer_id))


def get_offer(*, uow: UnitOfWork, offer_id: uuid.UUID) -> OfferRead:
    """One offer."""
    return offer_read(uow.get(WaitlistOffer, offer_id))


def list_offers(
    *, uow: UnitOfWork, opening_id: uuid.UUID | None, patient_id: uuid.UUID | None, limit: int, offset: int
) -> Page[OfferRead]:
    """Offers, newest first."""
    query = select(WaitlistOffer)
    if opening_id is not None:
        query = query.where(col(WaitlistOffer.opening_id) == opening_id)
    if patient_id is not None:
        query = query.where(col(WaitlistOffer.patient_id) == patient_id)
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    order = (col(WaitlistOffer.created_at).desc(), col(WaitlistOffer.id).desc())
    rows = uow.execute(query.order_by(*order).limit(limit).offset(offset)).scalars()
    return Page(items=[offer_read(r) for r in rows], total=total, limit=limit, offset=offset)
