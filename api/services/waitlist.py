"""Waitlist entries (R39): a patient who wants one booked session earlier, and how an entry closes."""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import col

from api.services.offer_messages import cancel_offer_messages
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import Page, WaitlistCreate, WaitlistEntry, WaitlistEntryRead, WaitlistOffer, WaitlistUpdate
from models.hours import WeekHours
from scheduling.lifecycle import CANCELLABLE, CourseStatus
from scheduling.waitlist import EntryStatus, OfferStatus


class WaitlistEntryExists(Conflict):
    code = "waitlist_entry_exists"

    def __init__(self, entry_id: uuid.UUID) -> None:
        super().__init__("the course has a waiting entry already: change that one", entry_id=str(entry_id))


def entry_read(row: WaitlistEntry) -> WaitlistEntryRead:
    return WaitlistEntryRead(
        id=row.id,
        course_id=row.course_id,
        session_id=row.session_id,
        patient_id=row.patient_id,
        practitioner_id=row.practitioner_id,
        priority=row.priority,
        earliest_date=row.earliest_date,
        availability=[WeekHours(**h) for h in row.availability],
        expires_on=row.expires_on,
        note=row.note,
        status=row.status,
        close_reason=row.close_reason,
        offers_count=row.offers_count,
        created_at=row.created_at,
    )


def create_entry(*, uow: UnitOfWork, request: WaitlistCreate, now: datetime) -> WaitlistEntryRead:
    """Put a booked session on the waitlist: a freed time that keeps the whole course valid may be offered."""
    session, course = uow.lock_session(request.session_id, with_owners=False)
    if session.status not in CANCELLABLE or session.start_at <= now:
        raise Conflict("only a scheduled or confirmed session still to come can wait for an earlier time")
    if course.status not in (CourseStatus.planned, CourseStatus.active):
        raise Conflict(f"the course is {course.status}", current_status=course.status)
    existing = uow.execute(
        select(WaitlistEntry).where(
            col(WaitlistEntry.course_id) == course.id, col(WaitlistEntry.status) == EntryStatus.waiting
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise WaitlistEntryExists(existing.id)
    row = WaitlistEntry(
        course_id=course.id,
        session_id=session.id,
        patient_id=course.patient_id,
        practitioner_id=course.practitioner_id,  # only the course's practitioner is considered (R39)
        priority=request.priority,
        earliest_date=request.earliest_date,
        availability=[h.model_dump(mode="json") for h in request.availability],
        expires_on=request.expires_on,
        note=request.note,
        created_at=now,
    )
    uow.add(row)
    uow.flush()
    return entry_read(row)


def get_entry(*, uow: UnitOfWork, entry_id: uuid.UUID) -> WaitlistEntryRead:
    """One entry."""
    return entry_read(uow.get(WaitlistEntry, entry_id))


def entry_for_change(*, uow: UnitOfWork, entry_id: uuid.UUID) -> WaitlistEntryRead:
    """One entry as GET shows it, locked."""
    return entry_read(uow.lock(WaitlistEntry, entry_id))


def list_entries(
    *,
    uow: UnitOfWork,
    status: EntryStatus | None,
    practitioner_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> Page[WaitlistEntryRead]:
    """Entries in R42's order among equals: urgent first, then first come."""
    query = select(WaitlistEntry)
    for column, value in (
        (WaitlistEntry.status, status),
        (WaitlistEntry.practitioner_id, practitioner_id),
        (WaitlistEntry.patient_id, patient_id),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    order = (col(WaitlistEntry.priority).desc(), col(WaitlistEntry.created_at), col(WaitlistEntry.id))
    rows = uow.execute(query.order_by(*order).limit(limit).offset(offset)).scalars()
    return Page(items=[entry_read(r) for r in rows], total=total, limit=limit, offset=offset)


def update_entry(*, uow: UnitOfWork, entry_id: uuid.UUID, request: WaitlistUpdate) -> WaitlistEntryRead:
    """Change what a waiting entry asks for; the next pass judges openings by it."""
    row = _waiting(uow, entry_id)
    for name, value in request.model_dump(exclude_unset=True, exclude={"availability"}).items():
        setattr(row, name, value)
    if request.availability is not None:
        row.availability = [h.model_dump(mode="json") for h in request.availability]
    uow.add(row)
    uow.flush()
    return entry_read(row)


def close_entry(*, uow: UnitOfWork, entry_id: uuid.UUID, reason: str) -> WaitlistEntryRead:
    """Staff take an entry off the waitlist, with why."""
    row = _waiting(uow, entry_id)
    close(uow, row, reason)
    return entry_read(row)


def close(uow: UnitOfWork, row: WaitlistEntry, reason: str) -> None:
    """A waiting entry ends with `reason` (R39)."""
    row.status = EntryStatus.closed
    row.close_reason = reason
    uow.add(row)
    # its offer can no longer be accepted (R44 wants a waiting entry): its text, not sent yet, is not sent
    offers = select(col(WaitlistOffer.id)).where(
        col(WaitlistOffer.entry_id) == row.id, col(WaitlistOffer.status) == OfferStatus.open
    )
    cancel_offer_messages(uow, uow.execute(offers).scalars(), "entry_closed")


def _waiting(uow: UnitOfWork, entry_id: uuid.UUID) -> WaitlistEntry:
    row = uow.lock(WaitlistEntry, entry_id)
    if row.status is not EntryStatus.waiting:
        raise Conflict(f"the entry is {row.status}", current_status=row.status)
    return row
