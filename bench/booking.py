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
sequentially. Each round also gives the server's CPU time per answer (user + system, from /proc).

``--before DIR`` compares with another checkout of Prolo (``git worktree add /tmp/before <commit>``):
each version fills a database of its own alike, with its own code, and gets its own server; both book
the same requests in turns of ``--courses`` (``--turns`` of them, the order swapped every turn), so the
machine's drift hits both alike. Compare the server CPU per answer and the latency medians: on a shared
machine they move less than courses/s from turn to turn (a run of this checkout against a copy of itself
gave 0.999 and 0.997, with turn-by-turn courses/s ratios from 0.84 to 1.29).
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
    BENCH_DATABASE,
    CONDITIONS,
    FilledClinic,
    StealMeter,
    bench_database,
    fill_clinic,
    fill_clinic_of,
    measured_day,
    percentile,
    server_cpu_seconds,
    server_env,
    stop_on_sigterm,
    uvicorn_server,
    without_r35_r38,
)
from sqlalchemy import create_engine, inspect

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
    server_cpu: float | None = None  # seconds the server spent on the CPU (user + system), where /proc tells

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
    if args.before is not None:
        return _before_and_after(args, now=now, today=today)
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
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout of Prolo (git worktree add /tmp/before <commit>): booked in turns with this one",
    )
    parser.add_argument("--turns", type=int, default=8, help="with --before: turns of --courses bookings per side")
    return parser.parse_args()


def _before_and_after(args: argparse.Namespace, *, now: datetime, today: date) -> int:
    """This checkout and `--before`, each on its own database filled alike by its own code, one uvicorn server
    each, booking the same requests in turns of `--courses` (this, before; then before, this; …): drift on the
    machine hits both alike. Prints each turn and the medians over turns, and their ratio."""
    before = args.before.resolve()
    with (
        tempfile.TemporaryDirectory(prefix="prolo-booking-") as tmp,
        bench_database(args.database_url) as url,
        bench_database(args.database_url, name=f"{BENCH_DATABASE}_before") as before_url,
    ):
        clinics = {
            "this": fill_clinic(url, now=now, day=today),
            "before": fill_clinic_of(before, before_url, now=now, day=today),
        }
        if args.without_r35_r38:
            without_r35_r38(url)
            if _has_r35(before_url):  # a version before R35 plans none anyway
                without_r35_r38(before_url)
        print(
            f"database: {url.split('@')[-1]} and {before_url.split('@')[-1]}  sessions: {clinics['this'].sessions} each"
        )
        requests = {
            side: _Requests(clinic, first_date=today + timedelta(days=1), seed=args.seed)
            for side, clinic in clinics.items()
        }
        with (
            uvicorn_server("api.main:app", server_env(url), log_dir=Path(tmp)) as this_url,
            uvicorn_server("api.main:app", server_env(before_url), log_dir=Path(tmp), root=before) as before_url_,
        ):
            bases = {"this": this_url, "before": before_url_}
            for side in bases:
                _book(bases[side], clinics[side].api_key, requests[side].take(WARMUP), deadline=time.monotonic() + 30)
            turns: dict[str, list[Round]] = {"this": [], "before": []}
            for turn in range(args.turns):
                batch = {side: requests[side].take(args.courses) for side in bases}
                order = ("this", "before") if turn % 2 == 0 else ("before", "this")
                for side in order:
                    turns[side].append(
                        _sequential_round(bases[side], clinics[side].api_key, batch[side], args.max_seconds)
                    )
                    _print_round(f"turn {turn + 1} {side:>6}", turns[side][-1])
    rates = {side: statistics.median(r.courses_per_second for r in rounds) for side, rounds in turns.items()}
    cpu = {side: _cpu_per_answer(rounds) for side, rounds in turns.items()}
    latency = {side: statistics.median(x for r in rounds for x in r.latencies) for side, rounds in turns.items()}
    ratios = [t.courses_per_second / b.courses_per_second for t, b in zip(turns["this"], turns["before"], strict=True)]
    for side in turns:
        print(
            f"{side:>6}: median {rates[side]:.1f} courses/s, latency median {latency[side] * 1000:.2f} ms, "
            f"server CPU per answer {_ms(cpu[side])}"
        )
    print(
        f"this / before, turn by turn: median {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}-{max(ratios):.3f}); latency {latency['this'] / latency['before']:.3f}"
    )
    if cpu["this"] is not None and cpu["before"] is not None:
        print(f"server CPU per answer, this / before: {cpu['this'] / cpu['before']:.3f}")
    unexpected = sum(
        n for rounds in turns.values() for r in rounds for status, n in r.statuses.items() if status not in (201, 409)
    )
    return 1 if unexpected else 0


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
    cpu = server_cpu_seconds(base_url)
    with StealMeter() as steal:
        started = time.perf_counter()
        result = _book(base_url, key, requests, deadline=time.monotonic() + max_seconds)
        result.seconds = time.perf_counter() - started
    after = server_cpu_seconds(base_url)
    result.steal = steal
    result.server_cpu = after - cpu if after is not None and cpu is not None else None
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


def _has_r35(url: str) -> bool:
    engine = create_engine(url)
    try:
        return any(c["name"] == "confirm_request_offset_minutes" for c in inspect(engine).get_columns("clinic"))
    finally:
        engine.dispose()


def _cpu_per_answer(rounds: list[Round]) -> float | None:
    """The server's CPU seconds per answer over these rounds (a 409 plans as much as a 201 before it fails)."""
    if any(r.server_cpu is None for r in rounds):
        return None
    return sum(r.server_cpu or 0.0 for r in rounds) / sum(r.statuses.total() for r in rounds)


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.2f} ms"


def _print_round(label: str, result: Round) -> None:
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(result.statuses.items()))
    sizes = ", ".join(f"{n}×{size}" for size, n in sorted(result.session_counts.items()))
    print(
        f"  {label}: {result.courses_per_second:6.1f} courses/s   "
        f"latency median {statistics.median(result.latencies) * 1000:6.1f} ms, "
        f"p90 {percentile(result.latencies, 0.9) * 1000:6.1f} ms   "
        f"answers {{{statuses}}} in {result.seconds:.1f} s   sessions per course: {sizes}   "
        f"server CPU {_ms(_cpu_per_answer([result]))} per answer   "
        f"CPU {result.steal.text()}"
    )


if __name__ == "__main__":
    sys.exit(main())
