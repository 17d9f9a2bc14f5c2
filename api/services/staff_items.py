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
    kind = ReminderKind.patient_action
    row = {
        "id": new_id(),
        "kind": kind,
        "audience": CLINIC,
        "channel": "outbox",
        "due_at": now,
        "expires_at": now + _KEPT_FOR,
        "status": ReminderStatus.ready,
        "attempts": 0,
        "idempotency_key": reminder_key(str(session.id), kind, reason, None, now, text),
        "patient_id": session.patient_id,
        "session_id": session.id,
        "rule_code": reason,  # one per (session, reason, instant): two actions at one instant are one item
        "offset_minutes": 0,
        "reason": reason,
        "to_address": None,
        "subject": None,
        "body": text,
        "created_at": now,
    }
    uow.insert(Reminder, [row])
