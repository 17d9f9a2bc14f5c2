"""Input no column can hold, refused before it reaches a route (S2).

PostgreSQL text cannot hold NUL characters, so a NUL in a path, query or JSON
string would fail deep in a write (a 500) on PostgreSQL while SQLite stored it:
one answer for both databases is a 422 at the door. Bodies are also capped in size,
and a body nested too deeply to parse is a 400, never a 500 with a traceback.
"""

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web.problems import problem

MAX_BODY_BYTES = 1_000_000


def _holds_nul(value: Any) -> bool:
    """Any NUL in a string, a key or a value, however deep: walked with a list, not recursion, so a body
    nested to the parser's limit cannot overflow the stack here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class _TooDeep(Exception):
    """JSON nested deeper than the parser goes (Python's recursion limit, about a thousand levels)."""


class InputGuard:
    """ASGI middleware: 422 for NUL characters, 413 for bodies over MAX_BODY_BYTES."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or b""
        if b"%00" in scope.get("query_string", b"") or b"%00" in raw_path or "\x00" in scope["path"]:
            await _refuse(
                scope, receive, send, 422, "NUL characters are not accepted in paths or queries", code="nul_character"
            )
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        body, too_big = await _read_body(receive)
        if too_big:
            await _refuse(
                scope, receive, send, 413, f"the body is larger than {MAX_BODY_BYTES} bytes", code="body_too_large"
            )
            return
        try:
            nul = b"\\u0000" in body and _json_holds_nul(body)
        except _TooDeep:  # no request of Prolo's nests past a few levels: a hostile body, answered cheaply
            await _refuse(scope, receive, send, 400, "the JSON body is nested too deeply", code="body_too_deep")
            return
        if nul:
            await _refuse(scope, receive, send, 422, "NUL characters are not accepted in text", code="nul_character")
            return
        await self.app(scope, _replay(body), send)


def _json_holds_nul(body: bytes) -> bool:
    try:
        return _holds_nul(json.loads(body))
    except RecursionError:
        raise _TooDeep from None
    except ValueError:
        return False  # not JSON: the route's own validation answers


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str, *, code: str) -> None:
    await problem(status, detail, code=code)(scope, receive, send)
