"""Dispatching due reminders (R20, R21): claim under a lease, deliver, record — never lost, never twice.

A pass claims due reminders in due order, in batches. PostgreSQL claims with
`FOR UPDATE SKIP LOCKED`, so dispatchers on several hosts take disjoint batches;
SQLite claims under `BEGIN IMMEDIATE`, one writer at a time. A claim marks the
rows `sending` with a lease; a dispatcher killed mid-batch simply lets its lease
run out and the next pass claims the rows again (same idempotency key). Results
are recorded only while the lease is still this dispatcher's.

Throughput: a commit costs far more than a row (an fsync on PostgreSQL), so the
pass does as much as it safely can per statement. Its claim is one
`UPDATE … RETURNING` of a whole batch that also finishes, in the same statement,
every row no channel has to carry: `outbox` reminders become `ready` (R22) and
those whose moment has passed `expired`. Such a row goes from due to done in one
transaction — there is no window in which it is claimed but not recorded. Only
reminders for a channel (email, SMS) stay `sending` under the lease; each one's
outcome is still recorded in its own short transaction right after its delivery,
so a dispatcher that dies mid-batch leaves at most the one message in flight to
be sent again (with the same idempotency key), not the rest of the batch. The hot
path uses Core statements on the table and the few columns it needs, not ORM objects.
"""

import dataclasses
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, literal, null, or_, select, update
from sqlmodel import col

from api.notify import Channel, Delivered, DeliveryError, Message
from api.services.patient_links import renew_ended_links
from api.services.waitlist_pass import waitlist_pass
from api.store import actors
from api.store.unit_of_work import Steps, UnitOfWork
from models import Reminder
from models.base import table_of
from models.reminder import DispatchSummary
from scheduling.backoff import retry_at
from scheduling.messages import one_line
from scheduling.reminders import ReminderStatus

log = logging.getLogger("prolo.dispatch")
ACTION = "reminders.dispatch"

LEASE = timedelta(minutes=5)
MAX_LATENESS = timedelta(hours=12)  # R20: older than this, a reminder is stale, not late
# Reminders claimed per statement. While batches hold email/SMS to send, BATCH: one
# dispatcher should not sit on hundreds of slow messages that others could be sending.
# Once a batch needed no channel at all (outbox, expired: the claim finished it), the
# next claims take FULL_BATCH, so one commit serves hundreds of rows.
BATCH = 100
FULL_BATCH = 500
OUTBOX = "outbox"
REMINDER = table_of(Reminder)  # Core: the pass's statements skip the ORM
# What a pass reads back from its claim: the new status, and what delivery needs
_CLAIMED = (
    *("id", "status", "channel", "attempts", "due_at", "expires_at"),
    *("idempotency_key", "kind", "to_address", "subject", "body"),
)


@dataclass
class Tally:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    ready: int = 0

    def summary(self) -> DispatchSummary:
        return DispatchSummary(
            claimed=self.claimed,
            sent=self.sent,
            retried=self.retried,
            failed=self.failed,
            expired=self.expired,
            ready=self.ready,
        )


def _due(now: datetime) -> ColumnElement[bool]:
    pending = and_(
        col(Reminder.status) == ReminderStatus.pending,
        col(Reminder.due_at) <= now,
        or_(col(Reminder.next_attempt_at).is_(None), col(Reminder.next_attempt_at) <= now),
    )
    abandoned = and_(col(Reminder.status) == ReminderStatus.sending, col(Reminder.lease_until) < now)
    return or_(pending, abandoned)


def _claimable(uow: UnitOfWork, where: Any, limit: int) -> list[Row[Any]]:
    """Reminders matching `where` with their status, in due order; on PostgreSQL locked, and only rows
    no one else is claiming (several dispatchers take disjoint batches)."""
    c = REMINDER.c
    query = select(c.id, c.status, c.attempts, c.sent_at).where(where).order_by(c.due_at, c.id).limit(limit)
    return uow.lock_rows(query.with_for_update(skip_locked=True) if uow.dialect == "postgresql" else query)


def expire_stale(steps: Steps, now: datetime) -> int:
    """R20: reminders whose moment passed, or overdue past the maximum lateness, become `expired`.

    In transactions of FULL_BATCH rows: a catch-up after an outage may find thousands, and one
    transaction holding them all (their ids bound one by one, their events in memory) would not do.
    """
    c = REMINDER.c
    stale = and_(_due(now), or_(c.expires_at <= now, c.due_at < now - MAX_LATENESS))
    expired = 0
    while True:
        with steps(now) as uow:
            found = _claimable(uow, stale, FULL_BATCH)
            if found:
                uow.update(
                    Reminder,
                    where=c.id.in_([r.id for r in found]),
                    values={"status": ReminderStatus.expired, "lease_until": None, "leased_by": None},
                    before={r.id: {"status": r.status} for r in found},
                    recorded=("status",),
                )
        expired += len(found)
        if len(found) < FULL_BATCH:
            return expired


def _claim_batch(steps: Steps, now: datetime, limit: int, worker: str, lease: timedelta) -> list[Row[Any]]:
    """Take up to `limit` due reminders in due order, under this dispatcher's lease, in one statement
    that also finishes the rows no channel carries.

    Each claimed row counts an attempt. One already past `expires_at`
    becomes `expired`; an `outbox` one becomes `ready` (sent_at = now); both leave
    without a lease. The rest are `sending` under this dispatcher's lease. Returns
    the columns delivery needs, with the new status, in due order.
    """
    c = REMINDER.c
    expired = c.expires_at <= now  # its moment passed after expire_stale() ran
    ready = and_(~expired, c.channel == OUTBOX)  # front-desk software collects it (R22)
    finished = or_(expired, c.channel == OUTBOX)
    instant = c.lease_until.type  # UTC handling of bound instants (naive UTC on SQLite), as the ORM does it
    with steps(now) as uow:
        due = {r.id: r for r in _claimable(uow, _due(now), limit)}
        if not due:
            return []
        rows = uow.update(
            Reminder,
            where=c.id.in_(list(due)),
            values={
                "status": case(
                    (expired, ReminderStatus.expired),
                    (c.channel == OUTBOX, ReminderStatus.ready),
                    else_=ReminderStatus.sending,
                ),
                "attempts": c.attempts + 1,
                "lease_until": case((finished, null()), else_=literal(now + lease, instant)),
                "leased_by": case((finished, null()), else_=literal(worker)),
                "sent_at": case((ready, literal(now, instant)), else_=c.sent_at),
            },
            before={r.id: {"status": r.status, "attempts": r.attempts, "sent_at": r.sent_at} for r in due.values()},
            recorded=("status", "attempts", "sent_at"),
            returning=_CLAIMED,
        )
    return sorted(rows, key=lambda r: (r.due_at, r.id))


def _record(steps: Steps, reminder_id: uuid.UUID, worker: str, now: datetime, **values: Any) -> bool:
    """Write a delivery's outcome, only if the lease is still ours (R21); the audit trail records it (S7)."""
    c = REMINDER.c
    with steps(now) as uow:
        changed = uow.update(
            Reminder,
            where=and_(c.id == reminder_id, c.leased_by == worker, c.status == ReminderStatus.sending),
            values={"lease_until": None, "leased_by": None, **values},
            before={reminder_id: {"status": ReminderStatus.sending}},
            recorded=tuple(values),
        )
        return bool(changed)


def _message(reminder: Row[Any]) -> Message:
    return Message(
        reminder_id=str(reminder.id),
        idempotency_key=reminder.idempotency_key,
        kind=reminder.kind,
        channel=reminder.channel,
        to=reminder.to_address,
        # one line, as planned since S2 refuses line breaks in names; one planned before may hold one (the
        # channel refuses a header with a line break, as it would an injected one)
        subject=None if reminder.subject is None else one_line(reminder.subject),
        body=reminder.body,
    )


def _deliver(
    steps: Steps,
    reminder: Row[Any],
    channels: Mapping[str, Channel],
    worker: str,
    clock: Callable[[], datetime],
    tally: Tally,
) -> None:
    """Send one claimed reminder through its channel and record the outcome (outbox rows never get here)."""
    if reminder.expires_at <= clock():  # the moment passed while it waited in the batch
        tally.expired += _record(steps, reminder.id, worker, clock(), status=ReminderStatus.expired)
        return
    try:
        channel = channels.get(reminder.channel)
        if channel is None:
            raise DeliveryError(
                f"no channel {reminder.channel!r} is configured", permanent=False, error_class="NoChannel"
            )
        delivered: Delivered = channel.send(_message(reminder))
    except DeliveryError as exc:
        _failed(steps, reminder, worker, clock(), exc, tally)
        return
    except Exception as exc:  # a channel's own bug must not end the pass: retried like a temporary failure
        log.exception("channel %s raised for reminder %s", reminder.channel, reminder.id)
        unexpected = DeliveryError(type(exc).__name__, permanent=False, error_class=type(exc).__name__)
        _failed(steps, reminder, worker, clock(), unexpected, tally)
        return
    now = clock()
    tally.sent += _record(
        steps,
        reminder.id,
        worker,
        now,
        status=ReminderStatus.sent,
        sent_at=now,
        provider_id=delivered.provider_id,
        last_error=None,
    )


def _failed(steps: Steps, reminder: Row[Any], worker: str, now: datetime, exc: DeliveryError, tally: Tally) -> None:
    error = exc.detail[:500]
    again = None if exc.permanent else retry_at(reminder.attempts, now, random.uniform(-1.0, 1.0))
    if again is None:
        tally.failed += _record(steps, reminder.id, worker, now, status=ReminderStatus.failed, last_error=error)
    else:
        tally.retried += _record(
            steps,
            reminder.id,
            worker,
            now,
            status=ReminderStatus.pending,
            next_attempt_at=again,
            last_error=error,
        )


def _renew(steps: Steps, worker: str, now: datetime, lease: timedelta) -> None:
    """Keep the lease on what this pass still holds, so a slow provider does not hand it to another dispatcher."""
    with steps(now) as uow:
        uow.bookkeeping(
            update(Reminder)
            .where(col(Reminder.leased_by) == worker, col(Reminder.status) == ReminderStatus.sending)
            .values(lease_until=now + lease)
        )


def dispatch(
    *,
    steps: Steps,
    channels: Mapping[str, Channel],
    clock: Callable[[], datetime],
    limit: int = 500,
    worker: str | None = None,
    lease: timedelta = LEASE,
) -> DispatchSummary:
    """One pass: renew ended patient links, settle the waitlist's due openings (R40; their offers are due at
    once), expire the stale, then claim and deliver due reminders, at most `limit` of them.

    `steps` opens each of the pass's short units of work (api/store/unit_of_work.py), in the name of
    whoever runs it (the API key of `POST /v1/reminders/dispatch`, or the command line): the audit trail
    records every reminder's change of state as theirs. With the steps' link keys (R23), messages still to
    go whose session's links have all ended get the next one first.
    """
    worker = worker or f"dispatcher-{uuid.uuid4().hex[:12]}"
    if steps.link_keys is not None:
        with steps.automatic(ACTION)(clock()) as uow:
            renew_ended_links(uow=uow, now=clock())
    waitlist = waitlist_pass(steps.engine, clock(), actors.automatic(steps.actor), steps.link_keys)
    tally = Tally(expired=expire_stale(steps, clock()))
    size = BATCH
    while tally.claimed < limit:
        batch = _claim_batch(steps, clock(), min(size, limit - tally.claimed), worker, lease)
        if not batch:
            break
        tally.claimed += len(batch)
        tally.ready += sum(r.status == ReminderStatus.ready for r in batch)
        tally.expired += sum(r.status == ReminderStatus.expired for r in batch)
        to_send = [r for r in batch if r.status == ReminderStatus.sending]
        size = BATCH if to_send else FULL_BATCH
        renewed_at = clock()
        for reminder in to_send:
            if clock() - renewed_at > lease / 2:
                renewed_at = clock()
                _renew(steps, worker, renewed_at, lease)
            _deliver(steps, reminder, channels, worker, clock, tally)
    return tally.summary().model_copy(update=dataclasses.asdict(waitlist))
