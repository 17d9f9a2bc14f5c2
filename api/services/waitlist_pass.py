"""The waitlist's automatic steps inside a dispatch pass (R39, R40, R43, R45) — no second cron.

Each pass, before it claims reminders, closes the entries whose day has come and settles the
openings that are due: one opening per short transaction, claimed under the same rules as the
reminders (PostgreSQL `FOR UPDATE SKIP LOCKED`, so dispatchers on several hosts take different
openings; SQLite one writer at a time), so no two dispatchers ever process one opening twice.
The offers a pass makes are reminders due at once, sent by the same pass.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Select, and_, or_, select
from sqlmodel import col

from api.services.candidates import fitting, waitlist_settings
from api.services.clinic import get_clinic
from api.services.offers import make_offers
from api.services.openings import LIVE, end_offers, span_free
from api.services.reminder_plans import reminder_settings
from api.services.staff_items import raise_item
from api.services.waitlist import close
from api.store.tokens import LinkKeys
from api.store.unit_of_work import UnitOfWork, writing
from models import Actor, Course, Session, WaitlistEntry, WaitlistOffer, WaitlistOpening
from scheduling.reminders import ReminderKind, in_quiet_hours
from scheduling.waitlist import (
    EntryStatus,
    Mode,
    OfferStatus,
    OpeningStatus,
    Step,
    entry_closing,
    next_batch,
    opening_step,
)

ACTION = "waitlist.settle"
BATCH = 200  # openings looked at per pass


@dataclass
class WaitlistTally:
    openings_settled: int = 0
    offers_made: int = 0
    openings_lapsed: int = 0


def waitlist_pass(engine: Engine, now: datetime, actor: Actor, link_keys: LinkKeys | None = None) -> WaitlistTally:
    """Close the entries whose day came, then settle every due opening (module docstring)."""
    tally = WaitlistTally()
    with writing(engine, actor=actor, action="waitlist.close", now=now) as uow:
        _close_due_entries(uow, now)
    with writing(engine, actor=actor, action=ACTION, now=now) as uow:
        due = [r.id for r in uow.rows(_due(now).limit(BATCH))]
    for opening_id in due:
        with writing(engine, actor=actor, action=ACTION, now=now, link_keys=link_keys) as uow:
            opening = _claim(uow, opening_id, now)
            if opening is not None:
                settle(uow, opening, now, tally)
    return tally


def _due(now: datetime) -> Select[uuid.UUID]:
    c = WaitlistOpening
    return (
        select(col(c.id))
        .where(
            col(c.status).in_(LIVE),
            col(c.eligible_at) <= now,
            or_(col(c.hold_until).is_(None), col(c.hold_until) <= now),
        )
        .order_by(col(c.eligible_at), col(c.id))
    )


def _claim(uow: UnitOfWork, opening_id: uuid.UUID, now: datetime) -> WaitlistOpening | None:
    """The opening, locked, if it is still due and no other dispatcher holds it."""
    query = select(WaitlistOpening).where(
        col(WaitlistOpening.id) == opening_id,
        col(WaitlistOpening.status).in_(LIVE),
        or_(col(WaitlistOpening.hold_until).is_(None), col(WaitlistOpening.hold_until) <= now),
    )
    if uow.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    found: WaitlistOpening | None = uow.execute(query).scalar_one_or_none()
    return found


def settle(uow: UnitOfWork, opening: WaitlistOpening, now: datetime, tally: WaitlistTally) -> None:
    """One opening's step now: lapse, wait, raise the staff item, or offer the next batch (R40, R43, R45)."""
    settings = waitlist_settings(uow)
    if opening.hold_until is not None:  # the batch's hold ended unanswered: its offers expire, the hold goes
        end_offers(uow, opening.id, OfferStatus.expired)
        opening.hold_until = None
        uow.add(opening)
    free = span_free(uow, opening.practitioner_id, opening.start_at, opening.end_at, opening_id=opening.id)
    step = opening_step(
        status=opening.status,
        start_at=opening.start_at,
        eligible_at=opening.eligible_at,
        hold_until=None,
        span_free=free,
        now=now,
        min_lead=settings.min_lead,
    )
    if step is Step.lapse:
        _lapse(uow, opening, "taken" if not free else "too_near", tally)
        return
    if step is Step.wait:
        return
    if settings.mode is Mode.off:
        _lapse(uow, opening, "waitlist_off", tally)
        return
    if settings.mode is Mode.staff:
        if opening.status is OpeningStatus.settling:
            _staff_item(uow, opening, now, tally)
        return  # staff offer or phone; the opening lapses when its time is gone
    if in_quiet_hours(now, reminder_settings(get_clinic(uow))):
        return  # R40: quiet hours delay the offer, not eligible_at
    offered = select(col(WaitlistOffer.entry_id)).where(col(WaitlistOffer.opening_id) == opening.id)
    already = [str(e) for e in uow.execute(offered).scalars()]
    ranked = fitting(uow, opening, now)
    batch = next_batch([(c.entry, c.plan) for c in ranked], already, settings.batch_size)
    chosen_ids = {e.id for e, _ in batch}
    chosen = [c for c in ranked if c.entry.id in chosen_ids]
    if not chosen:
        _lapse(uow, opening, "no_eligible_entry", tally)
        return
    if opening.status is OpeningStatus.settling:
        tally.openings_settled += 1
    tally.offers_made += make_offers(uow, opening, chosen, now)


def _staff_item(uow: UnitOfWork, opening: WaitlistOpening, now: datetime, tally: WaitlistTally) -> None:
    ranked = fitting(uow, opening, now)
    if not ranked:
        _lapse(uow, opening, "no_eligible_entry", tally)
        return
    zone = get_clinic(uow).zone
    lines = [
        f"{rank}. entry {c.row.id} ({c.row.priority}): session {c.plan.session.number} to "
        f"{c.plan.session.start_at.astimezone(zone):%a %d %b %H:%M}, {len(c.plan.moved)} other(s) move"
        for rank, c in enumerate(ranked, 1)
    ]
    start = opening.start_at.astimezone(zone)
    text = f"Freed time {start:%a %d %b %H:%M} (opening {opening.id}); candidates in order:\n" + "\n".join(lines)
    raise_item(uow, ReminderKind.waitlist_opening, str(opening.id), reason="waitlist_opening", text=text, now=now)
    opening.status = OpeningStatus.offering
    uow.add(opening)
    tally.openings_settled += 1


def _lapse(uow: UnitOfWork, opening: WaitlistOpening, reason: str, tally: WaitlistTally) -> None:
    end_offers(uow, opening.id, OfferStatus.expired)
    opening.status, opening.end_reason, opening.hold_until = OpeningStatus.lapsed, reason, None
    uow.add(opening)
    tally.openings_lapsed += 1


def _close_due_entries(uow: UnitOfWork, now: datetime) -> None:
    """R39's day-based closings: at the first pass on or after the session's local day, or `expires_on`."""
    zone = get_clinic(uow).zone
    today = now.astimezone(zone).date()
    waiting = (
        select(WaitlistEntry, Session, Course)
        .join(Session, and_(col(Session.id) == col(WaitlistEntry.session_id)))
        .join(Course, col(Course.id) == col(WaitlistEntry.course_id))
        .where(col(WaitlistEntry.status) == EntryStatus.waiting)
    )
    for entry, session, course in uow.execute(waiting).all():
        reason = entry_closing(
            session_status=session.status,
            session_date=session.start_at.astimezone(zone).date(),
            course_status=course.status,
            expires_on=entry.expires_on,
            today=today,
        )
        if reason is not None:
            close(uow, entry, reason)
