"""Openings (R40, R45): freed spans of a practitioner's time that a waiting patient may take.

Every path that frees time — a session cancelled, moved away or reflowed, a course cancelled
or held — ends in :func:`~api.services.lifecycle.course_changed`, which calls :func:`after_change`
in the same transaction. The spans come from the unit of work (:meth:`UnitOfWork.freed`), noted
at flush by a hook for every active session that moved or stopped, so no path can forget one.
The same change closes the waiting entries of the sessions it moved or stopped (R39): an entry
whose session moves by its own accepted offer is `fulfilled` before this runs, and stays so.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlmodel import col

from api.services.calendars import active_sessions
from api.services.clinic import get_clinic
from api.services.offer_messages import cancel_offer_messages
from api.services.waitlist import close
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import (
    Course,
    OpeningCreate,
    OpeningRead,
    Page,
    TimeOff,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOpening,
)
from models.session import Freed
from scheduling.lifecycle import CourseStatus
from scheduling.waitlist import CloseReason, EntryStatus, OfferStatus, OpeningStatus

LIVE = (OpeningStatus.settling, OpeningStatus.offering)


class SlotHeld(Conflict):
    """R43: the span is held for patients who were offered it."""

    code = "slot_held"

    def __init__(self, opening_id: uuid.UUID, hold_until: datetime | None) -> None:
        super().__init__(
            "the time is held for the waitlist's offer until hold_until: withdraw the opening to use it now",
            opening_id=str(opening_id),
            hold_until=hold_until.isoformat() if hold_until else None,
        )


def refuse_held(uow: UnitOfWork, practitioner_id: uuid.UUID, start: datetime, end: datetime, now: datetime) -> None:
    """Raise :class:`SlotHeld` when an opening's hold covers any of [start, end) at `now` (a staff move, R43).
    A hold ends at its hold_until, whether or not a dispatch pass has cleared it yet."""
    held = select(WaitlistOpening).where(
        col(WaitlistOpening.practitioner_id) == practitioner_id,
        col(WaitlistOpening.hold_until) > now,
        col(WaitlistOpening.start_at) < end,
        col(WaitlistOpening.end_at) > start,
    )
    found = uow.execute(held.limit(1)).scalar_one_or_none()
    if found is not None:
        raise SlotHeld(found.id, found.hold_until)


REFLOW_REASON = "reflow after"  # api/services/reschedule.py names a reflowed session's move so


def opening_read(row: WaitlistOpening, uow: UnitOfWork) -> OpeningRead:
    return OpeningRead(
        id=row.id,
        practitioner_id=row.practitioner_id,
        start=row.start_at,
        end=row.end_at,
        start_local=row.start_at.astimezone(get_clinic(uow).zone),
        source=row.source,
        source_session_id=row.source_session_id,
        status=row.status,
        eligible_at=row.eligible_at,
        hold_until=row.hold_until,
        end_reason=row.end_reason,
    )


def after_change(uow: UnitOfWork, changed: Sequence[Freed], now: datetime) -> None:
    """Open every future span freed in this transaction (`changed`: :meth:`UnitOfWork.freed`), and close the
    entries of the sessions it changed."""
    for freed in changed:
        course = uow.get(Course, freed.course_id)
        source, reason = _why(freed, course.status)
        if freed.start_at > now:
            _open(uow, freed.practitioner_id, freed.start_at, freed.end_at, source, freed.session_id, now)
        waiting = select(WaitlistEntry).where(
            col(WaitlistEntry.session_id) == freed.session_id, col(WaitlistEntry.status) == EntryStatus.waiting
        )
        for entry in uow.execute(waiting).scalars():
            close(uow, entry, reason)


def _why(freed: Freed, course_status: CourseStatus) -> tuple[str, CloseReason]:
    """The opening's source and the closing reason of the session's entry."""
    if freed.moved:
        reflowed = (freed.change_reason or "").startswith(REFLOW_REASON)
        return ("reflow" if reflowed else "reschedule"), CloseReason.session_moved
    if course_status is CourseStatus.cancelled:
        return "course_cancel", CloseReason.course_cancelled
    if course_status is CourseStatus.on_hold:
        return "course_hold", CloseReason.course_on_hold
    return "cancel", CloseReason.session_cancelled


def _open(
    uow: UnitOfWork,
    practitioner_id: uuid.UUID,
    start_at: datetime,
    end_at: datetime,
    source: str,
    session_id: uuid.UUID | None,
    now: datetime,
) -> WaitlistOpening:
    settle = timedelta(minutes=get_clinic(uow).waitlist["settle_minutes"])
    row = WaitlistOpening(
        practitioner_id=practitioner_id,
        start_at=start_at,
        end_at=end_at,
        source=source,
        source_session_id=session_id,
        eligible_at=now + settle,  # staff reshuffles within it are not offered (R40)
        created_at=now,
    )
    uow.add(row)
    return row


def open_by_hand(*, uow: UnitOfWork, request: OpeningCreate, now: datetime) -> OpeningRead:
    """Staff open free time by hand (R40): 409 unless the span is in the future and free."""
    uow.lock_for_change(practitioner_id=request.practitioner_id)
    if request.end <= request.start or request.start <= now:
        raise Conflict("an opening is a span still to come, its end after its start")
    if not span_free(uow, request.practitioner_id, request.start, request.end):
        raise Conflict("the span is not free: a session, time off or another opening holds part of it")
    row = _open(uow, request.practitioner_id, request.start, request.end, "manual", None, now)
    uow.flush()
    return opening_read(row, uow)


def span_free(
    uow: UnitOfWork, practitioner_id: uuid.UUID, start: datetime, end: datetime, *, opening_id: uuid.UUID | None = None
) -> bool:
    """No active session, time off or other live opening of the practitioner overlaps [start, end)."""
    if active_sessions(uow, column="practitioner_id", owner_id=practitioner_id, start=start, end=end):
        return False
    off = select(func.count()).where(
        col(TimeOff.practitioner_id) == practitioner_id, col(TimeOff.start_at) < end, col(TimeOff.end_at) > start
    )
    others = select(func.count()).where(
        col(WaitlistOpening.practitioner_id) == practitioner_id,
        col(WaitlistOpening.status).in_(LIVE),
        and_(col(WaitlistOpening.start_at) < end, col(WaitlistOpening.end_at) > start),
        col(WaitlistOpening.id) != opening_id if opening_id else col(WaitlistOpening.id).is_not(None),
    )
    return not uow.execute(off).scalar_one() and not uow.execute(others).scalar_one()


def get_opening(*, uow: UnitOfWork, opening_id: uuid.UUID) -> OpeningRead:
    """One opening."""
    return opening_read(uow.get(WaitlistOpening, opening_id), uow)


def opening_for_change(*, uow: UnitOfWork, opening_id: uuid.UUID) -> OpeningRead:
    """One opening as GET shows it, locked."""
    return opening_read(uow.lock(WaitlistOpening, opening_id), uow)


def list_openings(
    *,
    uow: UnitOfWork,
    status: OpeningStatus | None,
    practitioner_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> Page[OpeningRead]:
    """Openings by start."""
    query = select(WaitlistOpening)
    if status is not None:
        query = query.where(col(WaitlistOpening.status) == status)
    if practitioner_id is not None:
        query = query.where(col(WaitlistOpening.practitioner_id) == practitioner_id)
    if start is not None:
        query = query.where(col(WaitlistOpening.start_at) >= start)
    if end is not None:
        query = query.where(col(WaitlistOpening.start_at) < end)
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = uow.execute(
        query.order_by(col(WaitlistOpening.start_at), col(WaitlistOpening.id)).limit(limit).offset(offset)
    ).scalars()
    return Page(items=[opening_read(r, uow) for r in rows], total=total, limit=limit, offset=offset)


def withdraw(*, uow: UnitOfWork, opening_id: uuid.UUID, reason: str, now: datetime) -> OpeningRead:
    """Staff withdraw an opening at any time (R45): its open offers end `withdrawn`, its hold goes."""
    row = uow.lock(WaitlistOpening, opening_id)
    if row.status not in LIVE:
        raise Conflict(f"the opening is {row.status}", current_status=row.status)
    row.status, row.end_reason, row.hold_until = OpeningStatus.withdrawn, reason, None
    uow.add(row)
    end_offers(uow, row.id, OfferStatus.withdrawn)
    uow.flush()
    return opening_read(row, uow)


def end_offers(uow: UnitOfWork, opening_id: uuid.UUID, status: OfferStatus) -> None:
    """Every open offer of the opening ends with `status`."""
    open_offers = select(WaitlistOffer).where(
        col(WaitlistOffer.opening_id) == opening_id, col(WaitlistOffer.status) == OfferStatus.open
    )
    ended = list(uow.execute(open_offers).scalars())
    for offer in ended:
        offer.status = status
        uow.add(offer)
    cancel_offer_messages(uow, [o.id for o in ended], f"offer_{status}")
