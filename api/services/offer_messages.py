"""A waitlist offer's message still to go (R43) follows its patient and its offer (R24, R19).

An offer's `waitlist_offer` message is made with the offer (api/services/offers.py), not by a course's
reminder plan, so the replan of a patient's courses leaves it alone: this module keeps it. A staff offer's
message waits for the next dispatch pass, and meanwhile the patient may change (a revocation, a new phone or
address, archiving: :func:`replan_offer_messages`) or the offer may end (taken, withdrawn, expired, its entry
closed: :func:`cancel_offer_messages`), so that no text offers a time that is gone.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from api.services.contacts import patient_contact
from api.services.links import offer_url
from api.store.unit_of_work import UnitOfWork
from models import Patient, Reminder, WaitlistOffer
from scheduling.links import with_link
from scheduling.reminders import ReminderKind, ReminderStatus, skip_reason


def replan_offer_messages(uow: UnitOfWork, patient: Patient, now: datetime) -> None:
    """The patient's offer messages still to go, as the patient is now: to their channel and address, with the
    offer's link that works now (a new one after a revocation); skipped, with why, when they can no longer be
    written to (R18)."""
    query = select(Reminder).where(
        col(Reminder.patient_id) == patient.id,
        col(Reminder.kind) == ReminderKind.waitlist_offer,
        col(Reminder.status) == ReminderStatus.pending,
    )
    for message in uow.execute(query).scalars():
        contact = patient_contact(uow, patient)
        reason = skip_reason(contact)
        if reason is not None:
            message.status, message.reason = ReminderStatus.skipped, reason
        else:
            message.channel = contact.channel
            message.to_address = {"email": contact.email, "sms": contact.phone}.get(contact.channel)
            offer = uow.find(WaitlistOffer, message.offer_id) if message.offer_id else None
            url = offer_url(uow, offer, patient, now) if offer is not None else None
            message.body = with_link(message.body, url) if url else message.body
        uow.add(message)


def cancel_offer_messages(uow: UnitOfWork, offer_ids: Iterable[uuid.UUID], reason: str) -> None:
    """The messages still to go of offers that ended (`reason`: why, as staff read it) are not sent."""
    ids = list(offer_ids)
    if not ids:
        return
    query = select(Reminder).where(
        col(Reminder.offer_id).in_(ids),
        col(Reminder.kind) == ReminderKind.waitlist_offer,
        col(Reminder.status) == ReminderStatus.pending,
    )
    for message in uow.execute(query).scalars():
        message.status, message.reason = ReminderStatus.cancelled, reason
        uow.add(message)
