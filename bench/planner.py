"""Benchmark the course planner against a practitioner holding 10 000 sessions.

Run from the repository root: ``python bench/planner.py``. Prints, per mode, the
median, p90 and fastest time to plan one 6-session course, and how many sessions
were placed. Target: median under 5 ms.

Two modes: "warm" reuses one Calendar (its busy index is built on first use, as when
a preview is followed by the booking); "cold" builds a fresh Calendar for every run,
so each run also pays for sorting and merging the 10 000 sessions.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduling import (
    Busy,
    Calendar,
    DateRange,
    HoursInterval,
    NoSlotAvailable,
    ProtocolValues,
    plan_course,
)

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 1, 1, 7, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 1, 5)
BOOKINGS = 10_000
DAYS = 4 * 365
RUNS, WARMUP = 200, 20
PROTOCOL = ProtocolValues(
    session_count=6,
    interval_days=14,
    interval_tolerance_days=3,
    min_interval_days=7,
    session_minutes=45,
)


def build_calendar(rng: random.Random) -> Calendar:
    """Mon-Fri 08:00-17:00, a few closures, 10 000 existing 45-min sessions."""
    hours = tuple(HoursInterval(d, clock_time(8), clock_time(17)) for d in range(5))
    closures = tuple(DateRange(date(year, 12, 24), date(year, 12, 31)) for year in range(2026, 2031)) + tuple(
        DateRange(date(year, 5, 1), date(year, 5, 1)) for year in range(2026, 2031)
    )
    # Every 45-min position of every working day, then 10 000 of them at random:
    # about 10 of the 12 positions of a day are taken, so many days are full.
    positions = [
        datetime.combine(day, clock_time(8), tzinfo=ZONE) + timedelta(minutes=45 * k)
        for day in (FIRST_DAY + timedelta(days=n) for n in range(DAYS))
        if day.weekday() < 5
        for k in range(12)
    ]
    starts = sorted(rng.sample(positions, BOOKINGS))
    busy = tuple(Busy(s.astimezone(UTC), (s + timedelta(minutes=45)).astimezone(UTC)) for s in starts)
    return Calendar(ZONE, hours, hours, 15, closures=closures, practitioner_busy=busy)


def questions(rng: random.Random) -> list[tuple[date, clock_time | None]]:
    preferred = [None, *(clock_time(h, m) for h in range(8, 17) for m in (0, 20, 30))]
    return [(FIRST_DAY + timedelta(days=rng.randrange(3 * 365)), rng.choice(preferred)) for _ in range(WARMUP + RUNS)]


def run(calendar: Calendar, asked: list[tuple[date, clock_time | None]], *, cold: bool) -> None:
    timings: list[int] = []
    placed = outside = failed = 0
    for i, (start_date, preferred) in enumerate(asked):
        cal = dataclasses.replace(calendar) if cold else calendar
        began = time.perf_counter_ns()
        try:
            plan = plan_course(cal, PROTOCOL, start_date=start_date, preferred_time=preferred, now=NOW)
        except NoSlotAvailable:
            plan = None
        elapsed = time.perf_counter_ns() - began
        if i < WARMUP:
            continue
        timings.append(elapsed)
        if plan is None:
            failed += 1
        else:
            placed += len(plan.sessions)
            outside += sum(1 for s in plan.sessions if s.warnings)
    ms = sorted(t / 1e6 for t in timings)
    print(
        f"{'cold' if cold else 'warm'}: {RUNS} runs of a 6-session course, "
        f"{BOOKINGS} bookings: median {statistics.median(ms):.3f} ms, "
        f"p90 {ms[int(0.9 * len(ms)) - 1]:.3f} ms, min {ms[0]:.3f} ms; "
        f"{placed} sessions placed ({outside} outside_window), {failed} NoSlotAvailable"
    )


def main() -> None:
    rng = random.Random(20260101)
    calendar = build_calendar(rng)
    asked = questions(rng)
    run(calendar, asked, cold=False)
    run(calendar, asked, cold=True)


if __name__ == "__main__":
    main()
