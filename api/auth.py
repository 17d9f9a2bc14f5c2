"""API keys and roles (SPEC S4).

Keys are 256-bit random tokens, so a single SHA-256 is the right hash: there is
nothing to brute-force that a slow password hash would protect. Only the hash
is stored; the key is shown once, when it is made.
"""

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlmodel import col

from api.db import DbSession
from models import ApiKey, Role

KEY_PREFIX = "prolo_"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's id and name (for audit) and its role."""

    key_id: uuid.UUID
    name: str
    role: Role


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyCache:
    """Checked keys, trusted for a few seconds so the hot path skips one query per request."""

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

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
        caller = _load_caller(engine, digest)
        with self._lock:
            if len(self._entries) > 10_000:  # unknown keys must not grow memory without bound
                self._entries.clear()
            self._entries[digest] = (now + self._ttl, caller)
        return caller

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _load_caller(engine: Engine, digest: str) -> Caller | None:
    with DbSession(engine) as session:
        row = session.execute(
            select(col(ApiKey.id), col(ApiKey.name), col(ApiKey.role)).where(
                col(ApiKey.key_hash) == digest, col(ApiKey.revoked_at).is_(None)
            )
        ).first()
    return Caller(key_id=row.id, name=row.name, role=Role(row.role)) if row else None
