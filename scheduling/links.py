"""Patient links (R23): the token a link carries, its hash, and how long it works.

A token is the first 128 bits of HMAC-SHA256(link secret, purpose ‖ subject id ‖ the
subject's link version ‖ the patient's link epoch), base64url without padding: 22
characters. It is derived, never random, so every message about one session carries
the same link until staff revoke it, the patient's phone or email changes, or the
patient is archived (each raises the version or the epoch, R24). Prolo stores only the
token's SHA-256 and recomputes the token from the row when a message needs it.
"""

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

MANAGE = "manage"
OFFER = "offer"
PURPOSES = (MANAGE, OFFER)
TOKEN_LENGTH = 22
# R23: a manage link works until a day after its session began, and never longer than 90 days.
AFTER_THE_SESSION = timedelta(hours=24)
LONGEST = timedelta(days=90)
_IN_TEXT = re.compile(r"/p/[A-Za-z0-9_-]+")
_URL_IN_TEXT = re.compile(r"\S*/p/[A-Za-z0-9_-]+")
_SEPARATOR = b"\x1f"  # no purpose, id or number holds it: the parts cannot run into each other


def link_token(secret: bytes, *, purpose: str, subject_id: str, version: int, epoch: int) -> str:
    """The 22-character token of one link (R23)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    message = _SEPARATOR.join(part.encode() for part in (purpose, subject_id, str(version), str(epoch)))
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """What the link's row keeps of its token: the SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(expected: str, given: str) -> bool:
    """Compared in constant time: a token is a secret."""
    return hmac.compare_digest(expected.encode(), given.encode())


def looks_like_token(text: str) -> bool:
    """22 base64url characters; anything else is no link of Prolo's."""
    return len(text) == TOKEN_LENGTH and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


def manage_expires_at(*, session_start_at: datetime, created_at: datetime) -> datetime:
    """R23: the earlier of the session's start + 24 h and the link's creation + 90 days."""
    return min(session_start_at + AFTER_THE_SESSION, created_at + LONGEST)


def without_tokens(text: str) -> str:
    """``text`` with every link's token replaced by ``…``: tokens never reach a log (R23)."""
    return _IN_TEXT.sub("/p/…", text)


def with_link(text: str, url: str) -> str:
    """``text`` with the link it carries (``…/p/{token}``) replaced by ``url``: a message planned again after its
    link ended carries the subject's next one (R24)."""
    return _URL_IN_TEXT.sub(lambda _: url, text)
