"""The clinic's open days, and the day a follow-up call goes on (R13, R16).

A follow-up call (R13's ``follow_up`` rule: staff phone the patient about infection,
bleeding or an allergic reaction) needs someone at the clinic to make it, and the
patient waits by the phone for it. So it goes on the first open day on or after the
day its rule names: a day whose weekday has opening hours and that no closure covers
(imported public holidays are closures). :func:`follow_up_day` decides that day, and
everything that shows it asks it, through :func:`~scheduling.aftercare.windows_for`:
the staff reminder (due at the send time of that day), the handout's "We call you"
column, the calendar feeds, the aftercare list and the FHIR CarePlan.

How far it looks: :data:`FOLLOW_UP_REACH_DAYS` days after the rule's day. When no
open day lies in that reach (a clinic closed for weeks, or one with no opening hours
at all), the call stays on the rule's own day: its reminder still reaches the outbox
and waits there, ``ready``, until someone acknowledges it, so it is never lost; and a
call later than that would no longer be the early check the rule is for, since the
next session (R3: 14 days) sees the patient anyway.

Like the planner's :class:`~scheduling.calendar.Calendar`, :class:`OpenDays` knows
closures only for the dates it was loaded for (:func:`follow_up_reach` names them),
and refuses to answer for any other date rather than read an unloaded day as open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from scheduling.errors import CalendarTooShort
from scheduling.hours import HoursInterval
from scheduling.spans import DateRange

# The next session (R3's 14 days) sees the patient anyway: a call is never pushed further than that.
FOLLOW_UP_REACH_DAYS = 14


@dataclass(frozen=True)
class OpenDays:
    """The clinic's open local dates: weekdays with opening hours, less closures, known for ``span``."""

    weekdays: frozenset[int]  # 0 = Monday .. 6 = Sunday: those with any opening hours
    closures: tuple[DateRange, ...] = ()
    span: DateRange | None = None  # the dates the closures were loaded for; None: every closure there is

    @classmethod
    def of(
        cls, opening_hours: Iterable[HoursInterval], closures: Iterable[DateRange] = (), span: DateRange | None = None
    ) -> OpenDays:
        """The open days of these weekly hours and closures."""
        return cls(frozenset(interval.weekday for interval in opening_hours), tuple(closures), span)

    def is_open(self, day: date) -> bool:
        """Is the clinic open on this local date? CalendarTooShort for a date outside ``span``."""
        span = self.span
        if span is not None and not span.start_date <= day <= span.end_date:
            raise CalendarTooShort((day, day), (span.start_date, span.end_date))
        return day.weekday() in self.weekdays and not any(c.start_date <= day <= c.end_date for c in self.closures)


def follow_up_day(rule_day: date, open_days: OpenDays | None) -> date:
    """R16: the day of a follow-up call whose rule names ``rule_day``: the first open day from it on.

    None means every day is open. No open day within FOLLOW_UP_REACH_DAYS: the rule's own day.
    """
    if open_days is None:
        return rule_day
    for later in range(FOLLOW_UP_REACH_DAYS + 1):
        day = rule_day + timedelta(days=later)
        if open_days.is_open(day):
            return day
    return rule_day


def follow_up_reach(rule_days: Iterable[date]) -> DateRange | None:
    """Every date :func:`follow_up_day` may read for these rule days; None for none."""
    days = sorted(rule_days)
    if not days:
        return None
    return DateRange(days[0], days[-1] + timedelta(days=FOLLOW_UP_REACH_DAYS))
