"""Protocols: course templates with their aftercare rules."""

import uuid

from fastapi import APIRouter, Depends

from api.deps import SETUP_READERS, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep
from api.services import protocols
from models import Page, ProtocolCreate, ProtocolRead, ProtocolUpdate, Role

router = APIRouter(prefix="/v1/protocols", tags=["protocols"], responses=PROBLEMS)
_read = [Depends(requires(*SETUP_READERS))]
_write = [Depends(requires(Role.clinician))]


@router.get("", response_model=Page[ProtocolRead], dependencies=_read, summary="List protocols")
def list_protocols(db: SessionDep, page: PageDep) -> Page[ProtocolRead]:
    """Every protocol, the default one first."""
    return protocols.list_protocols(db=db, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=ProtocolRead, dependencies=_write, summary="Add a protocol")
def create_protocol(values: ProtocolCreate, db: SessionDep) -> ProtocolRead:
    """A new course template: session count, spacing, duration, injectate and aftercare rules."""
    return protocols.create_protocol(db=db, values=values)


@router.get("/{protocol_id}", response_model=ProtocolRead, dependencies=_read, summary="One protocol")
def get_protocol(protocol_id: uuid.UUID, db: SessionDep) -> ProtocolRead:
    """A protocol and its aftercare rules."""
    return protocols.get_protocol(db=db, protocol_id=protocol_id)


@router.patch("/{protocol_id}", response_model=ProtocolRead, dependencies=_write, summary="Change a protocol")
def update_protocol(protocol_id: uuid.UUID, changes: ProtocolUpdate, db: SessionDep) -> ProtocolRead:
    """Only the fields given change. Courses already booked keep the values they were booked with."""
    return protocols.update_protocol(db=db, protocol_id=protocol_id, changes=changes)
