"""Sessions: the day view and single sessions."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.services import lifecycle, sessions
from api.services import reschedule as reschedule_service
from api.web.deps import STAFF, requires
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import Page, Role, SessionRead
from models.base import DATE_BOUNDS
from models.record import Rescheduled, SessionCancel, SessionCancelled, SessionComplete, SessionReschedule
from scheduling.lifecycle import SessionStatus

router = APIRouter(
    prefix="/v1/sessions", tags=["sessions"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))]
)


def day_view_key(
    first: date | None,
    last: date | None,
    practitioner_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
    status: SessionStatus | None,
    limit: int,
    offset: int,
) -> tuple[object, ...]:
    """The day view's key in its answer cache (api/web/day_view.py makes it too, for a poll answered early)."""
    return (first, last, practitioner_id, patient_id, status, limit, offset)


@router.get("", response_model=Page[SessionRead], summary="Day view: sessions by start")
async def list_sessions(
    http: Request,
    tx: TransactionDep,
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
    first, last = sessions.day_view_dates(on, from_date, to_date)
    # The front desk polls this view all day: an answer is reused until a change touches its sessions.
    key = day_view_key(first, last, practitioner_id, patient_id, status, page.limit, page.offset)
    return await tx.read(
        lambda uow: sessions.list_sessions(
            uow=uow,
            first=first,
            last=last,
            practitioner_id=practitioner_id,
            patient_id=patient_id,
            status=status,
            limit=page.limit,
            offset=page.offset,
        ),
        cache=(
            http.app.state.day_view_cache,
            key,
            lambda uow: sessions.day_view_scope(
                uow=uow, first=first, last=last, practitioner_id=practitioner_id, patient_id=patient_id
            ),
        ),
    )


@router.get("/{session_id}", response_model=SessionRead, summary="One session")
async def get_session(session_id: uuid.UUID, tx: TransactionDep) -> Response:
    """A session with its status, warnings and, once completed, its clinical record."""
    return await tx.read(lambda uow: sessions.get_session(uow=uow, session_id=session_id), etag=True)


_clinician = [Depends(requires(Role.clinician))]


def _the_session(session_id: uuid.UUID) -> dict[str, Any]:
    """An action on one session answers the session: If-Match is checked against it, and the answer has an ETag."""
    return {"current": lambda uow: sessions.session_for_change(uow=uow, session_id=session_id), "etag": True}


@router.post("/{session_id}/confirm", response_model=SessionRead, summary="Confirm a session")
async def confirm(session_id: uuid.UUID, tx: TransactionDep) -> Response:
    """The patient confirmed they will come (scheduled → confirmed). Its confirm request and the appointment
    reminders the clinic skips for confirmed sessions (`skip_when_confirmed_offsets_minutes`) are cancelled
    with reason `already_confirmed` (R35)."""
    return await tx.write(
        lambda uow: lifecycle.confirm(uow=uow, session_id=session_id, now=tx.now), **_the_session(session_id)
    )


@router.post("/{session_id}/check-in", response_model=SessionRead, summary="Check a patient in")
async def check_in(session_id: uuid.UUID, tx: TransactionDep) -> Response:
    """The patient arrived; only on the session's local day. The answer's `warnings` carry what the clinician
    must know first: an NSAID taken inside its avoidance window, an earlier infection or allergic reaction,
    an allergy the injectate mentions."""
    return await tx.write(
        lambda uow: lifecycle.check_in(uow=uow, session_id=session_id, now=tx.now), **_the_session(session_id)
    )


@router.post(
    "/{session_id}/complete", response_model=SessionRead, dependencies=_clinician, summary="Complete a session"
)
async def complete(session_id: uuid.UUID, record: SessionComplete, tx: TransactionDep) -> Response:
    """Record what was injected, the pain before (NRS 0–10) and any adverse events (checked-in sessions only)."""
    return await tx.write(
        lambda uow: lifecycle.complete(uow=uow, session_id=session_id, record=record, now=tx.now),
        **_the_session(session_id),
    )


@router.post("/{session_id}/no-show", response_model=SessionRead, summary="Mark a no-show")
async def no_show(session_id: uuid.UUID, tx: TransactionDep) -> Response:
    """The patient did not come; only after the start time. Two no-shows flag the course `needs_review`."""
    return await tx.write(
        lambda uow: lifecycle.no_show(uow=uow, session_id=session_id, now=tx.now), **_the_session(session_id)
    )


@router.post("/{session_id}/cancel", response_model=SessionCancelled, summary="Cancel a session")
async def cancel(session_id: uuid.UUID, request: SessionCancel, tx: TransactionDep) -> Response:
    """Cancel a scheduled or confirmed session; `replace: true` appends a replacement at the end of the course.
    The patient gets a change notice a few minutes later (R37) unless `notify_patient: false` (they are at the desk)."""
    return await tx.write(
        lambda uow: lifecycle.cancel(
            uow=uow,
            session_id=session_id,
            reason=request.reason,
            replace=request.replace,
            notify_patient=request.notify_patient,
            now=tx.now,
        ),
        current=lambda uow: sessions.session_for_change(uow=uow, session_id=session_id),
    )


@router.post("/{session_id}/reschedule", response_model=Rescheduled, summary="Move a session (with reflow)")
async def reschedule(session_id: uuid.UUID, request: SessionReschedule, tx: TransactionDep) -> Response:
    """Move a session to `start`. The new time must be free and inside hours (R5) and keep the minimum interval
    to its neighbours (R4). With `reflow` (default) the later sessions that would now break their interval are
    planned again; the others keep their times. `moved` lists them all. `dry_run: true` answers the same and
    writes nothing, so staff can look before they commit. The patient gets one change notice a few minutes after
    the last change (R37) unless `notify_patient: false` (they are at the desk)."""
    return await tx.write(
        lambda uow: reschedule_service.reschedule(uow=uow, session_id=session_id, request=request, now=tx.now),
        current=lambda uow: sessions.session_for_change(uow=uow, session_id=session_id),
        dry_run=request.dry_run,
    )
