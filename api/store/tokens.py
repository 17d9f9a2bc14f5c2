"""Secret tokens (API keys, calendar-feed URLs, the patient links' keys) and the hashes the database keeps (S4).

Keys are 256-bit random tokens, so a single SHA-256 is the right hash: there is nothing to
brute-force that a slow password hash would protect. Only the hash is stored; the token is
shown once, when it is made.
"""

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "prolo_"


def new_key() -> str:
    """A new API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """What the database keeps of a key or a feed token."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class LinkKeys:
    """What patient links are made with (R23): the link secret, and the origin patients reach (None: messages
    carry no link). The shell hands them to every unit of work it opens (api/store/unit_of_work.py)."""

    secret: bytes
    public_url: str | None

    def url(self, token: str, origin: str | None = None) -> str | None:
        """`{origin}/p/{token}`: the configured origin first, else the one given (a request's)."""
        base = self.public_url or origin
        return None if base is None else base.rstrip("/") + "/p/" + token
