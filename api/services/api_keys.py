"""API keys: made by admins or by `prolo api-keys create`; the first admin key on first start (S4)."""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import col

from api.store.errors import NotFound
from api.store.tokens import hash_key, new_key
from api.store.unit_of_work import UnitOfWork
from models import ApiKey, ApiKeyCreated, ApiKeyRead, Page, Role


def create_api_key(*, uow: UnitOfWork, name: str, role: Role, now: datetime) -> ApiKeyCreated:
    """A new key; the answer is the only place the key itself ever appears."""
    key = new_key()
    row = ApiKey(name=name, role=role.value, key_hash=hash_key(key), created_at=now)
    uow.add(row)
    uow.flush()
    return ApiKeyCreated(id=row.id, name=row.name, role=role, created_at=row.created_at, key=key)


def first_admin_key(*, uow: UnitOfWork, now: datetime) -> ApiKeyCreated | None:
    """On an empty key table, make the first admin key; otherwise nothing."""
    if uow.execute(select(func.count()).select_from(ApiKey)).scalar_one():
        return None
    uow.alone()  # replicas starting together: one first key, printed once (api/store/unit_of_work.py)
    if uow.execute(select(func.count()).select_from(ApiKey)).scalar_one():
        return None
    return create_api_key(uow=uow, name="first admin key", role=Role.admin, now=now)


def list_api_keys(*, uow: UnitOfWork, limit: int, offset: int) -> Page[ApiKeyRead]:
    """Keys in use (never the keys themselves)."""
    query = select(ApiKey).where(col(ApiKey.revoked_at).is_(None))
    total = uow.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = uow.execute(query.order_by(col(ApiKey.created_at), col(ApiKey.id)).limit(limit).offset(offset)).scalars()
    items = [_read(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


def _read(row: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=row.id, name=row.name, role=Role(row.role), created_at=row.created_at, last_used_at=row.last_used_at
    )


def get_api_key(*, uow: UnitOfWork, key_id: uuid.UUID, lock: bool = False) -> ApiKeyRead:
    """One key (never the key itself); revoked keys are gone."""
    row = uow.lock(ApiKey, key_id) if lock else uow.get(ApiKey, key_id)
    if row.revoked_at is not None:
        raise NotFound("api_key", key_id)
    return _read(row)


def key_for_change(*, uow: UnitOfWork, key_id: uuid.UUID) -> ApiKeyRead:
    """One key as GET shows it, locked."""
    return get_api_key(uow=uow, key_id=key_id, lock=True)


def revoke_api_key(*, uow: UnitOfWork, key_id: uuid.UUID, now: datetime) -> None:
    """Revoke a key; it stops working within the key cache's few seconds."""
    row = uow.lock(ApiKey, key_id)
    if row.revoked_at is None:
        row.revoked_at = now
        uow.add(row)
        uow.flush()
