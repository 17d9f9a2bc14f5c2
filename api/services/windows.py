"""Keeping the `outside_window` warnings true after every change to a course (R3, R6, R8).

A session that moves gets its warning from its move (the planner's R6, the staff's R3:
api/services/reschedule.py). One that stays where it is while a session before it moves, is
cancelled or is missed may come into its window or leave it: :func:`keep_windows_true`
sets the warning of one that left it, and clears it on every one inside its window (a stale
one, too), by the rule the planner and the reschedule ask (scheduling/windows.py); the
course's own list of them follows its sessions. It runs
in :func:`~api.services.lifecycle.course_changed`, where every writer of a course ends, with
the changes the unit of work noted at flush (:meth:`UnitOfWork.freed`), so no path can forget it.
Warnings with other codes are left as they are.
"""

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from api.services.planning import planner_values
from api.store.unit_of_work import UnitOfWork
from models import Course, Session
from models.session import Freed
from scheduling import OUTSIDE_WINDOW, CourseSession
from scheduling.lifecycle import INJECTED
from scheduling.protocol import LEFT_OUTSIDE_WINDOW_MESSAGE, course_notice
from scheduling.windows import window_changes


def keep_windows_true(
    uow: UnitOfWork, course: Course, sessions: Sequence[Session], changed: Sequence[Freed], zone: ZoneInfo
) -> None:
    """Set or clear `outside_window` on the active sessions that kept their time (scheduling/windows.py
    :func:`~scheduling.windows.window_changes`), and list every active or completed session's window warning
    on the course, as booking does."""
    was: dict[Any, Freed] = {}
    for freed in changed:
        if freed.course_id == course.id:
            was.setdefault(freed.session_id, freed)  # the first note holds the session as it was
    before = [_before(row, was.get(row.id)) for row in sessions]
    after = [CourseSession(row.number, row.start_at, row.end_at, row.status) for row in sessions]
    by_number = {row.number: row for row in sessions}
    for number, outside in window_changes(planner_values(course, len(sessions)), zone, before, after).items():
        row = by_number[number]
        others = [w for w in row.warnings or () if w["code"] != OUTSIDE_WINDOW]
        if outside == (len(others) != len(row.warnings or ())):
            continue  # it says so already (a reflow that re-planned it onto its own time, R6)
        left = {"code": OUTSIDE_WINDOW, "message": LEFT_OUTSIDE_WINDOW_MESSAGE}
        row.warnings = [*others, left] if outside else others
        uow.add(row)
    notices = [
        {"code": OUTSIDE_WINDOW, "message": course_notice(row.number, w["message"])}
        for row in sessions
        if row.status in INJECTED
        for w in row.warnings or ()
        if w["code"] == OUTSIDE_WINDOW
    ]
    listed = [*notices, *(w for w in course.warnings or () if w["code"] != OUTSIDE_WINDOW)]
    if listed != course.warnings:
        course.warnings = listed


def _before(row: Session, freed: Freed | None) -> CourseSession:
    """The session as it was when the transaction began (a row added since: as it is)."""
    if freed is None:
        return CourseSession(row.number, row.start_at, row.end_at, row.status)
    return CourseSession(row.number, freed.start_at, freed.end_at, freed.status_before)
