"""How a route meets the database: its turn, one transaction in one worker thread, its answer.

Every route that uses the database hands its use case to the request's
:class:`Transaction`, which gives it a unit of work (api/store/unit_of_work.py) in one of
two ways:

- **read**: a reader's turn (api/store/admission.py), then one worker-thread hop that opens
  a unit that only reads, runs the use case and serialises its answer (also a calendar,
  a page or a FHIR bundle, through ``render``, with a status of its own for a patient's
  page that says why it is not the one asked for);
- **write**: a writer's turn, then one worker-thread hop that opens the writer's unit in
  the caller's name (an API key's, or, for a request without one, the actor the route
  names: a patient through their link, a patient's text), runs the use case (use cases
  flush, they never commit), serialises the answer and commits (a dry run rolls back
  instead). The answer exists before the commit, so whatever must be stored with it is,
  in the same transaction: the answer itself under the request's `Idempotency-Key` (S5),
  and the audit events of every row it changed (S7). An `If-Match` is checked against the
  resource under the writers' locks first (S6). A use case that commits as it goes (a
  dispatch pass) gets its steps instead (:meth:`Transaction.write_steps`).

One hop, not one per dependency and one for the route: on a busy event loop each hop
waits its turn again, and a writer holding SQLite's one writer's turn across several
of them kept every other writer waiting (bench/README.md).

Use cases return data. The JSON comes from the route's own ``response_model``,
serialised by pydantic-core as FastAPI would, so each field is defined once and the
answer is what the OpenAPI document says.
"""

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from sqlalchemy import Engine

from api.store import actors, idempotency
from api.store.admission import Admission, Deadline
from api.store.errors import PreconditionFailed
from api.store.freshness import AnswerCache, Scope
from api.store.idempotency import Replay
from api.store.tokens import LinkKeys
from api.store.unit_of_work import NoActor, Steps, UnitOfWork, reading, steps, writing
from api.web.auth import Caller
from api.web.etag import conditional, match, refuse_unchecked_if_match, strong_etag
from models import Actor

JSON = "application/json"
T = TypeVar("T")


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


def _rendered(render: Callable[[Any], bytes | str], result: Any) -> bytes:
    made = render(result)
    return made.encode() if isinstance(made, str) else made


@dataclass(frozen=True)
class Transaction:
    """One request's way to the database; see the module docstring."""

    request: Request
    engine: Engine
    admission: Admission
    deadline: Deadline
    now: datetime

    @property
    def actor(self) -> Actor | None:
        """Who makes this request's changes, for the audit trail: its API key (None: a route without a key)."""
        caller: Caller | None = getattr(self.request.state, "caller", None)
        return None if caller is None else actors.api_key(caller.key_id, caller.name, caller.role.value)

    @property
    def _route(self) -> APIRoute:
        route: APIRoute = self.request.scope["route"]
        return route

    @property
    def _link_keys(self) -> LinkKeys | None:
        keys: LinkKeys | None = getattr(self.request.app.state, "link_keys", None)
        return keys

    async def _run(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        write: bool = False,
        dry_run: bool = False,
        actor: Actor | Callable[[UnitOfWork], Actor] | None = None,
    ) -> T:
        """`work` in one transaction, in one worker-thread hop, after the request's turn; its result.

        A writer's transaction is committed after `work` returns (rolled back for a `dry_run`); on an
        exception nothing is. Its changes are the request's API key's, or `actor`'s when given; an
        `actor` that is a function is found by a read of its own first, in the same hop.
        """

        def in_read() -> T:
            with reading(self.engine, link_keys=self._link_keys) as uow:
                return work(uow)

        def in_write() -> T:
            who = self.actor if actor is None else actor
            if callable(who):
                with reading(self.engine, link_keys=self._link_keys) as uow:
                    who = who(uow)
            with writing(
                self.engine,
                actor=who,
                action=self._route.name,
                now=self.now,
                deadline=self.deadline,
                dry_run=dry_run,
                link_keys=self._link_keys,
            ) as uow:
                return work(uow)

        if write:
            async with self.admission.write(self.deadline):
                return await run_in_threadpool(in_write)
        async with self.admission.read(self.deadline):
            return await run_in_threadpool(in_read)

    async def read(
        self,
        use_case: Callable[[UnitOfWork], Any],
        *,
        etag: bool = False,
        cache: tuple[AnswerCache, Hashable, Callable[[UnitOfWork], Scope]] | None = None,
        render: Callable[[Any], bytes | str] | None = None,
        status: Callable[[Any], int] | None = None,
        media_type: str = JSON,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Run a use case that only reads, and answer with its result.

        - ``etag``: the answer is one resource; it carries a strong `ETag` (S6), and an `If-None-Match`
          naming it is answered 304 with no body.
        - ``cache``: an answer cache, this request's key in it, and the scope of its answer (the sessions it
          is made of): the answer is reused until a change touches them (api/store/freshness.py), with no
          turn, no thread hop and no round trip. On SQLite (local, WAL: readers never wait for the writer)
          a miss's sub-millisecond read runs right here, as a thread hop would cost more than the read.
        - ``render``: the answer's body made from the result (a calendar, a page, a FHIR bundle), of
          ``media_type``, with ``headers``; without it, the route's response model in JSON.
        - ``status``: the answer's status code, from the result (a patient's page that says why it is not the
          one asked for: 404, 409, 410); without it, 200.
        """
        refuse_unchecked_if_match(self.request)  # a read (or a preview) has no target to check If-Match against
        route = self._route
        status_code = 200

        def answer(uow: UnitOfWork) -> bytes:
            nonlocal status_code
            result = use_case(uow)
            if status is not None:
                status_code = status(result)
            return serialise(route, result) if render is None else _rendered(render, result)

        if cache is not None:
            assert status is None, "a cached answer is a 200"
            answers, key, scope = cache
            cached = await answers.cached(key)  # no turn, no hop, no round trip: only when nothing it shows changed

            def run() -> bytes:
                def compute() -> tuple[Scope, bytes]:
                    with reading(self.engine) as uow:
                        return scope(uow), answer(uow)

                return answers.compute(key, compute)

            if cached is not None:
                body = cached
            else:
                async with self.admission.read(self.deadline):
                    body = run() if self.engine.dialect.name == "sqlite" else await run_in_threadpool(run)
        else:
            body = await self._run(answer)
        if not etag:
            return Response(body, status_code=status_code, media_type=media_type, headers=headers)
        return conditional(body, self.request.headers.get("if-none-match"), media_type=media_type, headers=headers)

    async def write(
        self,
        use_case: Callable[[UnitOfWork], Any],
        *,
        location: Callable[[Any], str] | None = None,
        current: Callable[[UnitOfWork], Any] | None = None,
        etag: bool = False,
        secret: Callable[[Any], str] | None = None,
        dry_run: bool = False,
        actor: Actor | Callable[[UnitOfWork], Actor] | None = None,
        render: Callable[[Any], bytes | str] | None = None,
        media_type: str = JSON,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Run a use case that changes things, commit, and answer with its result.

        - ``location``: the new resource's path, for a 201's `Location` header.
        - ``current``: the target resource as GET shows it, read under the writers' locks: an
          `If-Match` that does not name its `ETag` is refused with 412 before anything changes (S6). Without
          it, any `If-Match` is refused with 412: the target has no ETag, and a condition is never ignored.
        - ``etag``: the answer is the resource itself, so it carries its new `ETag`.
        - ``secret``: the answer shows a secret once; a retry under its `Idempotency-Key` gets 409
          naming what was made (this function's text), never the secret again (S5).
        - ``dry_run``: the use case runs as it would, under the same locks, and the transaction is rolled
          back (api/store/unit_of_work.py); nothing is kept under an `Idempotency-Key` (sent again, it
          answers again).
        - ``actor``: who makes the change when the request has no API key (a patient through their link, an
          inbound text: api/store/actors.py); a function finds it with a read of its own first (a link's id,
          found by its token: the change is then made in the link's name, and checks the link again).
        - ``render``: the answer's body made from the result, of ``media_type``; without it, the route's
          response model in JSON. ``headers`` go with the answer. An answer with no body has no media type
          (a patient's action answers 303 back to their page).

        Every change is recorded in the audit trail with the caller and the route's name (S7).
        A POST with an `Idempotency-Key` is answered once; its retries get the same answer (S5).
        """
        request = self.request
        status_code = self._route.status_code or 200  # the route's own, as the OpenAPI document says
        caller: Caller | None = getattr(request.state, "caller", None)
        if_match = request.headers.get("if-match")
        if current is None:
            refuse_unchecked_if_match(request)  # S6: no target's ETag to check it against
        key = request.headers.get("idempotency-key") if request.method == "POST" and caller else None
        fingerprint = ""
        if key is not None:
            idempotency.check_key(key)
            fingerprint = idempotency.fingerprint(
                request.method, request.url.path, request.url.query, await request.body()
            )

        def work(uow: UnitOfWork) -> Replay:
            if key is not None and caller is not None:
                first = idempotency.claim(uow, api_key_id=caller.key_id, key=key, fingerprint=fingerprint, now=self.now)
                if first is not None:
                    return first
            if if_match is not None and current is not None:
                present = current(uow)
                tag = strong_etag(_adapter(cast(Any, type(present))).dump_json(present, by_alias=True))
                if not match(if_match, tag):
                    raise PreconditionFailed(tag)
            result = use_case(uow)
            body = serialise(self._route, result) if render is None else _rendered(render, result)
            where = location(result) if location else None
            if key is not None and caller is not None and not uow.dry_run:
                made = secret(result) if secret else None
                idempotency.keep(
                    uow, api_key_id=caller.key_id, key=key, status_code=status_code, body=body, location=where,
                    secret_made=made,
                )  # fmt: skip
            return Replay(status_code, body, where)

        answer = await self._run(work, write=True, dry_run=dry_run, actor=actor)
        if answer.status_code == 204:
            return Response(status_code=204)
        sent = dict(headers or {})
        if answer.location:
            sent["Location"] = answer.location
        if etag:
            sent["ETag"] = strong_etag(answer.body)
        if answer.replayed:
            sent["Idempotent-Replayed"] = "true"
        kind = media_type if answer.body else None
        return Response(answer.body, status_code=answer.status_code, media_type=kind, headers=sent)

    async def write_steps(self, use_case: Callable[[Steps], Any], *, action: str | None = None) -> Response:
        """Run a use case that commits as it goes (a dispatch pass: one short unit of work per batch and per
        message), every step in this request's name, and answer with its result. The steps take no writer's
        turn for the whole: such a use case spends most of its time delivering, and each step lines up with
        the other writers at the process's writer gate (api/store/db.py). A step waits for the database at
        most as long as a request may, from its own start."""
        refuse_unchecked_if_match(self.request)  # its target has no ETag (S6)
        actor = self.actor
        if actor is None:
            raise NoActor(f"{self._route.name}: a write must say who makes it")
        opened = steps(self.engine, actor=actor, action=action or self._route.name, link_keys=self._link_keys)
        body = serialise(self._route, await run_in_threadpool(use_case, opened))
        return Response(body, media_type=JSON)


def request_deadline(request: Request) -> Deadline:
    """The request's one deadline (api/store/admission.py), started by the first part of it to wait: checking its
    key, or its transaction."""
    deadline: Deadline | None = getattr(request.state, "deadline", None)
    if deadline is None:
        deadline = request.state.deadline = Deadline(request.app.state.settings.db_wait_seconds)
    return deadline


async def get_transaction(request: Request) -> Transaction:
    """The request's transaction, within the request's deadline."""
    state = request.app.state
    return Transaction(
        request=request,
        engine=state.engine,
        admission=state.admission,
        deadline=request_deadline(request),
        now=state.clock(),
    )


TransactionDep = Annotated[Transaction, Depends(get_transaction)]
