"""Sessions: the day view and single sessions."""

import uuid
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import STAFF, AdmittedEngineDep, NowDep, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep
from api.services import lifecycle, sessions
from api.services import reschedule as reschedule_service
from models import Page, Role, SessionRead
from models.base import DATE_BOUNDS
from models.record import Rescheduled, SessionCancel, SessionCancelled, SessionComplete, SessionReschedule
from scheduling.lifecycle import SessionStatus

router = APIRouter(
    prefix="/v1/sessions", tags=["sessions"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))]
)


@router.get("", response_model=Page[SessionRead], summary="Day view: sessions by start")
async def list_sessions(
    http: Request,
    engine: AdmittedEngineDep,
    page: PageDep,
    on: Annotated[date | None, Query(alias="date", **DATE_BOUNDS, description="One clinic-local date")] = None,
    from_date: Annotated[date | None, Query(alias="from", **DATE_BOUNDS, description="First clinic-local date")] = None,
    to_date: Annotated[
        date | None, Query(alias="to", **DATE_BOUNDS, description="Last clinic-local date, inclusive")
    ] = None,
    practitioner_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    status: SessionStatus | None = None,
) -> Response:
    """The sessions of a day (`date`) or of a range (`from`, `to`), ordered by start, with the clinic-local time."""
    read = partial(
        sessions.list_sessions_json,
        engine=engine,
        cache=http.app.state.day_view_cache,
        on=on,
        from_date=from_date,
        to_date=to_date,
        practitioner_id=practitioner_id,
        patient_id=patient_id,
        status=status,
        limit=page.limit,
        offset=page.offset,
    )
    # The front desk polls this view all day. On SQLite (WAL: readers never wait for the writer) the
    # sub-millisecond local read runs right here; a thread hop would cost more than the read. A
    # database across the network is read in a worker thread, never blocking the event loop.
    body = read() if engine.dialect.name == "sqlite" else await run_in_threadpool(read)
    return Response(body, media_type="application/json")


@router.get("/{session_id}", response_model=SessionRead, summary="One session")
def get_session(session_id: uuid.UUID, db: SessionDep) -> SessionRead:
    """A session with its status, warnings and, once completed, its clinical record."""
    return sessions.get_session(db=db, session_id=session_id)


_clinician = [Depends(requires(Role.clinician))]


@router.post("/{session_id}/confirm", response_model=SessionRead, summary="Confirm a session")
def confirm(session_id: uuid.UUID, db: SessionDep, now: NowDep) -> SessionRead:
    """The patient confirmed they will come (scheduled → confirmed)."""
    return lifecycle.confirm(db=db, session_id=session_id, now=now)


@router.post("/{session_id}/check-in", response_model=SessionRead, summary="Check a patient in")
def check_in(session_id: uuid.UUID, db: SessionDep, now: NowDep) -> SessionRead:
    """The patient arrived; only on the session's local day. The answer's `warnings` carry what the clinician
    must know first: an NSAID taken inside its avoidance window, an earlier infection or allergic reaction,
    an allergy the injectate mentions."""
    return lifecycle.check_in(db=db, session_id=session_id, now=now)


@router.post(
    "/{session_id}/complete", response_model=SessionRead, dependencies=_clinician, summary="Complete a session"
)
def complete(session_id: uuid.UUID, record: SessionComplete, db: SessionDep, now: NowDep) -> SessionRead:
    """Record what was injected, the pain before (NRS 0–10) and any adverse events (checked-in sessions only)."""
    return lifecycle.complete(db=db, session_id=session_id, record=record, now=now)


@router.post("/{session_id}/no-show", response_model=SessionRead, summary="Mark a no-show")
def no_show(session_id: uuid.UUID, db: SessionDep, now: NowDep) -> SessionRead:
    """The patient did not come; only after the start time. Two no-shows flag the course `needs_review`."""
    return lifecycle.no_show(db=db, session_id=session_id, now=now)


@router.post("/{session_id}/cancel", response_model=SessionCancelled, summary="Cancel a session")
def cancel(session_id: uuid.UUID, request: SessionCancel, db: SessionDep, now: NowDep) -> SessionCancelled:
    """Cancel a scheduled or confirmed session; `replace: true` appends a replacement at the end of the course."""
    return lifecycle.cancel(db=db, session_id=session_id, reason=request.reason, replace=request.replace, now=now)


@router.post("/{session_id}/reschedule", response_model=Rescheduled, summary="Move a session (with reflow)")
def reschedule(session_id: uuid.UUID, request: SessionReschedule, db: SessionDep, now: NowDep) -> Rescheduled:
    """Move a session to `start`. The new time must be free and inside hours (R5) and keep the minimum interval
    to its neighbours (R4). With `reflow` (default) the later sessions that would now break their interval are
    planned again; the others keep their times. `moved` lists them all. `dry_run: true` answers the same and
    writes nothing, so staff can look before they commit."""
    return reschedule_service.reschedule(db=db, session_id=session_id, request=request, now=now)
