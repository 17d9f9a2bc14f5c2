"""Errors raised by the planner. They carry data, never HTTP status codes.

The API layer maps each one to a problem-details answer in one table.

    SchedulingError
    ├── NoSlotAvailable     no free slot for a session in its search window (R2, R6)
    ├── IllegalTransition   a session state change R10 does not allow
    ├── SlotUnavailable     a rescheduled session's requested time is not free (R5, R8)
    └── MinIntervalViolated a rescheduled session too close to a neighbour (R4, R8)

Invalid arguments (naive datetimes, hours that end before they start, …) are
programming errors of the caller and raise ``ValueError`` instead; the API layer
validates its input before it builds a calendar. :class:`CalendarTooShort` is one of
them, with data: the caller loaded fewer days than the question reaches.
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


class SlotUnavailable(SchedulingError):
    """R5, R8: session ``session_number`` cannot go at the time staff asked for.

    ``reasons`` holds every rule the time breaks, as short codes in this order:
    ``in_the_past``, ``closed``, ``outside_hours``, ``time_off``,
    ``practitioner_busy``, ``patient_same_day``.
    """

    def __init__(self, session_number: int, reasons: tuple[str, ...]) -> None:
        super().__init__(session_number, reasons)
        self.session_number = session_number
        self.reasons = reasons

    def __str__(self) -> str:
        return f"session {self.session_number} cannot go at that time: {', '.join(self.reasons)}"


class MinIntervalViolated(SchedulingError):
    """R4, R8: session ``session_number`` would come too close to session ``neighbour_number``.

    Exactly one bound is set, as a local date: ``earliest_date`` when the neighbour
    comes before (the first day allowed), ``latest_date`` when it comes after (the
    last day allowed, without reflow).
    """

    def __init__(
        self,
        session_number: int,
        neighbour_number: int,
        earliest_date: date | None,
        latest_date: date | None,
    ) -> None:
        if (earliest_date is None) == (latest_date is None):
            raise ValueError("MinIntervalViolated needs exactly one of earliest_date and latest_date")
        super().__init__(session_number, neighbour_number, earliest_date, latest_date)
        self.session_number = session_number
        self.neighbour_number = neighbour_number
        self.earliest_date = earliest_date
        self.latest_date = latest_date

    def __str__(self) -> str:
        if self.earliest_date is not None:
            bound = f"on or after {self.earliest_date.isoformat()}"
        else:
            bound = f"on or before {self.latest_date}"
        return f"session {self.session_number} is too close to session {self.neighbour_number} (R4): it must be {bound}"


class CalendarTooShort(ValueError):
    """The planner was asked about days its calendar was not loaded for.

    A day outside the calendar would look free whatever is booked on it, so the planner
    refuses rather than plan on a guess. ``needed`` is what the question reaches
    (:mod:`scheduling.reach`), ``loaded`` what the calendar holds. A caller's bug, never
    the user's: the service must load what :mod:`scheduling.reach` names.
    """

    def __init__(self, needed: tuple[date, date], loaded: tuple[date, date]) -> None:
        super().__init__(needed, loaded)
        self.needed = needed
        self.loaded = loaded

    def __str__(self) -> str:
        (first, last), (lo, hi) = self.needed, self.loaded
        return f"the plan reaches {first}..{last}, but the calendar holds only {lo}..{hi}"
