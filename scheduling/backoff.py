"""When a failed delivery is tried again (R20).

The n-th failure waits min(1 h, 1 min × 2^(n−1)), give or take 10 %: the jitter
keeps dispatchers on several hosts from retrying a failing provider in lockstep.
After MAX_ATTEMPTS failures the reminder fails for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_ATTEMPTS = 5
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
JITTER = 0.10


def retry_at(attempts: int, now: datetime, jitter: float) -> datetime | None:
    """The next attempt after `attempts` failures, or None when they are used up.

    `jitter` is a number in [-1, 1] (the caller draws it), scaled to ±10 %.
    """
    if attempts < 1:
        raise ValueError("retry_at counts failures from 1")
    if attempts >= MAX_ATTEMPTS:
        return None
    if not -1.0 <= jitter <= 1.0:
        raise ValueError("jitter must lie in [-1, 1]")
    wait: timedelta = min(LONGEST_WAIT, FIRST_WAIT * 2 ** (attempts - 1))
    return now + wait * (1 + JITTER * jitter)
