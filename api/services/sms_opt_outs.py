"""Numbers that asked for no more texts (R33): recorded, honoured and lifted in one transaction each.

An opt-out is per number, whoever owns it. In the transaction that records it, every
pending SMS to the number becomes `skipped` (`sms_opted_out`, or `possible_opt_out`
until staff look) and the reminders planned later are planned skipped (the planner asks
:func:`~api.services.contacts.sms_opt_out_reason`), so no text slips out between
"STOP" and the next replan. Lifting it (an opt-in, or staff with a `source_note`)
replans the number's patients: reminders still to come go again, those whose moment
passed stay skipped.
"""

import uuid
from datetime import datetime

import phonenumbers
from sqlalchemy import and_, or_, select
from sqlmodel import col

from api.services.contacts import sms_opt_out_reason
from api.services.reminder_plans import replan_patients
from api.store.errors import Conflict, NotFound
from api.store.unit_of_work import UnitOfWork
from models import InboundMessage, Page, Patient, Reminder, SmsOptOut, SmsOptOutCreate, SmsOptOutRead
from scheduling.reminders import ReminderStatus
from scheduling.replies import SMS_OPTED_OUT, STAFF


def active(uow: UnitOfWork, number: str | None) -> SmsOptOut | None:
    """R33: the number's opt-out in force, if any (a cleared one is kept, with why, but stops nothing)."""
    row = uow.find(SmsOptOut, number) if number else None
    return row if row is not None and row.cleared_at is None else None


def opt_out(
    uow: UnitOfWork, *, number: str, source: str, now: datetime, inbound_message_id: uuid.UUID | None = None,
    source_note: str | None = None,
) -> SmsOptOut:  # fmt: skip
    """R33: no more texts to `number`: recorded, its pending texts skipped, later ones planned skipped."""
    row = uow.find(SmsOptOut, number) or SmsOptOut(number=number, created_at=now, source=source)
    row.created_at, row.source, row.inbound_message_id, row.source_note = now, source, inbound_message_id, source_note
    row.cleared_at = row.cleared_note = None
    uow.add(row)
    uow.flush()
    replan_patients(uow, _patient_ids(uow, number), now)
    _skip_pending_texts(uow, number, sms_opt_out_reason(uow, number) or SMS_OPTED_OUT)
    return row


def opt_in(uow: UnitOfWork, *, number: str, now: datetime, note: str | None = None) -> None:
    """R33: texts to `number` go again; its patients' reminders still to come are planned again."""
    row = active(uow, number)
    if row is None:
        return
    row.cleared_at, row.cleared_note = now, note
    uow.add(row)
    uow.flush()
    replan_patients(uow, _patient_ids(uow, number), now)


def _e164(number: str) -> str:
    """A number as staff type it in a path ("+1 415 555 0101"), as opt-outs are kept (E.164)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _patient_ids(uow: UnitOfWork, number: str) -> list[uuid.UUID]:
    return list(uow.execute(select(col(Patient.id)).where(col(Patient.phone) == number)).scalars())


def _skip_pending_texts(uow: UnitOfWork, number: str, reason: str) -> None:
    """Every SMS to `number` still pending (answers to its texts, any a replan does not own) becomes skipped,
    in one UPDATE that leaves alone one a dispatcher claimed meanwhile (R21)."""
    from_number = select(col(InboundMessage.id)).where(col(InboundMessage.from_number) == number)
    to_number = and_(
        col(Reminder.status) == ReminderStatus.pending,
        col(Reminder.channel) == "sms",
        col(Reminder.to_address) == number,
        or_(col(Reminder.patient_id).in_(_patient_ids(uow, number)), col(Reminder.inbound_message_id).in_(from_number)),
    )
    found = list(uow.execute(select(col(Reminder.id), col(Reminder.reason)).where(to_number)).all())
    uow.update(
        Reminder,
        where=and_(col(Reminder.id).in_([r.id for r in found]), col(Reminder.status) == ReminderStatus.pending),
        values={"status": ReminderStatus.skipped, "reason": reason},
        before={r.id: {"status": ReminderStatus.pending, "reason": r.reason} for r in found},
        recorded=("status", "reason"),
    )


def list_opt_outs(*, uow: UnitOfWork, limit: int, offset: int) -> Page[SmsOptOutRead]:
    """Every opted-out number, newest first."""
    query = select(SmsOptOut).where(col(SmsOptOut.cleared_at).is_(None)).order_by(col(SmsOptOut.created_at).desc())
    rows = list(uow.execute(query).scalars())
    items = [SmsOptOutRead.model_validate(r, from_attributes=True) for r in rows[offset : offset + limit]]
    return Page(items=items, total=len(rows), limit=limit, offset=offset)


def record_opt_out(*, uow: UnitOfWork, request: SmsOptOutCreate, now: datetime) -> SmsOptOutRead:
    """R33: staff record an opt-out they heard (by phone, at the desk)."""
    if active(uow, request.number) is not None:
        raise Conflict("this number has opted out already")
    row = opt_out(uow, number=request.number, source=STAFF, now=now, source_note=request.source_note)
    return SmsOptOutRead.model_validate(row, from_attributes=True)


def clear_opt_out(*, uow: UnitOfWork, number: str, source_note: str, now: datetime) -> None:
    """R33: staff clear an opt-out, saying why (`source_note`: who asked, when, how); the row keeps it."""
    number = _e164(number)
    if active(uow, number) is None:
        raise NotFound("sms_opt_out", "for this number")
    opt_in(uow, number=number, now=now, note=source_note)
