"""Secret tokens (API keys, calendar-feed URLs) and the hashes the database keeps of them (SPEC S4).

Keys are 256-bit random tokens, so a single SHA-256 is the right hash: there is nothing to
brute-force that a slow password hash would protect. Only the hash is stored; the token is
shown once, when it is made.
"""

import hashlib
import secrets

KEY_PREFIX = "prolo_"


def new_key() -> str:
    """A new API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """What the database keeps of a key or a feed token."""
    return hashlib.sha256(key.encode()).hexdigest()
