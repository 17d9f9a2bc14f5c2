"""Protocols: course templates with their aftercare rules."""

import uuid

from fastapi import APIRouter, Depends, Response

from api.services import protocols
from api.web.deps import SETUP_READERS, requires
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import Page, ProtocolCreate, ProtocolRead, ProtocolUpdate, Role

router = APIRouter(prefix="/v1/protocols", tags=["protocols"], responses=PROBLEMS)
_read = [Depends(requires(*SETUP_READERS))]
_write = [Depends(requires(Role.clinician))]


@router.get("", response_model=Page[ProtocolRead], dependencies=_read, summary="List protocols")
async def list_protocols(tx: TransactionDep, page: PageDep) -> Response:
    """Every protocol, the default one first."""
    return await tx.read(lambda uow: protocols.list_protocols(uow=uow, limit=page.limit, offset=page.offset))


@router.post("", status_code=201, response_model=ProtocolRead, dependencies=_write, summary="Add a protocol")
async def create_protocol(values: ProtocolCreate, tx: TransactionDep) -> Response:
    """A new course template: session count, spacing, duration, injectate and aftercare rules."""
    return await tx.write(
        lambda uow: protocols.create_protocol(uow=uow, values=values),
        location=lambda protocol: f"/v1/protocols/{protocol.id}",
        etag=True,
    )


@router.get("/{protocol_id}", response_model=ProtocolRead, dependencies=_read, summary="One protocol")
async def get_protocol(protocol_id: uuid.UUID, tx: TransactionDep) -> Response:
    """A protocol and its aftercare rules."""
    return await tx.read(lambda uow: protocols.get_protocol(uow=uow, protocol_id=protocol_id), etag=True)


@router.patch("/{protocol_id}", response_model=ProtocolRead, dependencies=_write, summary="Change a protocol")
async def update_protocol(protocol_id: uuid.UUID, changes: ProtocolUpdate, tx: TransactionDep) -> Response:
    """Only the fields given change. Courses already booked keep the values they were booked with."""
    return await tx.write(
        lambda uow: protocols.update_protocol(uow=uow, protocol_id=protocol_id, changes=changes),
        current=lambda uow: protocols.protocol_for_change(uow=uow, protocol_id=protocol_id),
        etag=True,
    )
