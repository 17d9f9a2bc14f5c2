"""Prolo's pure scheduling core: the course planner and the calendars it reads.

Standard library and zoneinfo only; no I/O, no clock (``now`` is always an argument).
"""

from scheduling.availability import free_slots
from scheduling.calendar import Calendar
from scheduling.errors import (
    CalendarTooShort,
    IllegalTransition,
    MinIntervalViolated,
    NoSlotAvailable,
    SchedulingError,
    SlotUnavailable,
)
from scheduling.hours import HoursInterval
from scheduling.planner import plan_course
from scheduling.protocol import (
    OUTSIDE_WINDOW,
    CoursePlan,
    PlannedSession,
    ProtocolValues,
)
from scheduling.reach import course_reach, reschedule_reach
from scheduling.reflow import CourseSession, Move, ReschedulePlan, plan_reschedule
from scheduling.reminders import (
    REMINDER_KINDS,
    PatientContact,
    PlannedReminder,
    ReminderSettings,
    SessionInfo,
    in_quiet_hours,
    plan_reminders,
)
from scheduling.spans import Busy, DateRange

__all__ = [
    "OUTSIDE_WINDOW",
    "REMINDER_KINDS",
    "Busy",
    "Calendar",
    "CalendarTooShort",
    "CoursePlan",
    "CourseSession",
    "DateRange",
    "HoursInterval",
    "IllegalTransition",
    "MinIntervalViolated",
    "Move",
    "NoSlotAvailable",
    "PatientContact",
    "PlannedReminder",
    "PlannedSession",
    "ProtocolValues",
    "ReminderSettings",
    "ReschedulePlan",
    "SchedulingError",
    "SessionInfo",
    "SlotUnavailable",
    "course_reach",
    "free_slots",
    "in_quiet_hours",
    "plan_course",
    "plan_reminders",
    "plan_reschedule",
    "reschedule_reach",
]
