"""The day view's short way: a poll whose answer is in memory is answered before routing.

Every front-desk screen polls `GET /v1/sessions?date=…` all day. Routing and FastAPI's
dependencies (the key, the page, the filters, the transaction) took three quarters of a
cached poll's time, for an answer already made. This ASGI middleware answers the plain
poll (a `date`, optionally a `practitioner_id`, `limit` and `offset`, each once, with a
key this process checked in the last few seconds, of a role that may read sessions)
from the answer cache (api/store/freshness.py), under the same key the route keeps it
by. Anything else, and every miss, goes the whole way, which also answers every error.
It sits inside the other middlewares: the input guard and `no-store` apply to it as to
the route.
"""

import uuid
from datetime import date
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from api.store.freshness import AnswerCache
from api.web.auth import KeyCache
from api.web.deps import STAFF
from api.web.routes.sessions import day_view_key
from models import Role
from models.base import EARLIEST_DATE, LATEST_DATE

_READERS = frozenset((Role.admin, *STAFF))
_PARAMETERS = frozenset(("date", "practitioner_id", "limit", "offset"))


class DayViewFromMemory:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/sessions" and scope["method"] == "GET":
            body = await self._from_memory(scope)
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _from_memory(self, scope: Scope) -> bytes | None:
        state = scope["app"].state
        key = _key_of(scope)
        if key is None:
            return None
        keys: KeyCache = state.key_cache
        found, caller = keys.cached(key)
        if not found or caller is None or caller.role not in _READERS:
            return None  # unchecked lately, unknown or refused: the route says so
        if not keys.noted_this_minute(caller.key_id, state.clock()):
            return None  # the route notes the key's use, once a minute
        asked = _asked(scope["query_string"])
        if asked is None:
            return None
        answers: AnswerCache = state.day_view_cache
        return await answers.cached(asked)


def _key_of(scope: Scope) -> str | None:
    """The API key as the route reads it: a bearer token first, else `X-API-Key`; None for anything unusual."""
    bearer = header = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials:
                bearer = credentials
        elif name == b"x-api-key":
            header = value.decode("latin-1")
        elif name in (b"if-match",):
            return None  # a read refuses it: the route answers that
    return bearer or header


def _asked(query: bytes) -> tuple[object, ...] | None:
    """The answer cache's key for a plain poll, as the route makes it; None: let the route read the query."""
    try:
        pairs = parse_qsl(query.decode("ascii"), keep_blank_values=True, strict_parsing=bool(query))
    except (UnicodeDecodeError, ValueError):
        return None
    given = dict(pairs)
    if len(given) != len(pairs) or not given.keys() <= _PARAMETERS or "date" not in given:
        return None
    limit_text, offset_text = given.get("limit", "50"), given.get("offset", "0")
    if not (limit_text.isascii() and limit_text.isdigit() and offset_text.isascii() and offset_text.isdigit()):
        return None
    limit, offset = int(limit_text), int(offset_text)
    try:
        on = date.fromisoformat(given["date"])
        practitioner = uuid.UUID(given["practitioner_id"]) if "practitioner_id" in given else None
    except ValueError:
        return None
    if len(given["date"]) != 10 or not EARLIEST_DATE <= on <= LATEST_DATE:
        return None
    if practitioner is not None and given["practitioner_id"].lower() not in (str(practitioner), practitioner.hex):
        return None
    if not (1 <= limit <= 500 and 0 <= offset <= 1_000_000):
        return None
    return day_view_key(on, on, practitioner, None, None, limit, offset)
