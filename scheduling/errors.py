"""Errors raised by the planner. They carry data, never HTTP status codes.

The API layer maps each one to a problem-details answer in one table.

    SchedulingError
    ├── NoSlotAvailable     no free slot for a session in its search window (R2, R6)
    └── IllegalTransition   a session state change R10 does not allow

Invalid arguments (naive datetimes, hours that end before they start, …) are
programming errors of the caller and raise ``ValueError`` instead; the API layer
validates its input before it builds a calendar.
"""

from __future__ import annotations

from datetime import date


class SchedulingError(Exception):
    """Base class of every planning failure."""


class NoSlotAvailable(SchedulingError):
    """No free slot for session ``session_number`` in its window (R6), so nothing is booked.

    ``window_start``/``window_end`` are local dates, both inclusive: the tolerance window
    (target ± tolerance) for a later session, or the first-session search range (R2).
    """

    def __init__(self, session_number: int, window_start: date, window_end: date) -> None:
        # The data are the args, so the exception pickles and compares by value.
        super().__init__(session_number, window_start, window_end)
        self.session_number = session_number
        self.window_start = window_start
        self.window_end = window_end

    def __str__(self) -> str:
        return (
            f"no free slot for session {self.session_number} "
            f"between {self.window_start.isoformat()} and {self.window_end.isoformat()}"
        )


class IllegalTransition(SchedulingError):
    """R10: `action` is not allowed from the session's `current` state (or not now)."""

    def __init__(self, current: str, action: str, reason: str) -> None:
        super().__init__(current, action, reason)
        self.current = current
        self.action = action
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} (the session is {self.current})"
