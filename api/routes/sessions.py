"""Sessions: the day view and single sessions."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import STAFF, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep
from api.services import sessions
from models import Page, SessionRead, SessionStatus

router = APIRouter(
    prefix="/v1/sessions", tags=["sessions"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))]
)


@router.get("", response_model=Page[SessionRead], summary="Day view: sessions by start")
def list_sessions(
    db: SessionDep,
    page: PageDep,
    on: Annotated[date | None, Query(alias="date", description="One clinic-local date")] = None,
    from_date: Annotated[date | None, Query(alias="from", description="First clinic-local date")] = None,
    to_date: Annotated[date | None, Query(alias="to", description="Last clinic-local date, inclusive")] = None,
    practitioner_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    status: SessionStatus | None = None,
) -> Response:
    """The sessions of a day (`date`) or of a range (`from`, `to`), ordered by start, with the clinic-local time."""
    body = sessions.list_sessions_json(
        db=db,
        on=on,
        from_date=from_date,
        to_date=to_date,
        practitioner_id=practitioner_id,
        patient_id=patient_id,
        status=status,
        limit=page.limit,
        offset=page.offset,
    )
    return Response(body, media_type="application/json")


@router.get("/{session_id}", response_model=SessionRead, summary="One session")
def get_session(session_id: uuid.UUID, db: SessionDep) -> SessionRead:
    """A session with its status, warnings and, once completed, its clinical record."""
    return sessions.get_session(db=db, session_id=session_id)
