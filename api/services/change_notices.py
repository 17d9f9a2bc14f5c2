"""The patient's change notice (R37): one pending per patient, listing what changed since they were last told.

What the patient was last told of a session is the newer of two things: the session's
``told_start_at`` (set at booking, and at the desk by a change with ``notify_patient: false``)
and the latest change notice that left for them (``sent``, or ``sending`` right now) naming it.
Every write path replans through :func:`sync_change_notice` in its own transaction (via
``sync_course_reminders``): the notice is kept while what it says still holds, replaced
(its grace starting again) when it would say something else, and cancelled
``no_net_change`` when nothing is left to tell. Text and links: ``scheduling.messages``;
the session's link, once Prolo has links, goes into each :class:`~scheduling.messages.Change`.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from api.services.clinic import phone_for_people
from api.services.contacts import patient_contact
from api.services.links import message_links
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Patient, Reminder, Session
from scheduling import messages
from scheduling.hygiene import NO_NET_CHANGE, SessionChange, SessionNow, changes, notice_due, notice_key
from scheduling.reminders import CHANGE_NOTICE, PATIENT, ReminderStatus, skip_reason

_OPEN = (ReminderStatus.pending, ReminderStatus.skipped)
_TOLD = (ReminderStatus.sent, ReminderStatus.sending)
_NEVER = datetime.min.replace(tzinfo=UTC)


def sync_change_notice(uow: UnitOfWork, patient: Patient, clinic: Clinic, now: datetime) -> None:
    """R37: make the patient's pending change notice say what differs now from what they were told."""
    uow.flush()
    sessions = list(uow.execute(select(Session).where(col(Session.patient_id) == patient.id)).scalars())
    notices = list(
        uow.execute(
            select(Reminder).where(col(Reminder.patient_id) == patient.id, col(Reminder.kind) == CHANGE_NOTICE)
        ).scalars()
    )
    told = _told(sessions, notices)
    found = changes(
        {str(k): v for k, v in told.items()},
        [SessionNow(str(s.id), s.number, s.status, s.start_at) for s in sessions],
        now,
    )
    announces = {c.session_id: c.now.astimezone(UTC).isoformat() if c.now else None for c in found}
    open_notices = [n for n in notices if n.status in _OPEN]
    keep = open_notices[-1] if found and len(open_notices) == 1 and open_notices[0].announces == announces else None
    for notice in open_notices:
        if notice is not keep:
            notice.status, notice.reason = ReminderStatus.cancelled, None if found else NO_NET_CHANGE
    if not found:
        return
    uow.flush()  # the replaced notice leaves the one-pending-per-slot index first
    values = _notice(uow, patient, clinic, found, message_links(uow, sessions, patient, now))
    if keep is not None:  # it still says what holds: its grace runs from the change that made it; it goes
        for name, value in values.items():  # where, how and with the words the patient's details say now
            if getattr(keep, name) != value:
                setattr(keep, name, value)
        return
    from api.services.reminder_plans import reminder_settings  # it plans the rest of the patient's messages

    due_at = notice_due(now, clinic.change_grace_minutes, reminder_settings(clinic))
    key = notice_key(str(patient.id), found, due_at)
    again = next((n for n in notices if n.idempotency_key == key), None)
    if again is not None:  # the same notice at the same time, cancelled before: revived under its key (R19)
        for name, value in values.items():
            setattr(again, name, value)
        again.attempts, again.last_error = 0, None
        return
    by_id = {str(s.id): s for s in sessions}
    uow.add(
        Reminder(
            kind=CHANGE_NOTICE,
            audience=PATIENT,
            due_at=due_at,
            expires_at=due_at + timedelta(days=1),
            idempotency_key=key,
            patient_id=patient.id,
            session_id=by_id[found[0].session_id].id,
            created_at=now,
            announces=announces,
            **values,
        )
    )


def _notice(
    uow: UnitOfWork, patient: Patient, clinic: Clinic, found: list[SessionChange], links: dict[str, str]
) -> dict[str, Any]:
    """What a change notice says, to whom and how, as the patient's details stand now (R18, R22); each
    session still to come carries its link (R23)."""
    contact = patient_contact(uow, patient)
    lines = [
        messages.Change(
            c.number,
            c.was.astimezone(clinic.zone) if c.was else None,
            c.now.astimezone(clinic.zone) if c.now else None,
            link=links.get(c.session_id),
        )
        for c in found
    ]
    text = messages.change_notice(
        contact.first_name,
        messages.one_line(clinic.name),
        lines,
        phone=phone_for_people(clinic),
        email=contact.channel == "email",
    )
    reason = skip_reason(contact)
    return {
        "channel": contact.channel,
        "to_address": _address(patient),
        "status": ReminderStatus.pending if reason is None else ReminderStatus.skipped,
        "reason": reason,
        "subject": text.subject,
        "body": text.body,
    }


def _address(patient: Patient) -> str | None:
    return {"email": patient.email, "sms": patient.phone}.get(patient.reminder_channel)


def _told(sessions: list[Session], notices: list[Reminder]) -> dict[uuid.UUID, datetime | None]:
    """Each session's start as the patient was last told it (None: cancelled, or never told)."""
    told = {s.id: (s.told_at or _NEVER, s.told_start_at) for s in sessions}
    for notice in notices:
        if notice.status not in _TOLD:
            continue
        at = notice.sent_at or notice.due_at
        for session_id, start in (notice.announces or {}).items():
            key = uuid.UUID(session_id)
            if key in told and at >= told[key][0]:
                told[key] = (at, datetime.fromisoformat(start) if start else None)
    return {key: start for key, (_, start) in told.items()}


def mark_told(sessions: list[Session], now: datetime) -> None:
    """R37 ``notify_patient: false``: the patient is at the desk and knows these sessions as they are now."""
    for s in sessions:
        s.told_start_at = SessionNow(str(s.id), s.number, s.status, s.start_at).announced
        s.told_at = now
