"""Staff items (R22, R26): outbox reminders that ask a person at the clinic to act, with a `reason`.

A staff item is no planned reminder: it is raised by an event (a patient acting through their
link), `ready` in the outbox at once, and no replan of the course ever cancels it; front-desk
software reads it (`GET /v1/reminders?status=ready`) and acknowledges it as every outbox item.
"""

from datetime import datetime, timedelta

from api.store.unit_of_work import UnitOfWork
from models import Reminder, Session
from models.base import new_id
from scheduling.reminders import CLINIC, ReminderKind, ReminderStatus, reminder_key

_KEPT_FOR = timedelta(days=30)  # an unanswered staff item never expires in the outbox; this only bounds R20's check


def raise_patient_action(uow: UnitOfWork, session: Session, *, reason: str, text: str, now: datetime) -> None:
    """A `patient_action` item about `session` (`reason`: `cancelled`, `rescheduled`, `wants_to_stop`)."""
    raise_item(uow, ReminderKind.patient_action, str(session.id), reason=reason, text=text, now=now, session=session)


def raise_item(
    uow: UnitOfWork,
    kind: ReminderKind,
    subject: str,
    *,
    reason: str,
    text: str,
    now: datetime,
    session: Session | None = None,
) -> None:
    """A staff item of `kind` about `subject` (a session, an opening), ready in the outbox now."""
    row = {
        "id": new_id(),
        "kind": kind,
        "audience": CLINIC,
        "channel": "outbox",
        "due_at": now,
        "expires_at": now + _KEPT_FOR,
        "status": ReminderStatus.ready,
        "attempts": 0,
        "idempotency_key": reminder_key(subject, kind, reason, None, now, text),
        "patient_id": session.patient_id if session else None,
        "session_id": session.id if session else None,
        "rule_code": reason,  # one per (session, reason, instant): two actions at one instant are one item
        "offset_minutes": 0,
        "reason": reason,
        "to_address": None,
        "subject": None,
        "body": text,
        "created_at": now,
    }
    uow.insert(Reminder, [row])
