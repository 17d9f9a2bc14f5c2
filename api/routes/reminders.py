"""Reminders: what will go out, what went and why not; dispatch passes; outbox acknowledgements."""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.deps import STAFF, EngineDep, NowDep, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep
from api.services import dispatch, reminders
from models import Page, ReminderRead, Role
from models.base import Instant
from models.reminder import DispatchRequest, DispatchSummary
from scheduling.reminders import ReminderKind, ReminderStatus

router = APIRouter(prefix="/v1/reminders", tags=["reminders"], responses=PROBLEMS)
_readers = [Depends(requires(*STAFF, Role.dispatcher))]
_dispatcher = [Depends(requires(Role.dispatcher))]


@router.get("", response_model=Page[ReminderRead], dependencies=_readers, summary="List reminders")
def list_reminders(
    db: SessionDep,
    page: PageDep,
    status: ReminderStatus | None = None,
    kind: ReminderKind | None = None,
    patient_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    due_before: Annotated[Instant | None, Query(description="Only those due before this instant")] = None,
) -> Page[ReminderRead]:
    """Reminders by due time: pending ones (what will go out), sent ones, and skipped or failed ones with
    `reason` / `last_error` saying why."""
    return reminders.list_reminders(
        db=db,
        status=status,
        kind=kind,
        patient_id=patient_id,
        session_id=session_id,
        due_before=due_before,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/dispatch", response_model=DispatchSummary, dependencies=_dispatcher, summary="Run one dispatch pass")
def dispatch_pass(request: DispatchRequest, http: Request, engine: EngineDep) -> DispatchSummary:
    """Claim due reminders (at most `limit`, default 500), deliver them and record the outcome; the same as
    `prolo reminders dispatch`. Several passes may run at once: none sends a reminder twice."""
    # No turn at the database (api/admission.py) for the pass as a whole: it spends most of its time
    # delivering, one connection at a time from the pool's overflow, and each of its short writes
    # takes turns with the other writers on the process's writer lock (api/db.py).
    return dispatch.dispatch(
        engine=engine,
        channels=http.app.state.channels,
        clock=http.app.state.clock,
        limit=request.limit or 500,
        lease=timedelta(seconds=http.app.state.settings.dispatch_lease_seconds),
    )


@router.post("/{reminder_id}/ack", response_model=ReminderRead, dependencies=_readers, summary="Acknowledge")
def acknowledge(reminder_id: uuid.UUID, db: SessionDep, now: NowDep) -> ReminderRead:
    """Front-desk software took this outbox reminder (ready → acknowledged)."""
    return reminders.acknowledge(db=db, reminder_id=reminder_id, now=now)
