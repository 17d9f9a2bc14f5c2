"""API keys and roles (SPEC S4).

A request's key is found by its hash (api/store/tokens.py), then trusted for a few
seconds in memory for reads.
"""

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, or_, select, update
from sqlmodel import col

from api.store.admission import Deadline
from api.store.db import DbSession, write_session
from api.store.tokens import hash_key
from models import ApiKey, Role


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's id and name (for audit) and its role."""

    key_id: uuid.UUID
    name: str
    role: Role


class KeyCache:
    """Checked keys, trusted for a few seconds so the hot path skips one query per request."""

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # raised by forget(): a lookup that read the key before it must not cache it
        self._used: dict[uuid.UUID, datetime] = {}  # the minute each key was last seen using this process

    def cached(self, key: str) -> tuple[bool, Caller | None]:
        """(True, caller) when this key was checked within the last few seconds; no I/O."""
        hit = self._entries.get(hash_key(key))
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def lookup(self, engine: Engine, key: str) -> Caller | None:
        found, caller = self.cached(key)
        if found:
            return caller
        digest = hash_key(key)
        now = time.monotonic()
        generation = self._generation
        caller = _load_caller(engine, digest)
        with self._lock:
            if len(self._entries) > 10_000:  # unknown keys must not grow memory without bound
                self._entries.clear()
            if generation == self._generation:  # no key was revoked while this one was read
                self._entries[digest] = (now + self._ttl, caller)
        return caller

    def forget(self, key_id: uuid.UUID) -> None:
        """A key was revoked by this process: refuse it from the very next request on (S4)."""
        with self._lock:
            self._generation += 1
            self._entries = {d: e for d, e in self._entries.items() if e[1] is None or e[1].key_id != key_id}

    def noted_this_minute(self, key_id: uuid.UUID, now: datetime) -> bool:
        """Whether the key's use was noted already in `now`'s minute (no change: :meth:`first_use_this_minute`)."""
        return self._used.get(key_id) == now.replace(second=0, microsecond=0)

    def first_use_this_minute(self, key_id: uuid.UUID, now: datetime) -> datetime | None:
        """The minute to record as the key's last use, once per minute per key and process; else None."""
        minute = now.replace(second=0, microsecond=0)
        with self._lock:
            if self._used.get(key_id) == minute:
                return None
            if len(self._used) > 10_000:
                self._used.clear()
            self._used[key_id] = minute
        return minute


def record_use(engine: Engine, key_id: uuid.UUID, minute: datetime, deadline: Deadline | None = None) -> None:
    """Note the minute a key was last used (bookkeeping, not a change anyone made: no audit event)."""
    with write_session(engine, deadline) as db:
        db.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == key_id)
            .where(or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < minute))
            .values(last_used_at=minute)
        )
        db.commit()


def _load_caller(engine: Engine, digest: str) -> Caller | None:
    with DbSession(engine) as session:
        row = session.execute(
            select(col(ApiKey.id), col(ApiKey.name), col(ApiKey.role)).where(
                col(ApiKey.key_hash) == digest, col(ApiKey.revoked_at).is_(None)
            )
        ).first()
    return Caller(key_id=row.id, name=row.name, role=Role(row.role)) if row else None
