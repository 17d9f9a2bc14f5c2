"""Strong ETags of answer bytes, and `If-None-Match` (RFC 9110 §8.8.3, §13.1.2).

Calendar apps poll their feeds every few minutes to hours; an unchanged feed answers
304 with no body, so a poll costs the app and the network next to nothing.
"""

import hashlib


def strong_etag(body: bytes) -> str:
    """A strong validator: the same bytes, the same ETag."""
    return '"' + hashlib.sha256(body).hexdigest() + '"'


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
