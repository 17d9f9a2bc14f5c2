"""Reminders: what will go out, what went and why not; dispatch passes; outbox acknowledgements."""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.services import dispatch, reminders
from api.store import actors
from api.web.deps import STAFF, requires
from api.web.etag import refuse_unchecked_if_match
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import Page, ReminderRead, Role
from models.base import Instant
from models.reminder import DispatchRequest, DispatchSummary
from scheduling.reminders import ReminderKind, ReminderStatus

router = APIRouter(prefix="/v1/reminders", tags=["reminders"], responses=PROBLEMS)
_readers = [Depends(requires(*STAFF, Role.dispatcher))]
_dispatcher = [Depends(requires(Role.dispatcher))]


@router.get("", response_model=Page[ReminderRead], dependencies=_readers, summary="List reminders")
async def list_reminders(
    tx: TransactionDep,
    page: PageDep,
    status: ReminderStatus | None = None,
    kind: ReminderKind | None = None,
    patient_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    inbound_message_id: uuid.UUID | None = None,
    due_before: Annotated[Instant | None, Query(description="Only those due before this instant")] = None,
) -> Response:
    """Reminders by due time: pending ones (what will go out), sent ones, and skipped or failed ones with
    `reason` / `last_error` saying why."""
    return await tx.read(
        lambda uow: reminders.list_reminders(
            uow=uow,
            status=status,
            kind=kind,
            patient_id=patient_id,
            session_id=session_id,
            due_before=due_before,
            inbound_message_id=inbound_message_id,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.post("/dispatch", response_model=DispatchSummary, dependencies=_dispatcher, summary="Run one dispatch pass")
async def dispatch_pass(request: DispatchRequest, http: Request, tx: TransactionDep) -> DispatchSummary:
    """Claim due reminders (at most `limit`, default 500), deliver them and record the outcome; the same as
    `prolo reminders dispatch`. Several passes may run at once: none sends a reminder twice."""
    # No turn at the database (api/store/admission.py) for the pass as a whole: it spends most of its time
    # delivering, one connection at a time from the pool's overflow, and each of its short writes
    # lines up with the other writers at the process's writer gate (api/store/db.py).
    refuse_unchecked_if_match(http)  # a pass has no ETag (S6)
    state = http.app.state
    return await run_in_threadpool(
        dispatch.dispatch,
        engine=state.engine,
        channels=state.channels,
        clock=state.clock,
        limit=request.limit or 500,
        lease=timedelta(seconds=state.settings.dispatch_lease_seconds),
        actor=tx.actor or actors.SERVER,  # the route needs a key: it is the actor
        link_keys=state.link_keys,
    )


@router.get("/{reminder_id}", response_model=ReminderRead, dependencies=_readers, summary="One reminder")
async def get_reminder(reminder_id: uuid.UUID, tx: TransactionDep) -> Response:
    """A reminder with its delivery state, `reason` if skipped and `last_error` if a delivery failed."""
    return await tx.read(lambda uow: reminders.get_reminder(uow=uow, reminder_id=reminder_id), etag=True)


@router.post("/{reminder_id}/ack", response_model=ReminderRead, dependencies=_readers, summary="Acknowledge")
async def acknowledge(reminder_id: uuid.UUID, tx: TransactionDep) -> Response:
    """Front-desk software took this outbox reminder (ready → acknowledged)."""
    return await tx.write(
        lambda uow: reminders.acknowledge(uow=uow, reminder_id=reminder_id, now=tx.now),
        current=lambda uow: reminders.reminder_for_change(uow=uow, reminder_id=reminder_id),
        etag=True,
    )
