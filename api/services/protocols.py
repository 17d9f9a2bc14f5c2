"""Protocol use cases. The default protocol (R13) is made by the first migration."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from api.store.errors import Conflict, InvalidInput, NotFound
from api.store.unit_of_work import UnitOfWork
from models import Page, Protocol, ProtocolCreate, ProtocolRead, ProtocolUpdate

_DEFAULT = select(Protocol).where(col(Protocol.is_default).is_(True))


def default_protocol(uow: UnitOfWork) -> Protocol:
    """The protocol courses use when none is named."""
    protocol = uow.execute(_DEFAULT).scalars().first()
    if not isinstance(protocol, Protocol):
        raise NotFound("protocol", "default")
    return protocol


def list_protocols(*, uow: UnitOfWork, limit: int, offset: int) -> Page[ProtocolRead]:
    """Every protocol, the default first."""
    total = uow.execute(select(func.count()).select_from(Protocol)).scalar_one()
    rows = (
        uow.execute(
            select(Protocol).order_by(col(Protocol.is_default).desc(), col(Protocol.name)).limit(limit).offset(offset)
        )
        .scalars()
        .all()
    )
    return Page(
        items=[ProtocolRead.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


def create_protocol(*, uow: UnitOfWork, values: ProtocolCreate) -> ProtocolRead:
    """A new course template."""
    protocol = Protocol(**values.model_dump(mode="json"))
    return _save(uow, protocol)


def get_protocol(*, uow: UnitOfWork, protocol_id: uuid.UUID) -> ProtocolRead:
    """One protocol."""
    return ProtocolRead.model_validate(uow.get(Protocol, protocol_id), from_attributes=True)


def protocol_for_change(*, uow: UnitOfWork, protocol_id: uuid.UUID) -> ProtocolRead:
    """One protocol as GET shows it, locked."""
    return ProtocolRead.model_validate(uow.lock(Protocol, protocol_id), from_attributes=True)


def update_protocol(*, uow: UnitOfWork, protocol_id: uuid.UUID, changes: ProtocolUpdate) -> ProtocolRead:
    """Change a protocol; courses already booked keep the values they were booked with."""
    protocol = uow.lock(Protocol, protocol_id)
    current = ProtocolRead.model_validate(protocol, from_attributes=True).model_dump(mode="json")
    merged = {**current, **changes.model_dump(mode="json", exclude_unset=True)}
    try:
        checked = ProtocolCreate.model_validate({k: v for k, v in merged.items() if k not in ("id", "is_default")})
    except ValueError as exc:
        raise InvalidInput("protocol", str(exc).splitlines()[-1].strip()) from exc
    for name, value in checked.model_dump(mode="json").items():
        setattr(protocol, name, value)
    return _save(uow, protocol)


def _save(uow: UnitOfWork, protocol: Protocol) -> ProtocolRead:
    name = protocol.name
    uow.add(protocol)
    try:
        uow.flush()
    except IntegrityError as exc:
        raise Conflict(f"a protocol named {name!r} exists already", name=name) from exc
    return ProtocolRead.model_validate(protocol, from_attributes=True)
