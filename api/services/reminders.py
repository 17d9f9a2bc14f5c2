"""Reminder reads and acknowledgements: what will go out, what went, and why something did not."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import col

from api.services.clinic import get_clinic
from api.store.errors import Conflict
from api.store.unit_of_work import UnitOfWork
from models import Page, Reminder, ReminderRead
from scheduling.reminders import ReminderKind, ReminderStatus

OUTBOX = "outbox"


def reminder_read(row: Reminder, zone: ZoneInfo) -> ReminderRead:
    return ReminderRead(
        id=row.id,
        kind=row.kind,
        audience=row.audience,
        channel=row.channel,
        due_at=row.due_at,
        due_local=row.due_at.astimezone(zone),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        idempotency_key=row.idempotency_key,
        patient_id=row.patient_id,
        session_id=row.session_id,
        inbound_message_id=row.inbound_message_id,
        offer_id=row.offer_id,
        rule_code=row.rule_code or None,
        reason=row.reason,
        body=row.body if row.channel == OUTBOX else None,  # staff read their items; patients' texts stay stored
        last_error=row.last_error,
        sent_at=row.sent_at,
        merged_into=row.merged_into,
        # a change notice names every session it tells of (R37); any other reminder its own, if any (an answer
        # to a patient's text names none)
        session_ids=[uuid.UUID(s) for s in row.announces]
        if row.announces
        else [row.session_id]
        if row.session_id
        else [],
    )


def list_reminders(
    *,
    uow: UnitOfWork,
    status: ReminderStatus | None,
    kind: ReminderKind | None,
    patient_id: uuid.UUID | None,
    session_id: uuid.UUID | None,
    due_before: datetime | None,
    limit: int,
    offset: int,
    inbound_message_id: uuid.UUID | None = None,
) -> Page[ReminderRead]:
    """Reminders by due time, filtered."""
    query = select(Reminder)
    for column, value in (
        (Reminder.status, status),
        (Reminder.kind, kind),
        (Reminder.patient_id, patient_id),
        (Reminder.session_id, session_id),
        (Reminder.inbound_message_id, inbound_message_id),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if due_before is not None:
        query = query.where(col(Reminder.due_at) < due_before)
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = uow.execute(query.order_by(col(Reminder.due_at), col(Reminder.id)).limit(limit).offset(offset)).scalars()
    zone = get_clinic(uow).zone
    return Page(items=[reminder_read(r, zone) for r in rows], total=total, limit=limit, offset=offset)


def get_reminder(*, uow: UnitOfWork, reminder_id: uuid.UUID) -> ReminderRead:
    """One reminder."""
    return reminder_read(uow.get(Reminder, reminder_id), get_clinic(uow).zone)


def reminder_for_change(*, uow: UnitOfWork, reminder_id: uuid.UUID) -> ReminderRead:
    """One reminder as the API shows it, locked."""
    return reminder_read(uow.lock(Reminder, reminder_id), get_clinic(uow).zone)


def acknowledge(*, uow: UnitOfWork, reminder_id: uuid.UUID, now: datetime) -> ReminderRead:
    """Front-desk software took an outbox reminder (R22): ready → acknowledged."""
    row = uow.lock(Reminder, reminder_id)
    if row.status != ReminderStatus.ready:
        raise Conflict(
            f"only a ready reminder can be acknowledged; this one is {row.status}", current_status=row.status
        )
    row.status = ReminderStatus.acknowledged
    uow.add(row)
    uow.flush()
    return reminder_read(row, get_clinic(uow).zone)
