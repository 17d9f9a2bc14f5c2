"""Safe retries (SPEC S5): a POST sent again under the same `Idempotency-Key` gets the first answer, once.

A key is the caller's (one per API key) and kept 24 hours. It is stored in the very
transaction of the effect, with the answer, so a crash can never keep one without the
other: either both are committed, or neither, and the retry runs afresh.

A retry that arrives while the first is still running waits for it: on PostgreSQL its
insert of the same key waits on the first's uncommitted row (the primary key), then
finds it committed; on SQLite writers take turns anyway. Only answers that changed
something are kept; a request that failed (409, 422 …) stored nothing, so sending it
again simply runs it again. An answer that showed a secret once (an API key, a feed
URL) is never shown again: its retry gets 409 naming what was made.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from api.store.errors import Conflict, InvalidInput
from api.store.unit_of_work import UnitOfWork
from models import IdempotencyRecord
from models.base import table_of

KEPT = timedelta(hours=24)
_RECORD = table_of(IdempotencyRecord)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    """The first answer to a request, to send again."""

    status_code: int
    body: bytes
    location: str | None
    replayed: bool = False  # sent once already, under the same key


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same request: method, path, query and body."""
    return hashlib.sha256(f"{method} {path}?{query}\n".encode() + body).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key", f"1 to {MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID", where="header"
        )
    return key


_PURGE_EVERY = timedelta(minutes=1)
_last_purge: list[datetime] = []  # this process's last purge of expired keys, once one ran


def _take(dialect: Any) -> Any:
    """INSERT the key, or take over its row when that is older than a day (a reused key is a new
    request); RETURNING says whether this request took it."""
    # until the answer is ready, in this transaction
    placeholder = {"status_code": 0, "body": "", "location": None, "secret": False}
    fresh = {"fingerprint": bindparam("the_fingerprint"), "created_at": bindparam("the_created_at"), **placeholder}
    insert = dialect.insert(_RECORD).values(api_key_id=bindparam("the_api_key_id"), key=bindparam("the_key"), **fresh)
    return insert.on_conflict_do_update(
        index_elements=[_RECORD.c.api_key_id, _RECORD.c.key],
        set_=fresh,
        where=_RECORD.c.created_at < bindparam("the_expired"),
    ).returning(_RECORD.c.key)


# Built once, run with bound values: every keyed POST runs two of them.
_THIS_KEY = (_RECORD.c.api_key_id == bindparam("the_api_key_id"), _RECORD.c.key == bindparam("the_key"))
_TAKE = {True: _take(postgresql), False: _take(sqlite)}  # by "is it PostgreSQL?"
_FIRST = select(IdempotencyRecord).where(*_THIS_KEY)
_KEEP = (
    update(_RECORD)
    .where(*_THIS_KEY)
    .values(
        status_code=bindparam("the_status_code"),
        body=bindparam("the_body"),
        location=bindparam("the_location"),
        secret=bindparam("the_secret"),
    )
)


def _purge_due(now: datetime) -> bool:
    """At most once a minute per process the expired keys are purged, not on every request."""
    if _last_purge and _last_purge[0] <= now < _last_purge[0] + _PURGE_EVERY:
        return False
    _last_purge[:] = [now]
    return True


def claim(uow: UnitOfWork, *, api_key_id: uuid.UUID, key: str, fingerprint: str, now: datetime) -> Replay | None:
    """Take the key for this request (None: go on and run it), or the first answer to send again.

    Raises InvalidInput when the key was used for another request, and Conflict when the
    first answer held a secret that is shown only once.
    """
    expired = now - KEPT
    if _purge_due(now):  # keys older than a day go, a minute's worth at a time
        uow.bookkeeping(delete(_RECORD).where(_RECORD.c.created_at < expired))
    values = {
        "the_api_key_id": api_key_id,
        "the_key": key,
        "the_fingerprint": fingerprint,
        "the_created_at": now,
        "the_expired": expired,
    }
    take = _TAKE[uow.dialect == "postgresql"]
    # waits, within the deadline, for the same key's first request, which may still hold it
    if uow.bookkeeping(take, values).first() is not None:
        return None  # the key is ours: new, or reused after 24 h (not purged yet this minute)
    first = uow.execute(_FIRST, {"the_api_key_id": api_key_id, "the_key": key}).scalar_one()
    if first.status_code == 0:  # its request has not finished (only a commit outside the runner shows this)
        raise Conflict("a request with this Idempotency-Key is still running; ask again in a moment")
    if first.fingerprint != fingerprint:
        raise InvalidInput(
            "Idempotency-Key", "this key was sent with another request; use a new key for a new request", where="header"
        )
    if first.secret:
        raise Conflict(
            "this request was made already, and its answer held a secret that is shown only once; "
            "revoke what was made and ask again with a new Idempotency-Key",
            made=first.body,
        )
    return Replay(first.status_code, first.body.encode(), first.location, replayed=True)


def keep(
    uow: UnitOfWork,
    *,
    api_key_id: uuid.UUID,
    key: str,
    status_code: int,
    body: bytes,
    location: str | None,
    secret_made: str | None,
) -> None:
    """Store the first answer under its key, in the transaction of its effect (before the commit)."""
    values = {
        "the_api_key_id": api_key_id,
        "the_key": key,
        "the_status_code": status_code,
        "the_body": secret_made if secret_made is not None else body.decode(),
        "the_location": location,
        "the_secret": secret_made is not None,
    }
    uow.bookkeeping(_KEEP, values)
