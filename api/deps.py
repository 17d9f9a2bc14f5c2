"""What routes get injected besides their transaction (api/transaction.py): the caller, and the role checks."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.admission import Admission, Deadline
from api.auth import Caller, KeyCache
from models import Role


def utc_now() -> datetime:
    return datetime.now(UTC)


_bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def get_caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
) -> Caller:
    key = bearer.credentials if bearer else header_key
    if not key:
        raise HTTPException(401, "an API key is needed: Authorization: Bearer … or X-API-Key", _UNAUTHORIZED)
    state = request.app.state
    cache: KeyCache = state.key_cache
    found, caller = cache.cached(key)
    if not found:  # only a key not seen for a few seconds costs a database read (in a worker thread)
        admission: Admission = state.admission
        async with admission.read(Deadline(state.settings.db_wait_seconds)):
            caller = await run_in_threadpool(cache.lookup, state.engine, key)
    if caller is None:
        raise HTTPException(401, "unknown or revoked API key", _UNAUTHORIZED)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def requires(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that lets only these roles through (admin always passes)."""
    allowed = frozenset((Role.admin, *roles))

    async def check(caller: CallerDep) -> Caller:
        if caller.role not in allowed:
            raise HTTPException(403, f"the {caller.role} role may not do this")
        return caller

    return check


# The roles of SPEC S4, by what they may touch.
STAFF = (Role.clinician, Role.frontdesk)
SETUP_READERS = STAFF
