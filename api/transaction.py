"""How a route meets the database: its turn, one transaction in one worker thread, its answer.

Every route that uses the database hands its use case to the request's
:class:`Transaction`:

- **read**: a reader's turn (api/admission.py), then one worker-thread hop that opens
  a read transaction, runs the use case and serialises its answer;
- **write**: a writer's turn, then one worker-thread hop that opens the writer's
  transaction, runs the use case (use cases flush, they never commit), serialises
  the answer and commits. The answer exists before the commit, so whatever must be
  stored with it can be, in the same transaction.

One hop, not one per dependency and one for the route: on a busy event loop each hop
waits its turn again, and a writer holding SQLite's one writer's turn across several
of them kept every other writer waiting (measured: 80 ms a write under day-view load,
one hop instead of four brought it to a few).

Use cases return data. The JSON comes from the route's own ``response_model``,
serialised by pydantic-core as FastAPI would, so each field is defined once and the
answer is what the OpenAPI document says.
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from sqlalchemy import Engine

from api.admission import Admission, Deadline
from api.db import DbSession, read_session, write_session
from api.freshness import AnswerCache

JSON = "application/json"


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def serialise(route: APIRoute, result: Any) -> bytes:
    """The answer as the route's response model has it (None for a route that answers no body)."""
    model = route.response_model
    if model is None:
        return b""
    adapter = _adapter(model)
    if not (isinstance(model, type) and isinstance(result, model)):
        result = adapter.validate_python(result, from_attributes=True)
    return adapter.dump_json(result, by_alias=True)  # as FastAPI answers: field aliases ("from") in the JSON


@dataclass(frozen=True)
class Transaction:
    """One request's way to the database; see the module docstring."""

    request: Request
    engine: Engine
    admission: Admission
    deadline: Deadline
    now: datetime

    @property
    def _route(self) -> APIRoute:
        route: APIRoute = self.request.scope["route"]
        return route

    async def read(self, use_case: Callable[[DbSession], Any], *, status_code: int = 200) -> Response:
        """Run a use case that only reads, and answer with its result."""

        def run() -> bytes:
            with read_session(self.engine) as db:
                return serialise(self._route, use_case(db))

        async with self.admission.read(self.deadline):
            body = await run_in_threadpool(run)
        return Response(body, status_code=status_code, media_type=JSON)

    async def read_cached(self, cache: AnswerCache, key: Hashable, use_case: Callable[[DbSession], Any]) -> Response:
        """As :meth:`read`, reusing the answer while the database has not changed (api/freshness.py).

        On SQLite (local, WAL: readers never wait for the writer) the sub-millisecond read runs
        right here, as a thread hop would cost more than the read; a database across the
        network is read in a worker thread, never blocking the event loop.
        """

        def run() -> bytes:
            def compute() -> bytes:
                with read_session(self.engine) as db:
                    return serialise(self._route, use_case(db))

            return cache.get(key, compute)

        async with self.admission.read(self.deadline):
            body = run() if self.engine.dialect.name == "sqlite" else await run_in_threadpool(run)
        return Response(body, media_type=JSON)

    async def write(self, use_case: Callable[[DbSession], Any], *, status_code: int = 200) -> Response:
        """Run a use case that changes things, commit, and answer with its result."""

        def run() -> bytes:
            with write_session(self.engine, self.deadline) as db:
                body = serialise(self._route, use_case(db))
                db.commit()
                return body

        async with self.admission.write(self.deadline):
            body = await run_in_threadpool(run)
        if status_code == 204:
            return Response(status_code=204)
        return Response(body, status_code=status_code, media_type=JSON)


async def get_transaction(request: Request) -> Transaction:
    """The request's transaction; its deadline starts now, as the request arrives."""
    state = request.app.state
    return Transaction(
        request=request,
        engine=state.engine,
        admission=state.admission,
        deadline=Deadline(state.settings.db_wait_seconds),
        now=state.clock(),
    )


TransactionDep = Annotated[Transaction, Depends(get_transaction)]
