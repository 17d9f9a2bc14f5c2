"""API keys (admins only)."""

import uuid

from fastapi import APIRouter, Depends, Request, Response

from api.services import api_keys
from api.web.deps import requires
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, Page

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], responses=PROBLEMS, dependencies=[Depends(requires())])


@router.get("", response_model=Page[ApiKeyRead], summary="List API keys")
async def list_keys(tx: TransactionDep, page: PageDep) -> Response:
    """Keys in use, with their names and roles; never the keys themselves."""
    return await tx.read(lambda uow: api_keys.list_api_keys(uow=uow, limit=page.limit, offset=page.offset))


@router.post("", status_code=201, response_model=ApiKeyCreated, summary="Make an API key")
async def create_key(request: ApiKeyCreate, tx: TransactionDep) -> Response:
    """A new key with a role; `key` is shown in this answer only, so store it now."""
    return await tx.write(
        lambda uow: api_keys.create_api_key(uow=uow, name=request.name, role=request.role, now=tx.now),
        secret=lambda made: f"api key {made.id} ({made.name!r})",
    )


@router.get("/{key_id}", response_model=ApiKeyRead, summary="One API key")
async def get_key(key_id: uuid.UUID, tx: TransactionDep) -> Response:
    """A key's name, role and last use (to the minute); never the key itself."""
    return await tx.read(lambda uow: api_keys.get_api_key(uow=uow, key_id=key_id), etag=True)


@router.delete("/{key_id}", status_code=204, response_model=None, summary="Revoke an API key")
async def revoke_key(key_id: uuid.UUID, http: Request, tx: TransactionDep) -> Response:
    """The key stops working at once in this process, and for any change in every other one (a change checks its
    key in its own transaction); other workers and hosts may still serve it reads for
    `PROLO_API_KEY_CACHE_SECONDS`."""
    answer = await tx.write(
        lambda uow: api_keys.revoke_api_key(uow=uow, key_id=key_id, now=tx.now),
        current=lambda uow: api_keys.key_for_change(uow=uow, key_id=key_id),
    )
    http.app.state.key_cache.forget(key_id)  # after the commit: the next lookup finds it revoked
    return answer
