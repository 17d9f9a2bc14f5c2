"""R12–R14: aftercare windows from sessions and rules, and what is in force on a day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.aftercare import (
    AVOID_MEDICATION,
    EXERCISE,
    EXPECT_SYMPTOMS,
    FOLLOW_UP,
    KINDS,
    WINDOW_STATUSES,
    Restriction,
    Rule,
    SessionRef,
    Window,
    restrictions_on,
    windows_for,
)
from scheduling.lifecycle import SessionStatus

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SESSION_DAY = date(2027, 3, 1)  # a Monday, far from Berlin's DST changes

# R13: the default protocol's rules.
DEFAULT_RULES = (
    Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "Do not take anti-inflammatory painkillers.", "nsaid"),
    Rule("expect_symptoms", EXPECT_SYMPTOMS, 0, 3, "Some pain and stiffness is expected."),
    Rule("follow_up", FOLLOW_UP, 3, 1, "Staff call: infection, bleeding, allergic reaction."),
    Rule("exercises", EXERCISE, 2, 12, "Do the exercises you were shown."),
)


def day(offset: int) -> date:
    return SESSION_DAY + timedelta(days=offset)


def session(offset: int, wall: str = "09:00", zone: ZoneInfo = BERLIN, session_id: str | None = None) -> SessionRef:
    """A session at a local wall-clock time, ``offset`` days after SESSION_DAY."""
    start_at = datetime.combine(day(offset), time.fromisoformat(wall), tzinfo=zone).astimezone(UTC)
    return SessionRef(session_id or f"s{offset}", start_at)


def in_force(restrictions: list[Restriction]) -> list[tuple[str, int, int, str]]:
    """Each restriction as (rule_code, from, until as day offsets, session_id)."""
    return [
        (r.rule_code, (r.from_date - SESSION_DAY).days, (r.until_date - SESSION_DAY).days, r.session_id)
        for r in restrictions
    ]


def test_r12_r13_default_rules_give_the_spec_windows() -> None:
    windows = windows_for([session(0)], DEFAULT_RULES, BERLIN)

    assert [
        (w.rule_code, w.kind, (w.from_date - SESSION_DAY).days, (w.until_date - SESSION_DAY).days) for w in windows
    ] == [
        ("avoid_nsaids", AVOID_MEDICATION, 0, 4),
        ("expect_symptoms", EXPECT_SYMPTOMS, 0, 2),
        ("exercises", EXERCISE, 2, 13),
        ("follow_up", FOLLOW_UP, 3, 3),
    ]
    assert windows[0].medication_class == "nsaid"
    assert {w.session_id for w in windows} == {"s0"}


# Day offset from the session → what is in force: (rule_code, until as a day offset),
# by kind in R12's order (avoid_medication, expect_symptoms, exercise, follow_up).
NSAIDS, SYMPTOMS, EXERCISES, FOLLOW = ("avoid_nsaids", 4), ("expect_symptoms", 2), ("exercises", 13), ("follow_up", 3)
DEFAULT_DAYS = [
    (-2, []),
    (-1, []),
    (0, [NSAIDS, SYMPTOMS]),
    (1, [NSAIDS, SYMPTOMS]),
    (2, [NSAIDS, SYMPTOMS, EXERCISES]),
    (3, [NSAIDS, EXERCISES, FOLLOW]),
    (4, [NSAIDS, EXERCISES]),
    (5, [EXERCISES]),
    (6, [EXERCISES]),
    (7, [EXERCISES]),
    (8, [EXERCISES]),
    (9, [EXERCISES]),
    (10, [EXERCISES]),
    (11, [EXERCISES]),
    (12, [EXERCISES]),
    (13, [EXERCISES]),
    (14, []),
    (15, []),
    (16, []),
]


@pytest.mark.parametrize(("offset", "expected"), DEFAULT_DAYS)
def test_r13_r14_default_restrictions_on_each_day(offset: int, expected: list[tuple[str, int]]) -> None:
    windows = windows_for([session(0)], DEFAULT_RULES, BERLIN)

    found = in_force(restrictions_on(windows, day(offset)))

    starts = {r.code: r.start_offset_days for r in DEFAULT_RULES}
    assert found == [(code, starts[code], until, "s0") for code, until in expected]


@pytest.mark.parametrize(
    ("start_offset_days", "duration_days", "first", "last"),
    [
        (-3, 3, -3, -1),  # e.g. stop a drug three days before the injection
        (-1, 1, -1, -1),
        (-2, 5, -2, 2),  # spans the session day
        (0, 1, 0, 0),
        (7, 14, 7, 20),
    ],
)
def test_r12_offsets_may_be_negative(start_offset_days: int, duration_days: int, first: int, last: int) -> None:
    rule = Rule("stop_nsaids", AVOID_MEDICATION, start_offset_days, duration_days, "Stop NSAIDs.", "nsaid")

    (window,) = windows_for([session(0)], [rule], BERLIN)

    assert (window.from_date, window.until_date) == (day(first), day(last))
    assert in_force(restrictions_on([window], day(first))) == [("stop_nsaids", first, last, "s0")]
    assert restrictions_on([window], day(first - 1)) == []
    assert restrictions_on([window], day(last + 1)) == []


@pytest.mark.parametrize(
    ("zone", "start_at", "local_day"),
    [
        # Berlin springs forward on 2027-03-28: 00:30 there is still 23:30 UTC the day before.
        (BERLIN, datetime(2027, 3, 27, 23, 30, tzinfo=UTC), date(2027, 3, 28)),
        # Berlin falls back on 2027-10-31: 00:30 CEST is 22:30 UTC the day before.
        (BERLIN, datetime(2027, 10, 30, 22, 30, tzinfo=UTC), date(2027, 10, 31)),
        # New York springs forward on 2027-03-14: 23:30 EDT is 03:30 UTC the next day.
        (NEW_YORK, datetime(2027, 3, 15, 3, 30, tzinfo=UTC), date(2027, 3, 14)),
        # New York falls back on 2027-11-07: 21:00 EST is 02:00 UTC the next day.
        (NEW_YORK, datetime(2027, 11, 8, 2, 0, tzinfo=UTC), date(2027, 11, 7)),
        # The second 01:30 of New York's fall-back night is still that local day.
        (NEW_YORK, datetime(2027, 11, 7, 6, 30, tzinfo=UTC), date(2027, 11, 7)),
    ],
)
def test_r12_windows_start_on_the_local_day_across_dst(zone: ZoneInfo, start_at: datetime, local_day: date) -> None:
    rule = DEFAULT_RULES[0]  # avoid_nsaids, offset 0, 5 days

    (window,) = windows_for([SessionRef("s", start_at)], [rule], zone)

    last_day = local_day + timedelta(days=4)
    assert (window.from_date, window.until_date) == (local_day, last_day)
    # A UTC date would shift the window by a day at one end or the other.
    assert restrictions_on([window], local_day - timedelta(days=1)) == []
    assert restrictions_on([window], local_day) == [
        Restriction(rule.code, rule.kind, "nsaid", local_day, last_day, rule.instruction, "s", start_at)
    ]
    assert restrictions_on([window], last_day + timedelta(days=1)) == []


# Two or three sessions' avoid_nsaids windows (day 0–4 after each); on a day →
# (from, until, session named) as day offsets.
@pytest.mark.parametrize(
    ("session_days", "on", "expected"),
    [
        ([0, 3], 1, (0, 7, "s0")),  # overlapping: until the later window's end
        ([0, 3], 3, (0, 7, "s3")),  # both cover day 3: the later session is named
        ([0, 3], 6, (0, 7, "s3")),
        ([0, 5], 2, (0, 9, "s0")),  # touching (4 then 5) is one run
        ([0, 5], 5, (0, 9, "s5")),
        ([0, 6], 2, (0, 4, "s0")),  # a free day between: two runs
        ([0, 6], 6, (6, 10, "s6")),
        ([0, 4, 8], 1, (0, 12, "s0")),  # a chain of three
        ([0, 4, 8], 4, (0, 12, "s4")),
        ([8, 0, 4], 10, (0, 12, "s8")),  # the order sessions are given in does not matter
    ],
)
def test_r14_windows_of_several_sessions_merge(
    session_days: list[int], on: int, expected: tuple[int, int, str]
) -> None:
    windows = windows_for([session(d) for d in session_days], DEFAULT_RULES[:1], BERLIN)

    assert in_force(restrictions_on(windows, day(on))) == [("avoid_nsaids", *expected)]


def test_r14_only_the_same_rule_merges() -> None:
    knee = Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "Knee course text.", "nsaid")
    other_class = Rule("avoid_nsaids", AVOID_MEDICATION, 5, 5, "Other class.", "anticoagulant")
    windows = windows_for([session(0)], [knee, other_class], BERLIN)

    found = restrictions_on(windows, day(4)) + restrictions_on(windows, day(5))

    assert [(r.medication_class, r.from_date, r.until_date) for r in found] == [
        ("nsaid", day(0), day(4)),
        ("anticoagulant", day(5), day(9)),
    ]


def test_r14_restriction_takes_the_latest_sessions_instruction() -> None:
    old = windows_for([session(0)], [Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "Old text.", "nsaid")], BERLIN)
    new = windows_for([session(2)], [Rule("avoid_nsaids", AVOID_MEDICATION, 0, 5, "New text.", "nsaid")], BERLIN)

    (restriction,) = restrictions_on(old + new, day(3))

    assert (restriction.instruction, restriction.session_id, restriction.until_date) == ("New text.", "s2", day(6))


@pytest.mark.parametrize("status", list(SessionStatus))
def test_r14_only_sessions_that_happen_leave_aftercare(status: SessionStatus) -> None:
    produces = status in {
        SessionStatus.scheduled,
        SessionStatus.confirmed,
        SessionStatus.checked_in,
        SessionStatus.completed,
    }
    assert (status in WINDOW_STATUSES) is produces


@pytest.mark.parametrize(
    "build",
    [
        lambda: Rule("x", "massage", 0, 1, "text"),
        lambda: Rule("x", EXERCISE, 0, 0, "text"),
        lambda: Rule("x", AVOID_MEDICATION, 0, 5, "text"),  # which medication?
        lambda: SessionRef("s", datetime(2027, 3, 1, 9, 0)),  # noqa: DTZ001 - the naive datetime is the point
    ],
)
def test_r12_invalid_rules_and_sessions_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()


# Properties over generated sessions (some across Berlin's 2027-03-28 change) and rules.
rules_st = st.lists(
    st.builds(
        lambda code, kind, offset, duration: Rule(
            code, kind, offset, duration, "text", "nsaid" if kind == AVOID_MEDICATION else None
        ),
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(KINDS),
        st.integers(-5, 10),
        st.integers(1, 15),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda r: r.code,
)
sessions_st = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 23), st.sampled_from([0, 30])),
    min_size=1,
    max_size=5,
    unique_by=lambda t: t[0],  # R5: one session a day per patient
).map(
    lambda items: [
        SessionRef(f"s{d}", datetime.combine(day(d), time(h, m), tzinfo=BERLIN).astimezone(UTC)) for d, h, m in items
    ]
)


@settings(max_examples=200, deadline=None)
@given(sessions=sessions_st, rules=rules_st, on=st.integers(-10, 70).map(day))
def test_r12_r14_properties(sessions: list[SessionRef], rules: list[Rule], on: date) -> None:
    windows = windows_for(sessions, rules, BERLIN)
    by_code = {r.code: r for r in rules}
    starts = {s.session_id: s.start_at for s in sessions}

    # R12: each window covers duration_days days from the session's local day + offset.
    assert len(windows) == len(sessions) * len(rules)
    for w in windows:
        rule = by_code[w.rule_code]
        assert (w.until_date - w.from_date).days + 1 == rule.duration_days
        assert w.from_date == starts[w.session_id].astimezone(BERLIN).date() + timedelta(days=rule.start_offset_days)
    keys = [(w.from_date, w.rule_code, w.session_start_at) for w in windows]
    assert keys == sorted(keys)

    # R14: one restriction per rule covering the day, naming a session whose window covers it;
    # its dates are exactly the contiguous run of that rule's days around `on`.
    found = restrictions_on(windows, on)
    assert sorted(r.rule_code for r in found) == sorted({w.rule_code for w in windows if w.covers(on)})
    for r in found:
        same = [w for w in windows if w.rule_code == r.rule_code]
        covered = {w.from_date + timedelta(days=i) for w in same for i in range((w.until_date - w.from_date).days + 1)}
        assert any(w.covers(on) and w.session_id == r.session_id for w in same)
        assert all(r.from_date + timedelta(days=i) in covered for i in range((r.until_date - r.from_date).days + 1))
        assert r.from_date - timedelta(days=1) not in covered
        assert r.until_date + timedelta(days=1) not in covered
        latest = max(w.session_start_at for w in same if w.covers(on))
        assert r.session_start_at == latest


def test_r12_windows_are_frozen_values() -> None:
    (window,) = windows_for([session(0)], DEFAULT_RULES[:1], BERLIN)
    assert isinstance(window, Window)
    with pytest.raises(AttributeError):
        window.until_date = day(9)  # type: ignore[misc]
