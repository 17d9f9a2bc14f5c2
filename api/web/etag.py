"""Strong ETags of answer bytes, and `If-None-Match` (RFC 9110 §8.8.3, §13.1.2).

Calendar apps poll their feeds every few minutes to hours; an unchanged feed answers
304 with no body, so a poll costs the app and the network next to nothing.
"""

import hashlib
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from api.store.errors import PreconditionFailed

_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def strong_etag(body: bytes) -> str:
    """A strong validator: the same bytes, the same ETag."""
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def match(if_match: str, etag: str) -> bool:
    """True when `If-Match` names this ETag (or is `*`): the client's copy is current (S6).

    If-Match compares strongly (RFC 9110 §13.1.1): a weak `W/"…"` tag never matches.
    """
    if if_match.strip() == "*":
        return True
    return etag in {tag.strip() for tag in if_match.split(",") if not tag.strip().startswith("W/")}


def refuse_unchecked_if_match(request: Request) -> None:
    """S6: a change whose target has no ETag cannot check an `If-Match`, so it refuses it (412), never
    ignores it; the transaction runner calls this for every change that names no `current` resource."""
    if request.method in _CHANGES and "if-match" in request.headers:
        raise PreconditionFailed(None)


def none_match(if_none_match: str | None, etag: str) -> bool:
    """False when the client's `If-None-Match` names this ETag (or `*`): answer 304.

    If-None-Match compares weakly (RFC 9110 §13.1.2), so `W/"…"` matches too.
    """
    if not if_none_match:
        return True
    if if_none_match.strip() == "*":
        return False
    given = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag not in given


def conditional(
    body: bytes, if_none_match: str | None, *, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The answer with its strong `ETag`; 304 with no body when `If-None-Match` names it already."""
    tagged = {**(headers or {}), "ETag": strong_etag(body)}
    if not none_match(if_none_match, tagged["ETag"]):
        return Response(status_code=304, headers=tagged)
    return Response(body, media_type=media_type, headers=tagged)
