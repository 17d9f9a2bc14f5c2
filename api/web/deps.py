"""What routes get injected besides their transaction (api/web/transaction.py): the caller, and the role checks."""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.store.admission import Admission, Deadline
from api.web.auth import Caller, KeyCache, record_use
from api.web.problems import Refused
from api.web.transaction import request_deadline
from models import Role


def utc_now() -> datetime:
    return datetime.now(UTC)


log = logging.getLogger("prolo.auth")
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
        raise Refused(
            401,
            "an API key is needed: Authorization: Bearer … or X-API-Key",
            code="api_key_missing",
            headers=_UNAUTHORIZED,
        )
    state = request.app.state
    cache: KeyCache = state.key_cache
    found, caller = cache.cached(key)
    if not found:  # only a key not seen for a few seconds costs a database read (in a worker thread)
        admission: Admission = state.admission
        async with admission.read(request_deadline(request)):
            caller = await run_in_threadpool(cache.lookup, state.engine, key)
    if caller is None:
        raise Refused(401, "unknown or revoked API key", code="api_key_unknown", headers=_UNAUTHORIZED)
    request.state.caller = caller  # for the audit trail and idempotency keys (api/web/transaction.py)
    minute = cache.first_use_this_minute(caller.key_id, state.clock())
    if minute is not None:  # GET /v1/api-keys shows it; written once a minute at most, beside the request
        _note_use(request, caller.key_id, minute)
    return caller


_TASKS: set["asyncio.Task[None]"] = set()


def _note_use(request: Request, key_id: uuid.UUID, minute: datetime) -> None:
    """The key's last use, written beside the request (never holding it up): after a writer's turn, in a
    worker thread, within one deadline of its own."""
    state = request.app.state

    async def run() -> None:
        deadline = Deadline(state.settings.db_wait_seconds)
        try:
            async with state.admission.write(deadline):
                await run_in_threadpool(record_use, state.engine, key_id, minute, deadline)
        except Exception:  # bookkeeping only: a busy database costs the minute's note, nothing else
            log.warning("could not note an API key's last use", exc_info=True)

    task = asyncio.get_running_loop().create_task(run())
    _TASKS.add(task)  # keep a reference until it ends (the loop holds tasks only weakly)
    task.add_done_callback(_TASKS.discard)


CallerDep = Annotated[Caller, Depends(get_caller)]


def requires(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that lets only these roles through (admin always passes)."""
    allowed = frozenset((Role.admin, *roles))

    async def check(caller: CallerDep) -> Caller:
        if caller.role not in allowed:
            raise Refused(403, f"the {caller.role} role may not do this", code="role_forbidden")
        return caller

    return check


# The roles of SPEC S4, by what they may touch.
STAFF = (Role.clinician, Role.frontdesk)
SETUP_READERS = STAFF
