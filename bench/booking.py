"""Benchmark booking whole courses, POST /v1/courses, through a running uvicorn server.

Run from the repository root: ``.venv/bin/python bench/booking.py`` (SQLite in a temp
file), or add ``--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test`` to run
on that server in a database of its own (`prolo_bench`, dropped and made again).

The clinic is filled first (8 practitioners, 3 000 patients, 50 000 sessions over ~3
years), so every booking plans around real calendars. Then, against one server:
a few rounds of N 6-session courses booked one after another over one keep-alive
connection, and one round of the same N spread over a few concurrent clients.
Prints courses/s per round and their median, and per-booking latency median and p90.
Every booking is sent as front-desk software sends it, with an `Idempotency-Key` (S5), and
writes its audit events (S7): the figure includes both. Target: ≥ 100 courses/s on SQLite,
sequentially.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _support import (
    CONDITIONS,
    FilledClinic,
    StealMeter,
    bench_database,
    fill_clinic,
    measured_day,
    percentile,
    server_env,
    stop_on_sigterm,
    uvicorn_server,
    without_r35_r38,
)

TARGET = 100.0
WARMUP = 10
BOOKING_SPAN_DAYS = 365
PREFERRED_TIMES = (None, "08:00", "09:00", "10:30", "13:00", "14:15", "15:30")


@dataclass
class Round:
    """What one round of bookings did: answers by status, latencies, wall time."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    session_counts: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    steal: StealMeter = field(default_factory=StealMeter)

    @property
    def courses_per_second(self) -> float:
        return self.statuses[201] / self.seconds if self.seconds else 0.0

    def merge(self, other: Round) -> None:
        self.statuses.update(other.statuses)
        self.latencies.extend(other.latencies)
        self.session_counts.update(other.session_counts)


def main() -> int:
    args = _arguments()
    stop_on_sigterm()
    now = datetime.now(UTC)
    today = measured_day(now)
    with tempfile.TemporaryDirectory(prefix="prolo-booking-") as tmp, bench_database(args.database_url) as url:
        clinic = fill_clinic(url, now=now, day=today)
        if args.without_r35_r38:
            without_r35_r38(url)
        print(
            f"database: {url.split('@')[-1]}  sessions: {clinic.sessions}  "
            f"practitioners: {len(clinic.practitioner_ids)}  patients: {len(clinic.patient_ids)}"
        )
        requests = _Requests(clinic, first_date=today + timedelta(days=1), seed=args.seed)
        with uvicorn_server("api.main:app", server_env(url), log_dir=Path(tmp)) as base_url:
            _book(base_url, clinic.api_key, requests.take(WARMUP), deadline=time.monotonic() + 30)
            sequential = [
                _sequential_round(base_url, clinic.api_key, requests.take(args.courses), args.max_seconds)
                for _ in range(args.rounds)
            ]
            concurrent = _concurrent_round(base_url, clinic.api_key, requests, args)
    return _report(sequential, concurrent, args)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server on 127.0.0.1 (default: a temp SQLite file)")
    parser.add_argument("--courses", type=int, default=300, help="courses booked per round")
    parser.add_argument("--rounds", type=int, default=3, help="sequential rounds")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients in the last round (0: none)")
    parser.add_argument("--max-seconds", type=float, default=40, help="a round stops after this long")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--without-r35-r38", action="store_true", help="no confirm requests, no merging: the reminders of before"
    )
    return parser.parse_args()


class _Requests:
    """Booking requests as a front desk makes them: any patient, any practitioner, within the next year.

    A year, not a few months: the bench books over a thousand courses, and squeezed into a
    shorter span they would fill the calendars and turn into 409s (no slot), not bookings.
    """

    def __init__(self, clinic: FilledClinic, *, first_date: date, seed: int) -> None:
        self._clinic, self._first, self._rng = clinic, first_date, random.Random(seed)

    def take(self, count: int) -> list[dict[str, Any]]:
        return [self._one() for _ in range(count)]

    def _one(self) -> dict[str, Any]:
        request = {
            "patient_id": str(self._rng.choice(self._clinic.patient_ids)),
            "practitioner_id": str(self._rng.choice(self._clinic.practitioner_ids)),
            "start_date": (self._first + timedelta(days=self._rng.randrange(BOOKING_SPAN_DAYS))).isoformat(),
            "condition": self._rng.choice(CONDITIONS),
        }
        preferred = self._rng.choice(PREFERRED_TIMES)
        return request if preferred is None else {**request, "preferred_time": preferred}


def _book(base_url: str, key: str, requests: list[dict[str, Any]], *, deadline: float) -> Round:
    """Book one after another over one keep-alive connection, until done or the deadline."""
    result = Round()
    with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=60) as client:
        for request in requests:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            response = client.post("/v1/courses", json=request, headers={"Idempotency-Key": str(uuid.uuid4())})
            result.latencies.append(time.perf_counter() - started)
            result.statuses[response.status_code] += 1
            if response.status_code == 201:
                result.session_counts[len(response.json()["sessions"])] += 1
    return result


def _sequential_round(base_url: str, key: str, requests: list[dict[str, Any]], max_seconds: float) -> Round:
    with StealMeter() as steal:
        started = time.perf_counter()
        result = _book(base_url, key, requests, deadline=time.monotonic() + max_seconds)
        result.seconds = time.perf_counter() - started
    result.steal = steal
    return result


def _concurrent_round(base_url: str, key: str, requests: _Requests, args: argparse.Namespace) -> Round | None:
    """The same number of courses, spread over a few clients booking at once (writers queue on SQLite)."""
    if args.clients < 1:
        return None
    shares = [requests.take(args.courses // args.clients) for _ in range(args.clients)]
    results = [Round() for _ in shares]
    deadline = time.monotonic() + args.max_seconds

    def run(index: int) -> None:
        results[index] = _book(base_url, key, shares[index], deadline=deadline)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(shares))]
    with StealMeter() as steal:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = Round(seconds=time.perf_counter() - started, steal=steal)
    for result in results:
        total.merge(result)
    return total


def _report(sequential: list[Round], concurrent: Round | None, args: argparse.Namespace) -> int:
    print(f"sequential: {args.rounds} rounds of {args.courses} bookings, one keep-alive client")
    for number, result in enumerate(sequential, start=1):
        _print_round(f"round {number}", result)
    latencies = [x for result in sequential for x in result.latencies]
    median_rate = statistics.median(r.courses_per_second for r in sequential)
    print(
        f"median: {median_rate:.1f} courses/s (target on SQLite >= {TARGET:.0f})   "
        f"latency over all sequential bookings: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p90 {percentile(latencies, 0.9) * 1000:.1f} ms"
    )
    if concurrent is not None:
        print(f"concurrent: {args.clients} clients, {args.courses} bookings in all")
        _print_round("together", concurrent)
    everything = [*sequential, *([concurrent] if concurrent else [])]
    unexpected = sum(n for r in everything for status, n in r.statuses.items() if status not in (201, 409))
    if unexpected:
        print(f"{unexpected} answers were neither 201 nor 409: see the statuses above; figures are not valid")
        return 1
    return 0


def _print_round(label: str, result: Round) -> None:
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(result.statuses.items()))
    sizes = ", ".join(f"{n}×{size}" for size, n in sorted(result.session_counts.items()))
    print(
        f"  {label}: {result.courses_per_second:6.1f} courses/s   "
        f"latency median {statistics.median(result.latencies) * 1000:6.1f} ms, "
        f"p90 {percentile(result.latencies, 0.9) * 1000:6.1f} ms   "
        f"answers {{{statuses}}} in {result.seconds:.1f} s   sessions per course: {sizes}   "
        f"CPU {result.steal.text()}"
    )


if __name__ == "__main__":
    sys.exit(main())
