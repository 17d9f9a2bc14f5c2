"""Numbers that asked for no more texts (R33): recorded, honoured and lifted in one transaction each.

An opt-out is per number, whoever owns it. In the transaction that records it, every
pending SMS to the number becomes `skipped` (`sms_opted_out`, or `possible_opt_out`
until staff look) and the reminders planned later are planned skipped (the planner asks
:func:`~api.services.reminder_plans.sms_opt_out_reason`), so no text slips out between
"STOP" and the next replan. Lifting it (an opt-in, or staff with a `source_note`)
replans the number's patients: reminders still to come go again, those whose moment
passed stay skipped.
"""

import uuid
from datetime import datetime

import phonenumbers
from sqlalchemy import or_, select
from sqlmodel import col

from api.services.reminder_plans import replan_patients, sms_opt_out_reason
from api.store import audit
from api.store.db import DbSession
from api.store.errors import Conflict, NotFound
from models import InboundMessage, Page, Patient, Reminder, SmsOptOut, SmsOptOutCreate, SmsOptOutRead
from scheduling.reminders import ReminderStatus
from scheduling.replies import STAFF

CLEARED = "sms_opt_out_cleared"  # the audit trail's record of a staff clear and its source_note (R33)


def opt_out(
    db: DbSession, *, number: str, source: str, now: datetime, inbound_message_id: uuid.UUID | None = None,
    source_note: str | None = None,
) -> SmsOptOut:  # fmt: skip
    """R33: no more texts to `number`: recorded, its pending texts skipped, later ones planned skipped."""
    row = SmsOptOut(
        number=number, created_at=now, source=source, inbound_message_id=inbound_message_id, source_note=source_note
    )
    db.add(row)
    db.flush()
    replan_patients(db, _patient_ids(db, number), now)
    reason = sms_opt_out_reason(db, number)
    for reminder in _pending_texts(db, number):  # answers to earlier texts, and any a replan does not own
        reminder.status, reminder.reason = ReminderStatus.skipped, reason
    db.flush()
    return row


def opt_in(db: DbSession, *, number: str, now: datetime) -> None:
    """R33: texts to `number` go again; its patients' reminders still to come are planned again."""
    row = db.get(SmsOptOut, number)
    if row is None:
        return
    db.delete(row)
    db.flush()
    replan_patients(db, _patient_ids(db, number), now)


def _e164(number: str) -> str:
    """A number as staff type it in a path ("+1 415 555 0101"), as opt-outs are kept (E.164)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _patient_ids(db: DbSession, number: str) -> list[uuid.UUID]:
    return list(db.execute(select(col(Patient.id)).where(col(Patient.phone) == number)).scalars())


def _pending_texts(db: DbSession, number: str) -> list[Reminder]:
    """Every pending SMS to `number`: its patients' and the answers to texts from it."""
    from_number = select(col(InboundMessage.id)).where(col(InboundMessage.from_number) == number)
    query = select(Reminder).where(
        col(Reminder.status) == ReminderStatus.pending,
        col(Reminder.channel) == "sms",
        col(Reminder.to_address) == number,
        or_(col(Reminder.patient_id).in_(_patient_ids(db, number)), col(Reminder.inbound_message_id).in_(from_number)),
    )
    return list(db.execute(query.with_for_update()).scalars())


def list_opt_outs(*, db: DbSession, limit: int, offset: int) -> Page[SmsOptOutRead]:
    """Every opted-out number, newest first."""
    rows = list(db.execute(select(SmsOptOut).order_by(col(SmsOptOut.created_at).desc())).scalars())
    items = [SmsOptOutRead.model_validate(r, from_attributes=True) for r in rows[offset : offset + limit]]
    return Page(items=items, total=len(rows), limit=limit, offset=offset)


def record_opt_out(*, db: DbSession, request: SmsOptOutCreate, now: datetime) -> SmsOptOutRead:
    """R33: staff record an opt-out they heard (by phone, at the desk)."""
    if db.get(SmsOptOut, request.number) is not None:
        raise Conflict("this number has opted out already")
    row = opt_out(db, number=request.number, source=STAFF, now=now, source_note=request.source_note)
    return SmsOptOutRead.model_validate(row, from_attributes=True)


def clear_opt_out(*, db: DbSession, number: str, source_note: str, now: datetime) -> None:
    """R33: staff clear an opt-out, saying why (`source_note`: who asked, when, how)."""
    number = _e164(number)
    row = db.get(SmsOptOut, number)
    if row is None:
        raise NotFound("sms_opt_out", "for this number")
    opt_in(db, number=number, now=now)
    # the trail keeps why it was lifted, beside the deletion's event (which holds the row as it was)
    audit.record(db, CLEARED, [(number, None, {"number": number, "source_note": source_note, "cleared_at": now})])
