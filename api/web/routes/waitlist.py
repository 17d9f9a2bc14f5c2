"""The course-aware waitlist (R39–R45): entries, openings, offers."""

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response

from api.services import offers, openings, waitlist
from api.web.deps import STAFF, requires
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import (
    OpeningCreate,
    OpeningRead,
    OpeningWithdraw,
    Page,
    WaitlistClose,
    WaitlistCreate,
    WaitlistEntryRead,
    WaitlistUpdate,
)
from models.record import Rescheduled
from models.waitlist import CandidateRead, OfferCreate, OfferRead
from scheduling.waitlist import EntryStatus, OpeningStatus

router = APIRouter(tags=["waitlist"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))])


def _the_entry(entry_id: uuid.UUID) -> dict[str, Any]:
    return {"current": lambda uow: waitlist.entry_for_change(uow=uow, entry_id=entry_id), "etag": True}


def _the_opening(opening_id: uuid.UUID) -> dict[str, Any]:
    return {"current": lambda uow: openings.opening_for_change(uow=uow, opening_id=opening_id), "etag": True}


@router.post("/v1/waitlist", response_model=WaitlistEntryRead, status_code=201, summary="Wait for an earlier time")
async def create_entry(request: WaitlistCreate, tx: TransactionDep) -> Response:
    """The patient wants this booked session earlier. Freed time of the course's practitioner is offered only
    when moving the session there keeps the whole course valid (intervals, aftercare, nothing moved later).
    One waiting entry per course (409 `waitlist_entry_exists`). It closes by itself when the session's day
    comes, the session moves or is cancelled, the course is held or cancelled, or on `expires_on`."""
    return await tx.write(
        lambda uow: waitlist.create_entry(uow=uow, request=request, now=tx.now),
        location=lambda entry: f"/v1/waitlist/{entry.id}",
    )


@router.get("/v1/waitlist", response_model=Page[WaitlistEntryRead], summary="The waitlist")
async def list_entries(
    tx: TransactionDep,
    page: PageDep,
    status: EntryStatus | None = None,
    practitioner_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
) -> Response:
    """Entries, urgent first, then first come."""
    return await tx.read(
        lambda uow: waitlist.list_entries(
            uow=uow,
            status=status,
            practitioner_id=practitioner_id,
            patient_id=patient_id,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get("/v1/waitlist/openings", response_model=Page[OpeningRead], summary="Freed time")
async def list_openings(
    tx: TransactionDep,
    page: PageDep,
    status: OpeningStatus | None = None,
    practitioner_id: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Response:
    """Spans of practitioners' time freed by a cancel, a move, a reflow, a course cancelled or held, or by hand:
    `settling` for the clinic's `settle_minutes` (reshuffles are not offered), then `offering`, then ended."""
    return await tx.read(
        lambda uow: openings.list_openings(
            uow=uow,
            status=status,
            practitioner_id=practitioner_id,
            start=start,
            end=end,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.post("/v1/waitlist/openings", response_model=OpeningRead, status_code=201, summary="Open free time")
async def open_by_hand(request: OpeningCreate, tx: TransactionDep) -> Response:
    """Offer a free span of a practitioner's time to the waitlist (409 if any of it is not free)."""
    return await tx.write(
        lambda uow: openings.open_by_hand(uow=uow, request=request, now=tx.now),
        location=lambda opening: f"/v1/waitlist/openings/{opening.id}",
    )


@router.get("/v1/waitlist/openings/{opening_id}", response_model=OpeningRead, summary="One opening")
async def get_opening(opening_id: uuid.UUID, tx: TransactionDep) -> Response:
    """One opening, with its hold while offers are open."""
    return await tx.read(lambda uow: openings.get_opening(uow=uow, opening_id=opening_id), etag=True)


@router.post("/v1/waitlist/openings/{opening_id}/withdraw", response_model=OpeningRead, summary="Withdraw")
async def withdraw_opening(opening_id: uuid.UUID, request: OpeningWithdraw, tx: TransactionDep) -> Response:
    """Take the time back from the waitlist: its open offers end `withdrawn`, its hold goes."""
    return await tx.write(
        lambda uow: openings.withdraw(uow=uow, opening_id=opening_id, reason=request.reason, now=tx.now),
        **_the_opening(opening_id),
    )


@router.get("/v1/waitlist/openings/{opening_id}/candidates", response_model=list[CandidateRead], summary="Who fits")
async def candidates(opening_id: uuid.UUID, tx: TransactionDep) -> Response:
    """The waiting entries this opening fits now, in rank order (urgent first, then fewer recent offers, then
    first come), each with the move an offer would make: the session, and every other session that moves."""
    return await tx.read(lambda uow: offers.candidates(uow=uow, opening_id=opening_id, now=tx.now))


@router.post(
    "/v1/waitlist/openings/{opening_id}/offers", response_model=list[OfferRead], status_code=201, summary="Offer"
)
async def make_offers(opening_id: uuid.UUID, request: OfferCreate, tx: TransactionDep) -> Response:
    """Offer the opening to the entries you name (each must fit now); it is held for them while they decide,
    and a staff reschedule into it gets 409 `slot_held`. The first to accept gets it."""
    return await tx.write(
        lambda uow: offers.staff_offer(uow=uow, opening_id=opening_id, entry_ids=request.entry_ids, now=tx.now),
        **_the_opening(opening_id),
    )


@router.get("/v1/waitlist/offers", response_model=Page[OfferRead], summary="Offers")
async def list_offers(
    tx: TransactionDep, page: PageDep, opening_id: uuid.UUID | None = None, patient_id: uuid.UUID | None = None
) -> Response:
    """Offers made, newest first."""
    return await tx.read(
        lambda uow: offers.list_offers(
            uow=uow, opening_id=opening_id, patient_id=patient_id, limit=page.limit, offset=page.offset
        )
    )


@router.get("/v1/waitlist/offers/{offer_id}", response_model=OfferRead, summary="One offer")
async def get_offer(offer_id: uuid.UUID, tx: TransactionDep) -> Response:
    """One offer, with the move it makes."""
    return await tx.read(lambda uow: offers.get_offer(uow=uow, offer_id=offer_id), etag=True)


@router.post("/v1/waitlist/offers/{offer_id}/accept", response_model=Rescheduled, summary="Accept an offer")
async def accept_offer(offer_id: uuid.UUID, tx: TransactionDep) -> Response:
    """The patient said yes (by phone or at the desk): the session moves as offered, if the offer is still open
    and the move is still exactly what was offered (409 `offer_invalid` otherwise). Someone else was first:
    409 `offer_taken`, and the booking is unchanged."""
    return await tx.write(
        lambda uow: offers.accept(uow=uow, offer_id=offer_id, now=tx.now),
        current=lambda uow: offers.offer_for_change(uow=uow, offer_id=offer_id),
    )


@router.get("/v1/waitlist/{entry_id}", response_model=WaitlistEntryRead, summary="One entry")
async def get_entry(entry_id: uuid.UUID, tx: TransactionDep) -> Response:
    """One waitlist entry."""
    return await tx.read(lambda uow: waitlist.get_entry(uow=uow, entry_id=entry_id), etag=True)


@router.patch("/v1/waitlist/{entry_id}", response_model=WaitlistEntryRead, summary="Change an entry")
async def update_entry(entry_id: uuid.UUID, request: WaitlistUpdate, tx: TransactionDep) -> Response:
    """Change the priority, earliest date, availability, expiry or note of a waiting entry."""
    return await tx.write(
        lambda uow: waitlist.update_entry(uow=uow, entry_id=entry_id, request=request), **_the_entry(entry_id)
    )


@router.post("/v1/waitlist/{entry_id}/close", response_model=WaitlistEntryRead, summary="Close an entry")
async def close_entry(entry_id: uuid.UUID, request: WaitlistClose, tx: TransactionDep) -> Response:
    """Take the patient off the waitlist, with why."""
    return await tx.write(
        lambda uow: waitlist.close_entry(uow=uow, entry_id=entry_id, reason=request.reason), **_the_entry(entry_id)
    )
