"""Booking a course, decided in one call: where every session goes, and what staff must be told (R2–R7, R15).

The booking use case reads as: load the calendar the question reaches, ask this
module once, store what it decided, answer. Reminders are planned from the stored
sessions by :mod:`scheduling.reminders`, as after every other change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from scheduling.aftercare import Rule, SessionRef, windows_for
from scheduling.calendar import Calendar
from scheduling.medications import medication_warnings
from scheduling.planner import plan_course
from scheduling.protocol import OUTSIDE_WINDOW, OUTSIDE_WINDOW_MESSAGE, CoursePlan, ProtocolValues, course_notice
from scheduling.reach import FIRST_SESSION_SEARCH_DAYS


@dataclass(frozen=True)
class Notice:
    """Something staff should know about a booking, which did not stop it."""

    code: str
    message: str


@dataclass(frozen=True)
class BookingPlan:
    """The course's sessions, and the notices for its course: R6 placements and the NSAIDs to pause (R15)."""

    plan: CoursePlan
    notices: tuple[Notice, ...]


def plan_booking(
    calendar: Calendar,
    protocol: ProtocolValues,
    *,
    start_date: date,
    preferred_time: time | None,
    rules: Sequence[Rule],
    medications: Sequence[str],
    now: datetime,
    first_session_search_days: int = FIRST_SESSION_SEARCH_DAYS,
) -> BookingPlan:
    """Plan a new course (R2–R7) and say what staff must know: each session placed after its window (R6),
    and every NSAID on the patient's list with the dates to pause it around every session (R15).

    Raises :class:`~scheduling.errors.NoSlotAvailable` as :func:`~scheduling.planner.plan_course` does.
    """
    plan = plan_course(
        calendar,
        protocol,
        start_date=start_date,
        preferred_time=preferred_time,
        now=now,
        first_session_search_days=first_session_search_days,
    )
    outside = [
        Notice(OUTSIDE_WINDOW, course_notice(s.number, OUTSIDE_WINDOW_MESSAGE))
        for s in plan.sessions
        if OUTSIDE_WINDOW in s.warnings
    ]
    windows = windows_for([SessionRef(f"session {s.number}", s.start_at) for s in plan.sessions], rules, calendar.zone)
    nsaids = [Notice(w.code, w.message) for w in medication_warnings(medications, windows)]
    return BookingPlan(plan, (*outside, *nsaids))
