"""Patient links for staff (R28): a session's link to send, a patient's links, revocation."""

import uuid

from fastapi import APIRouter, Depends, Request, Response

from api.services import patient_links
from api.web.deps import STAFF, requires
from api.web.routes.common import PROBLEMS
from api.web.transaction import TransactionDep
from models import PatientLinkRead, SessionLink

router = APIRouter(tags=["patient links"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))])


@router.post("/v1/sessions/{session_id}/link", response_model=SessionLink, summary="A session's patient link")
async def session_link(session_id: uuid.UUID, http: Request, tx: TransactionDep) -> Response:
    """The link the patient opens to confirm, cancel or move this session, without an account: the same URL
    until it is revoked (by staff, a new phone or email, archiving) or expires (a day after the session, at
    most 90 days). Every reminder about the session carries it. Hand it to the patient only."""
    origin = str(http.base_url)
    return await tx.write(
        lambda uow: patient_links.session_link(uow=uow, session_id=session_id, origin=origin, now=tx.now),
        secret=lambda made: f"a link to session {session_id}: ask again for its URL",
    )


@router.get("/v1/patients/{patient_id}/links", response_model=list[PatientLinkRead], summary="A patient's links")
async def list_links(patient_id: uuid.UUID, tx: TransactionDep) -> Response:
    """Every link issued to the patient, newest first, with when it expires or was revoked (never the URL)."""
    return await tx.read(lambda uow: patient_links.list_links(uow=uow, patient_id=patient_id))


@router.post("/v1/links/{link_id}/revoke", response_model=PatientLinkRead, summary="Revoke one link")
async def revoke_link(link_id: uuid.UUID, tx: TransactionDep) -> Response:
    """The link stops working at once (410) in every process; messages still to go get the session's new link."""
    return await tx.write(lambda uow: patient_links.revoke_link(uow=uow, link_id=link_id, now=tx.now))


@router.post("/v1/patients/{patient_id}/links/revoke", response_model=list[PatientLinkRead], summary="Revoke all links")
async def revoke_patient_links(patient_id: uuid.UUID, tx: TransactionDep) -> Response:
    """Every link of the patient stops working at once; messages still to go get new ones. The answer lists the
    links that ended."""
    return await tx.write(lambda uow: patient_links.revoke_patient_links(uow=uow, patient_id=patient_id, now=tx.now))
