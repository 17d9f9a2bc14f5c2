"""Benchmark the day view, GET /v1/sessions?date=D, under load, against a bare FastAPI floor.

Run from the repository root: ``.venv/bin/python bench/day_view.py`` (SQLite in a temp
file), or add ``--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test`` to run
on that server in a database of its own (`prolo_bench`, dropped and made again).

The database is filled with ~3 years of courses (50 000 sessions on 12 practitioners), and
the measured day D is full: 144 sessions, every practitioner's twelve 45-minute places (the
fill tops it up with courses through D, the same ones on every run). The measured request
is the whole day in one answer, ``GET /v1/sessions?date=D&limit=500`` (the API's largest
page); the script prints its size and stops unless it holds all of D's sessions. Two
uvicorn servers run with the same flags: the real app, and bench/bare_app.py answering the
real endpoint's very bytes from memory. wrk (one thread, 16 connections) loads them in
turns (real, bare, real, bare, …) so drift on the machine hits both alike. ``--before
DIR`` adds a third server, the real app from another checkout (``git worktree add
/tmp/before <commit>``), on the same database, in the same turns (real, before, bare): it
needs only that checkout's ``api.main:app`` to be importable with this script's Python.

Four phases: with the database unchanged (the day view's answer cache hits), and with
writes going on through the real server (paced clients), measuring each server while they
run. "patients registered": about 20 a second; a registration touches no session, so an
answer cache that forgets only what a write touched keeps the day's answer (code before
issue 23 forgot every answer at each write). "writes elsewhere": about 20 a second that
move sessions on the days after D (each to a free place of its practitioner that day and
back, without reflow), so the day's answer must stay in memory. "writes on the day": about
1.5 a second that move sessions of D to the next weekday and back, so the day's answer is
computed again after each (D holds 143 or 144 sessions meanwhile). The sessions moved are
tried once (there and back) before the phases; every write must succeed, and a run with a
failed write is not valid. How often the real server computed the answer again is not seen
from outside the process (tests/api/test_day_view_cache.py counts it in the process).
Prints each round's req/s, p50 and p99, the medians and real/bare per phase.
Targets (real/bare): SQLite ≥ 0.50 cached, ≥ 0.40 under writes; PostgreSQL ≥ 0.30 and ≥ 0.25.
Needs wrk (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from _support import (
    POSITIONS,
    SESSION,
    UVICORN_FLAGS,
    ZONE,
    bench_database,
    fill_clinic,
    measured_day,
    server_env,
    stop_on_sigterm,
    uvicorn_server,
)

WARMUP_SECONDS = 2
LARGEST_PAGE = 500  # the list routes' `limit` maximum (api/web/routes/common.py)


@dataclass(frozen=True)
class WrkRun:
    requests_per_second: float
    p50_latency: str
    p99_latency: str  # the tail a front desk notices now and then
    bad_answers: int  # non-2xx answers and socket errors: a run with any is not a valid figure
    bad_kinds: str  # which, as wrk counted them: "non-2xx 3, timeout 1"


def main() -> int:
    args = _arguments()
    stop_on_sigterm()
    if shutil.which("wrk") is None:
        print("wrk is not installed, so nothing was measured: apt-get install -y wrk", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="prolo-day-view-") as tmp, bench_database(args.database_url) as url:
        clinic = fill_clinic(
            url,
            now=now,
            day=measured_day(now),
            sessions=args.sessions,
            day_sessions=args.day_sessions,
            practitioners=args.practitioners,
            full_day=True,
        )
        print(
            f"database: {url.split('@')[-1]}  sessions: {clinic.sessions}  "
            f"on {clinic.day}: {clinic.day_sessions} sessions, {args.practitioners} practitioners"
        )
        headers = {"X-API-Key": clinic.api_key}
        # the whole day in one answer: the API's largest page (the day holds fewer sessions)
        path = f"/v1/sessions?date={clinic.day.isoformat()}&limit={LARGEST_PAGE}"
        env = server_env(url)
        with uvicorn_server("api.main:app", env, log_dir=Path(tmp)) as real:
            answer = _fetch(real + path, headers)
            body_file = Path(tmp) / "day.json"
            body_file.write_bytes(answer.content)
            with uvicorn_server(
                "bench.bare_app:app", {**env, "PROLO_BENCH_BODY_FILE": str(body_file)}, log_dir=Path(tmp)
            ) as bare:
                floor = _fetch(bare + path, headers)
                same = (floor.content, floor.headers["content-type"]) == (
                    answer.content,
                    answer.headers["content-type"],
                )
                listed = answer.json()
                whole = len(listed["items"]) == listed["total"] == clinic.day_sessions
                print(
                    f"response: GET {path}: {len(answer.content)} bytes ({len(answer.content) / 1000:.1f} KB), "
                    f"{len(listed['items'])} of {listed['total']} sessions, {answer.headers['content-type']}; "
                    f"the whole day: {'yes' if whole else 'NO'}; "
                    f"real and bare bodies identical: {'yes' if same else 'NO'}"
                )
                print(f"every server: uvicorn {' '.join(UVICORN_FLAGS)}")
                if not (same and whole):
                    return 1
                if args.before is None:
                    return _compare({"real": real + path, "bare": bare + path}, headers, clinic.day, args)
                with uvicorn_server("api.main:app", env, log_dir=Path(tmp), root=Path(args.before)) as before:
                    before_answer = _fetch(before + path, headers)
                    same_before = before_answer.content == answer.content
                    print(f"before ({args.before}): same body: {'yes' if same_before else 'NO'}")
                    return _compare(
                        {"real": real + path, "before": before + path, "bare": bare + path}, headers, clinic.day, args
                    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server on 127.0.0.1 (default: a temp SQLite file)")
    parser.add_argument("--rounds", type=int, default=5, help="pairs of runs (real, bare)")
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (one wrk thread)")
    parser.add_argument("--sessions", type=int, default=50_000, help="sessions in the filled database")
    parser.add_argument("--writes", type=float, default=20.0, help="writes per second: registrations, moves elsewhere")
    parser.add_argument("--day-writes", type=float, default=1.5, help="writes per second on the measured day")
    parser.add_argument("--practitioners", type=int, default=12, help="practitioners in the filled clinic (at most 12)")
    parser.add_argument(
        "--day-sessions", type=int, default=144, help="sessions on the measured day (at most 12 per practitioner)"
    )
    parser.add_argument("--before", help="another checkout of Prolo: its real app is measured in the same turns")
    return parser.parse_args()


def _fetch(url: str, headers: dict[str, str]) -> httpx.Response:
    response = httpx.get(url, headers=headers, timeout=30)
    response.raise_for_status()
    return response


def _compare(urls: dict[str, str], headers: dict[str, str], day: date, args: argparse.Namespace) -> int:
    """Alternate wrk runs on the servers, without writes and then with each kind; print rounds, medians, ratios.

    Writes go to the real server (the same database for every server): each measured server runs while they do.
    """
    base_url = urls["real"].split("/v1/", 1)[0]
    elsewhere, on_day = _chosen_moves(base_url, headers, day, args)
    if elsewhere is None or on_day is None:
        return 1
    for url in urls.values():  # warm every server: imports, caches, connection pools
        _wrk(url, headers, seconds=WARMUP_SECONDS, connections=args.connections)
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds per phase")
    print("answers computed again by the real server: not seen from outside its process")
    phases: tuple[tuple[str, float, Writes | None], ...] = (
        ("unchanged database (answer cache hits)", 0.0, None),
        (f"~{args.writes:g} writes/s, patients registered", args.writes, Registrations()),
        (f"~{args.writes:g} writes/s elsewhere, sessions moved on other days", args.writes, Moves(elsewhere, WRITERS)),
        (
            f"~{args.day_writes:g} writes/s on the day, its sessions moved away and back",
            args.day_writes,
            Moves(on_day, 1),
        ),
    )
    invalid: set[str] = set()
    for phase, per_second, writes in phases:
        print(f"phase: {phase}")
        rates: dict[str, list[float]] = {name: [] for name in urls}
        for number in range(1, args.rounds + 1):
            line = f"  round {number}:"
            for name, url in urls.items():
                measured_writes = writes if name != "bare" else None
                with _writing(base_url, headers, per_second=per_second, writes=measured_writes) as written:
                    run = _wrk(url, headers, seconds=args.seconds, connections=args.connections)
                rates[name].append(run.requests_per_second)
                bad = run.bad_answers + written.failed
                if bad:
                    invalid.add(name)
                wrote = f", writes {written.done / args.seconds:4.1f}/s" if measured_writes else ""
                latency = f"p50 {run.p50_latency}, p99 {run.p99_latency}"
                line += f"  {name} {run.requests_per_second:7.1f} req/s ({latency}{wrote})"
                line += f" BAD ({run.bad_kinds or 'no answer lost'}; failed writes {written.failed})" if bad else ""
            print(line)
        medians = {name: statistics.median(found) for name, found in rates.items()}
        print("  median: " + ", ".join(f"{name} {median:.1f} req/s" for name, median in medians.items()))
        for name in urls:
            if name != "bare":
                print(f"  ratio {name}/bare: {medians[name] / medians['bare']:.3f}")
    if invalid:
        names = ", ".join(name for name in urls if name in invalid)
        print(f"not valid, the figures of {names} (non-2xx answers, socket errors, wrk's 2 s timeouts, failed writes)")
        return 1
    return 0


@dataclass
class Written:
    done: int = 0
    failed: int = 0


WRITERS = 8  # clients writing at once: a write queued behind wrk's polls must not slow the pace
MOVES_ELSEWHERE = 32  # sessions the "elsewhere" writers move, four per writer
MOVES_ON_DAY = 4
LATER_DAYS = 10  # weekdays after the measured day where the "elsewhere" sessions are


class Writes:
    """What one phase's paced writers send: `write` is writer `number`'s `sent`-th write; True if it succeeded."""

    writers = WRITERS

    def write(self, client: httpx.Client, number: int, sent: int) -> bool:
        raise NotImplementedError

    def finish(self, client: httpx.Client, number: int, sent: int) -> bool:
        """After writer `number`'s last write: put back what it left halfway."""
        return True


class Registrations(Writes):
    """Patients registered: no session is touched, so no day's answer needs computing again."""

    def write(self, client: httpx.Client, number: int, sent: int) -> bool:
        body = {
            "mrn": f"BENCH-{number}-{time.monotonic_ns()}",
            "given_name": "Bench",
            "family_name": "Writer",
            "date_of_birth": "1970-01-01",
        }
        return client.post("/v1/patients", json=body).status_code == 201


@dataclass(frozen=True)
class Move:
    """A session the bench moves away and back home, without reflow (no other session follows it)."""

    session_id: str
    home: str  # its start, clinic-local with the offset, as the API gives it
    away: str


class Moves(Writes):
    """Sessions moved away and back, each writer its own share of `moves`, one move after the other."""

    def __init__(self, moves: list[Move], writers: int) -> None:
        self.moves, self.writers = moves, writers

    def write(self, client: httpx.Client, number: int, sent: int) -> bool:
        mine = self.moves[number :: self.writers]
        move = mine[sent // 2 % len(mine)]
        return _move(client, move.session_id, move.away if sent % 2 == 0 else move.home)

    def finish(self, client: httpx.Client, number: int, sent: int) -> bool:
        return self.write(client, number, sent) if sent % 2 else True  # the last one went away: home again


def _move(client: httpx.Client, session_id: str, start: str) -> bool:
    body = {"start": start, "reflow": False}
    return client.post(f"/v1/sessions/{session_id}/reschedule", json=body).status_code == 200


def _chosen_moves(
    base_url: str, headers: dict[str, str], day: date, args: argparse.Namespace
) -> tuple[list[Move] | None, list[Move] | None]:
    """Sessions the write phases move, each tried once there and back: on the weekdays after the measured day,
    to a free place of its practitioner that day; and of the measured day itself, to the next weekday."""
    later = [day + timedelta(days=n) for n in range(1, 3 * LATER_DAYS) if (day + timedelta(days=n)).weekday() < 5]
    later = later[:LATER_DAYS]
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        booked = {on: _booked(client, on) for on in (day, *later)}
        elsewhere = [
            Move(session["id"], session["start_local"], free)
            for on in later
            for session, free in _with_free_places(booked[on], _places(on))
        ]
        elsewhere = _tried(client, elsewhere, MOVES_ELSEWHERE)
        next_day = later[0]
        taken = {(s["practitioner_id"], s["start_local"][11:16]) for s in booked[next_day]}
        soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        on_day = [
            Move(s["id"], s["start_local"], next_day.isoformat() + s["start_local"][10:])
            for s in booked[day]
            if (s["practitioner_id"], s["start_local"][11:16]) not in taken and s["start"] > soon
        ]
        on_day = _tried(client, on_day, MOVES_ON_DAY)
    print(
        f"moved in the write phases: {len(elsewhere)} sessions on the {len(later)} weekdays after {day} "
        f"(each to a free place that day), {len(on_day)} of {day} (to {next_day} and back)"
    )
    if len(elsewhere) < WRITERS or not on_day:
        print("not enough sessions that could move there and back", file=sys.stderr)
        return None, None
    return elsewhere, on_day


def _booked(client: httpx.Client, on: date) -> list[dict[str, Any]]:
    """The sessions holding a place on `on` (every status but cancelled), whole day."""
    answer = client.get("/v1/sessions", params={"date": on.isoformat(), "limit": LARGEST_PAGE})
    answer.raise_for_status()
    return [s for s in answer.json()["items"] if s["status"] != "cancelled"]


def _places(on: date) -> list[str]:
    """The day's places as the API writes a start: clinic-local with the offset."""
    first = datetime.combine(on, clock_time(8), ZONE)
    return [(first + k * SESSION).isoformat() for k in range(POSITIONS)]


def _with_free_places(booked: list[dict[str, Any]], places: list[str]) -> Iterator[tuple[dict[str, Any], str]]:
    """One scheduled session per practitioner with a free place that day, and that place."""
    by_practitioner: dict[str, list[dict[str, Any]]] = {}
    for session in booked:
        by_practitioner.setdefault(session["practitioner_id"], []).append(session)
    for sessions in by_practitioner.values():
        taken = {s["start_local"] for s in sessions}
        free = [place for place in places if place not in taken]
        movable = [s for s in sessions if s["status"] == "scheduled"]
        for session, place in zip(movable, free, strict=False):
            yield session, place


def _tried(client: httpx.Client, moves: list[Move], wanted: int) -> list[Move]:
    """Up to `wanted` of `moves` that went away and back home once, each returned home."""
    kept: list[Move] = []
    for move in moves:
        if len(kept) == wanted:
            break
        if _move(client, move.session_id, move.away) and _move(client, move.session_id, move.home):
            kept.append(move)
    return kept


@contextmanager
def _writing(base_url: str, headers: dict[str, str], *, per_second: float, writes: Writes | None) -> Iterator[Written]:
    """Send `writes` at a steady pace from its writers' threads while the block runs (nothing when None)."""
    written = Written()
    stop = threading.Event()
    lock = threading.Lock()

    def count(ok: bool) -> None:
        with lock:
            written.done += ok
            written.failed += not ok

    def write(number: int, writes: Writes) -> None:
        pace = per_second / writes.writers
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            started, sent = time.monotonic() + number / per_second, 0
            while not stop.wait(max(0.0, started + sent / pace - time.monotonic())):
                count(_succeeded(writes.write, client, number, sent))
                sent += 1  # paced on the clock, not on the answers: a slow answer is not followed by a burst
            if not _succeeded(writes.finish, client, number, sent):
                count(False)

    threads = [
        threading.Thread(target=write, args=(n, writes), daemon=True)
        for n in range(writes.writers if writes and per_second else 0)
    ]
    for thread in threads:
        thread.start()
    try:
        yield written
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _succeeded(write: Callable[[httpx.Client, int, int], bool], client: httpx.Client, number: int, sent: int) -> bool:
    try:
        return write(client, number, sent)
    except httpx.HTTPError:  # a timeout or a dropped connection is a failed write too
        return False


def _wrk(url: str, headers: dict[str, str], *, seconds: int, connections: int) -> WrkRun:
    header_flags = [flag for name, value in headers.items() for flag in ("-H", f"{name}: {value}")]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header_flags, url]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 30).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    p50, p99 = (re.search(rf"^\s+{n}%\s+(\S+)", output, re.MULTILINE) for n in (50, 99))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counts = {"non-2xx": int(non_2xx.group(1)) if non_2xx else 0}
    if errors:
        counts.update(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True))
    kinds = ", ".join(f"{kind} {n}" for kind, n in counts.items() if n)
    median, tail = (found.group(1) if found else "?" for found in (p50, p99))
    return WrkRun(float(rate.group(1)), median, tail, sum(counts.values()), kinds)


if __name__ == "__main__":
    sys.exit(main())
