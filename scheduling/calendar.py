"""Everything the planner needs to know about one practitioner and one patient."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

from scheduling.availability import Availability
from scheduling.errors import CalendarTooShort
from scheduling.hours import HoursInterval
from scheduling.spans import Busy, DateRange


@dataclass(frozen=True)
class Calendar:
    """The clinic's hours and closures, the practitioner's hours, time off and sessions,
    and the patient's sessions, all for one planning question.

    ``span`` is the local dates it was loaded for: outside them nothing is known, and
    the planner refuses to look there (:meth:`require`). ``None`` means it holds
    everything there is, as a calendar built whole in memory does.
    """

    zone: ZoneInfo  # R1: the clinic's time zone; hours and dates are local to it
    opening_hours: tuple[HoursInterval, ...]  # the clinic's
    working_hours: tuple[HoursInterval, ...]  # the practitioner's
    slot_minutes: int
    closures: tuple[DateRange, ...] = ()
    time_off: tuple[Busy, ...] = ()  # the practitioner's
    practitioner_busy: tuple[Busy, ...] = ()  # the practitioner's active sessions
    patient_busy: tuple[Busy, ...] = ()  # the patient's active sessions (R5: one a day)
    span: DateRange | None = None  # the local dates loaded; None: everything

    def __post_init__(self) -> None:
        if self.slot_minutes < 1:
            raise ValueError(f"slot_minutes must be at least 1, got {self.slot_minutes}")

    def require(self, reach: DateRange) -> None:
        """Raise :class:`CalendarTooShort` unless the calendar holds every date of ``reach``."""
        span = self.span
        if span is not None and not span.start_date <= reach.start_date <= reach.end_date <= span.end_date:
            raise CalendarTooShort((reach.start_date, reach.end_date), (span.start_date, span.end_date))

    @cached_property
    def availability(self) -> Availability:
        """The calendar's busy spans merged and indexed, built once on first use.

        A practitioner may hold 10 000+ sessions: indexing them once lets every
        later question about this calendar (a preview, then the booking, a reflow)
        be a binary search. The calendar is frozen, so the index never goes stale.
        """
        return Availability(self)
