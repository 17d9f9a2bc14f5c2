"""API keys (admins only)."""

import uuid

from fastapi import APIRouter, Depends

from api.deps import NowDep, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep
from api.services import api_keys
from models import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, Page

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], responses=PROBLEMS, dependencies=[Depends(requires())])


@router.get("", response_model=Page[ApiKeyRead], summary="List API keys")
def list_keys(db: SessionDep, page: PageDep) -> Page[ApiKeyRead]:
    """Keys in use, with their names and roles; never the keys themselves."""
    return api_keys.list_api_keys(db=db, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=ApiKeyCreated, summary="Make an API key")
def create_key(request: ApiKeyCreate, db: SessionDep, now: NowDep) -> ApiKeyCreated:
    """A new key with a role; `key` is shown in this answer only, so store it now."""
    return api_keys.create_api_key(db=db, name=request.name, role=request.role, now=now)


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: uuid.UUID, db: SessionDep, now: NowDep) -> None:
    """The key stops working within a few seconds."""
    api_keys.revoke_api_key(db=db, key_id=key_id, now=now)
