"""The protocol values a course is planned with, and the plan the planner returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# R6: the session lies after its tolerance window (in the 7 days that follow it).
OUTSIDE_WINDOW = "outside_window"
# What staff read with it, on the session and (after "session n: ") on its course: the one wording.
OUTSIDE_WINDOW_MESSAGE = "placed after its interval window: no slot fitted inside it (R6)"
# The same code on a session staff moved outside its window themselves (R8 allows it, R3 flags it).
CHOSEN_OUTSIDE_WINDOW_MESSAGE = "moved outside its interval window, at the time staff chose (R3)"
# The same code on a session that stayed where it was while a session before it changed (scheduling/windows.py).
LEFT_OUTSIDE_WINDOW_MESSAGE = "outside its interval window since a session before it moved or did not take place (R3)"


def course_notice(number: int, message: str) -> str:
    """A session's warning as its course shows it: "session n: " before the session's own message."""
    return f"session {number}: {message}"


@dataclass(frozen=True)
class ProtocolValues:
    """A protocol's timing, copied onto the course at booking."""

    session_count: int  # 1..12
    interval_days: int  # R3: the target gap between sessions, 14
    interval_tolerance_days: int  # R3: how far from the target a session may move, 3
    min_interval_days: int  # R4: acute inflammation lasts about a week, 7
    session_minutes: int  # 45

    def __post_init__(self) -> None:
        if not 1 <= self.session_count <= 12:
            raise ValueError(f"session_count must be 1..12, got {self.session_count}")
        if self.interval_days < 1 or self.session_minutes < 1:
            raise ValueError("interval_days and session_minutes must be at least 1")
        if self.interval_tolerance_days < 0 or self.min_interval_days < 0:
            raise ValueError("interval_tolerance_days and min_interval_days must not be negative")

    @property
    def min_gap(self) -> timedelta:
        """R4: the fewest days between two injections; at least one, as two sessions never share a day (R5)."""
        return timedelta(days=max(self.min_interval_days, 1))


@dataclass(frozen=True)
class PlannedSession:
    """One planned session; ``warnings`` holds e.g. :data:`OUTSIDE_WINDOW`."""

    number: int
    start_at: datetime  # aware, UTC
    end_at: datetime  # aware, UTC
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoursePlan:
    """The planned sessions, in order of their numbers."""

    sessions: tuple[PlannedSession, ...]
