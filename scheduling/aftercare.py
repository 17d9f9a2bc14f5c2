"""Aftercare windows: which local dates each rule covers after each session (R12–R14).

A rule (R12) says what to do or avoid from ``start_offset_days`` after a session's
local day, for ``duration_days`` days, the first included. A window is one rule
applied to one session; a restriction is what a patient sees on one day (R14):
the windows in force, merged across sessions so "until" is the real last day.

Windows follow the clinic's local date of the session, never its UTC date: a
session at 00:30 in Berlin is on that Berlin day, whatever UTC says. A ``follow_up``
window, a staff call, starts on the clinic's next open day instead when its rule's
day is closed (R16, :mod:`scheduling.open_days`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from scheduling.lifecycle import INJECTED
from scheduling.open_days import OpenDays, follow_up_day
from scheduling.spans import DateRange, require_aware


class RuleKind(StrEnum):
    """What a rule asks (R12), in R12's order, what to avoid first: restrictions are listed by it."""

    avoid_medication = "avoid_medication"
    expect_symptoms = "expect_symptoms"
    exercise = "exercise"
    follow_up = "follow_up"


AVOID_MEDICATION, EXPECT_SYMPTOMS, EXERCISE, FOLLOW_UP = tuple(RuleKind)
KINDS = tuple(RuleKind)

# R14: only a session that took place or still will leaves aftercare; the caller filters with this
# before windows_for.
WINDOW_STATUSES = INJECTED

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rule:
    """R12: what to do or avoid, from ``start_offset_days`` for ``duration_days`` days."""

    code: str
    kind: str  # one of KINDS
    start_offset_days: int  # 0 = the session's local day; may be negative
    duration_days: int  # days covered, the first included
    instruction: str  # patient-facing text
    medication_class: str | None = None  # for avoid_medication, e.g. "nsaid" (R15)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown aftercare kind {self.kind!r}")
        if self.duration_days < 1:
            raise ValueError(f"duration_days must be at least 1, got {self.duration_days}")
        if self.kind == AVOID_MEDICATION and not self.medication_class:
            raise ValueError("an avoid_medication rule needs a medication_class")


def rules_from(stored: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """The rules as a protocol or a course stores them (JSON objects with Rule's fields)."""
    return [Rule(**rule) for rule in stored]


@dataclass(frozen=True)
class SessionRef:
    """A session that produces windows: its id and its start instant."""

    session_id: str
    start_at: datetime  # aware

    def __post_init__(self) -> None:
        require_aware(self.start_at, "start_at")


@dataclass(frozen=True)
class Window:
    """One rule applied to one session: local dates, ``until_date`` included."""

    rule_code: str
    kind: str
    medication_class: str | None
    from_date: date
    until_date: date
    instruction: str
    session_id: str
    session_start_at: datetime  # orders windows, and picks the session a restriction names

    def __post_init__(self) -> None:
        if self.until_date < self.from_date:
            raise ValueError(f"window ends before it starts: {self!r}")

    def covers(self, day: date) -> bool:
        return self.from_date <= day <= self.until_date


@dataclass(frozen=True)
class Restriction:
    """R14: a rule in force on a day, its dates the whole contiguous run of merged windows.

    ``session_id``/``session_start_at``/``instruction`` come from the latest-started
    session whose own window covers the day: the most recent injection is the one
    staff ask about, and its copy of the rule is the newest.
    """

    rule_code: str
    kind: str
    medication_class: str | None
    from_date: date  # first day of the merged run
    until_date: date  # last day of the merged run: "until when"
    instruction: str
    session_id: str
    session_start_at: datetime


def windows_for(
    sessions: Iterable[SessionRef], rules: Sequence[Rule], zone: ZoneInfo, *, open_days: OpenDays | None = None
) -> list[Window]:
    """Every rule's window for every given session, by (from_date, rule_code, session start).

    The caller passes the sessions to consider (R14: those in WINDOW_STATUSES of
    non-cancelled courses); this function does not filter. A ``follow_up`` window starts
    on :func:`~scheduling.open_days.follow_up_day` of its rule's first day and ends on
    its rule's last day, or on that day if later; ``open_days`` None: every day is open.
    """
    windows: list[Window] = []
    for session in sessions:
        for rule in rules:
            from_date = rule_day(session, rule, zone)
            until_date = from_date + timedelta(days=rule.duration_days - 1)
            if rule.kind == FOLLOW_UP:
                # R16: staff make the call, so it waits for a day the clinic is open
                from_date = follow_up_day(from_date, open_days)
                until_date = max(until_date, from_date)
            windows.append(
                Window(
                    rule_code=rule.code,
                    kind=rule.kind,
                    medication_class=rule.medication_class,
                    from_date=from_date,
                    until_date=until_date,
                    instruction=rule.instruction,
                    session_id=session.session_id,
                    session_start_at=session.start_at,
                )
            )
    windows.sort(key=lambda w: (w.from_date, w.rule_code, w.session_start_at))
    return windows


def rule_day(session: SessionRef, rule: Rule, zone: ZoneInfo) -> date:
    """The first day a rule names for a session: its local day plus the rule's offset (R12)."""
    # R12: offsets count from the session's local day in the clinic's zone.
    return session.start_at.astimezone(zone).date() + timedelta(days=rule.start_offset_days)


def follow_up_rule_days(sessions: Iterable[SessionRef], rules: Sequence[Rule], zone: ZoneInfo) -> list[date]:
    """The days the ``follow_up`` rules name for these sessions, before any move to an open day (R16)."""
    return [rule_day(session, rule, zone) for session in sessions for rule in rules if rule.kind == FOLLOW_UP]


def date_runs(windows: Iterable[Window | Restriction]) -> list[DateRange]:
    """The windows' days as sorted runs, joined where they overlap or touch."""
    runs: list[DateRange] = []
    for w in sorted(windows, key=lambda w: w.from_date):
        if runs and w.from_date <= runs[-1].end_date + _DAY:
            last = runs[-1]
            runs[-1] = DateRange(last.start_date, max(last.end_date, w.until_date))
        else:
            runs.append(DateRange(w.from_date, w.until_date))
    return runs


def restrictions_on(windows: Iterable[Window], on: date) -> list[Restriction]:
    """R14: what is in force on ``on`` and until when, by kind (R12's order) then rule_code.

    Windows of the same rule (code, kind and medication class) from several sessions
    merge when they overlap or touch, so "avoid NSAIDs until X" names the real last day.
    """
    groups: dict[tuple[str, str, str | None], list[Window]] = {}
    for w in windows:
        groups.setdefault((w.rule_code, w.kind, w.medication_class), []).append(w)
    found: list[Restriction] = []
    for group in groups.values():
        covering = [w for w in group if w.covers(on)]
        if not covering:
            continue
        run = next(r for r in date_runs(group) if r.start_date <= on <= r.end_date)
        latest = max(covering, key=lambda w: (w.session_start_at, w.session_id))
        found.append(
            Restriction(
                rule_code=latest.rule_code,
                kind=latest.kind,
                medication_class=latest.medication_class,
                from_date=run.start_date,
                until_date=run.end_date,
                instruction=latest.instruction,
                session_id=latest.session_id,
                session_start_at=latest.session_start_at,
            )
        )
    found.sort(key=lambda r: (_kind_rank(r.kind), r.rule_code, r.medication_class or "", r.session_id))
    return found


def _kind_rank(kind: str) -> int:
    return KINDS.index(kind) if kind in KINDS else len(KINDS)
