"""What routes get injected: the database session, settings, the clock, the caller, loaded resources."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from api.admission import Admission
from api.auth import Caller, KeyCache
from api.db import write_session
from api.settings import Settings
from models import Role

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _admission(request: Request) -> Admission:
    admission: Admission = request.app.state.admission
    return admission


async def _turn(request: Request) -> AsyncIterator[None]:
    """This request's turn at the database: a writer's for requests that change things (api/admission.py)."""
    admission = _admission(request)
    async with admission.read() if request.method in _READ_METHODS else admission.write():
        yield


async def get_admitted_engine(request: Request) -> AsyncIterator[Engine]:
    """The engine, for a route that opens its own transactions, within a reader's turn."""
    async with _admission(request).read():
        yield request.app.state.engine


def get_session(request: Request, _: Annotated[None, Depends(_turn, scope="function")]) -> Iterator[Session]:
    """One session per request; requests that change things open it as a writer (R11)."""
    engine = request.app.state.engine
    if request.method in _READ_METHODS:
        with Session(engine, expire_on_commit=False) as session:
            yield session
        return
    with write_session(engine) as session:
        yield session


def get_read_session(engine: Annotated[Engine, Depends(get_admitted_engine, scope="function")]) -> Iterator[Session]:
    """A session that never writes, for POSTs that only compute (e.g. a course preview), within a reader's turn."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


async def get_now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def utc_now() -> datetime:
    return datetime.now(UTC)


EngineDep = Annotated[Engine, Depends(get_engine)]
AdmittedEngineDep = Annotated[Engine, Depends(get_admitted_engine, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the session closes and the turn ends once the route has its answer, not after
# the answer is sent, so a client slow to read holds neither a connection nor a turn (api/admission.py).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]

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
    cache: KeyCache = request.app.state.key_cache
    found, caller = cache.cached(key)
    if not found:  # only a key not seen for a few seconds costs a database read (in a worker thread)
        async with _admission(request).read():
            caller = await run_in_threadpool(cache.lookup, request.app.state.engine, key)
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
