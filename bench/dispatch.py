"""Benchmark the reminder dispatcher (R20, R21): due reminders per second, and that none goes out twice.

Run from the repository root: ``.venv/bin/python bench/dispatch.py`` (SQLite in a temp
file, one dispatcher), or add ``--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test``
to run on that server in a database of its own (`prolo_bench_dispatch`, dropped and made
again; never the one named in the URL), with 1 and then 4 dispatchers at once.

The database is migrated and given a minimal clinic (a few patients, courses and
sessions for the foreign keys). Each round then bulk-inserts N due reminders (due
within the last 11 h, so inside the 12 h lateness; expiring tomorrow) and starts the
dispatchers as separate processes, each one pass of `api.services.dispatch.dispatch`
(`prolo reminders dispatch` caps --limit at 5 000, so the bench calls the function
itself). They start up, connect and wait; the clock starts when they are all told to
go and stops when the last one is done: reminders/s = N / that time. Process start-up
is shown apart, as "with start-up".

Two channels:
- `outbox` (N = 10 000): nothing leaves the database, so this measures the dispatcher
  itself. Duplicates: claims beyond one per reminder (the passes' `claimed` summed
  against N, and `attempts` > 1 in the table); lost: rows not `ready`.
- `sms` (N = 2 000) against a local signed webhook (tests/system/receivers.py):
  duplicates are idempotency keys the receiver accepted more than once; lost: keys it
  never got, or rows not `sent`.
Three rounds each, the table emptied and filled again before every round; the median
counts. Target: >= 5 000 outbox reminders/s on PostgreSQL with 4 dispatchers, 0 duplicates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from _support import ROOT, bench_database, fill_clinic, measured_day, stop_on_sigterm
from sqlalchemy import Engine, delete, func, insert, select, text
from sqlmodel import col

from api.notify import channels_from
from api.services.dispatch import ACTION, dispatch
from api.settings import Settings
from api.store import actors
from api.store.db import make_engine
from api.store.unit_of_work import steps
from models import Reminder
from models import Session as SessionRow

TARGET = 5_000.0
BENCH_DATABASE = "prolo_bench_dispatch"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
SMS_SECRET = "bench-webhook-secret"
WORKER_SECONDS = 300  # a round that takes longer than this is stuck, not slow
FINAL = {"outbox": "ready", "sms": "sent"}


def main() -> int:
    args = _arguments()
    if args.worker:
        return _worker(args)
    stop_on_sigterm()
    postgres = args.database_url is not None
    counts = args.dispatchers or ([1, 4] if postgres else [1])
    results: list[Result] = []
    with bench_database(args.database_url, BENCH_DATABASE) as url:
        sessions = _fill_clinic(url)
        print(f"database: {url.split('@')[-1]}  {args.rounds} rounds each, median counts")
        for channel, n in (("outbox", args.reminders), ("sms", args.sms_reminders)):
            if n < 1:
                continue
            for dispatchers in counts:
                rounds = [_round(url, sessions, channel, n, dispatchers) for _ in range(args.rounds)]
                results.append(_report(channel, n, dispatchers, rounds))
    return _verdict(results, postgres)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server on 127.0.0.1 (default: a temp SQLite file)")
    parser.add_argument("--reminders", type=int, default=10_000, help="outbox reminders per round")
    parser.add_argument("--sms-reminders", type=int, default=2_000, help="SMS reminders per round (0: none)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--dispatchers", type=int, action="append", help="dispatchers at once (repeatable; default 1, and 4 on PG)"
    )
    # the dispatcher processes run this same script
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sms-url", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the database ------------------------------------------------------------------------------------


def _fill_clinic(url: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Migrate and add a small clinic; (session id, patient id) of its sessions, for the reminders' keys."""
    now = datetime.now(UTC)
    fill_clinic(url, now=now, day=measured_day(now), sessions=60, patients=20)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(col(SessionRow.id), col(SessionRow.patient_id)))
            return [(row.id, row.patient_id) for row in rows]
    finally:
        engine.dispose()


def _refill(engine: Engine, sessions: list[tuple[uuid.UUID, uuid.UUID]], channel: str, n: int) -> None:
    """Empty the reminder table and insert `n` due reminders on `channel`, oldest first by due time."""
    now = datetime.now(UTC)
    first_due, spread = now - timedelta(hours=11), timedelta(hours=10)
    table = Reminder.__table__  # type: ignore[attr-defined]
    rows = []
    for i in range(n):
        session_id, patient_id = sessions[i % len(sessions)]
        rows.append(
            {
                "id": uuid.uuid4(),
                "kind": "follow_up" if channel == "outbox" else "appointment",
                "audience": "clinic" if channel == "outbox" else "patient",
                "channel": channel,
                "due_at": first_due + spread * i / n,
                "expires_at": now + timedelta(days=1),
                "status": "pending",
                "attempts": 0,
                "idempotency_key": f"bench-{uuid.uuid4().hex}",
                "patient_id": patient_id,
                "session_id": session_id,
                "rule_code": "",
                "offset_minutes": i,  # one pending reminder per (session, kind, rule, offset): R19's index
                "to_address": f"+4930{5550000 + i % 10_000}" if channel == "sms" else None,
                "body": "Your prolotherapy session is tomorrow at 09:00. Reply STOP to opt out.",
                "created_at": now - timedelta(days=2),
            }
        )
    with engine.begin() as conn:
        conn.execute(delete(table))
        conn.execute(insert(table), rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE reminder"))  # what autovacuum does to a table refilled this much


def _outcome(engine: Engine, channel: str) -> tuple[int, int, int]:
    """(rows in the final state, rows claimed more than once, extra claims in all) after a round."""
    attempts = col(Reminder.attempts)
    with engine.connect() as conn:
        final, twice, extra = conn.execute(
            select(
                func.count().filter(col(Reminder.status) == FINAL[channel]),
                func.count().filter(attempts > 1),
                func.coalesce(func.sum(attempts - 1).filter(attempts > 1), 0),
            )
        ).one()
    return int(final), int(twice), int(extra)


# --- a round -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    n: int
    seconds: float  # from the first dispatcher's start to the last one's end
    with_startup: float  # from starting the first process
    summaries: list[dict[str, int]]
    final: int  # rows ready (outbox) or sent (sms)
    claimed_twice: int  # rows with attempts > 1
    duplicates: int  # extra claims (outbox) or extra accepted deliveries at the receiver (sms)
    received: int | None  # distinct idempotency keys the receiver accepted (sms)

    @property
    def rate(self) -> float:
        return self.n / self.seconds

    @property
    def lost(self) -> int:
        return self.n - min(self.final, self.received if self.received is not None else self.n)


def _round(url: str, sessions: list[tuple[uuid.UUID, uuid.UUID]], channel: str, n: int, dispatchers: int) -> Round:
    engine = make_engine(url)
    try:
        _refill(engine, sessions, channel, n)
        if channel == "sms":
            from tests.system.receivers import webhook_receiver  # the tests' receiver: checks signatures too

            with webhook_receiver(SMS_SECRET) as hook:
                seconds, with_startup, summaries = _run_dispatchers(url, n, dispatchers, sms_url=hook.url)
                with hook.lock:
                    accepted = {key: len(payloads) for key, payloads in hook.deliveries.items()}
                    unsigned = sum(not r.signature_ok for r in hook.requests)
            if unsigned:
                raise RuntimeError(f"{unsigned} webhook requests failed the signature check")
            extra, received = sum(accepted.values()) - len(accepted), len(accepted)
        else:
            seconds, with_startup, summaries = _run_dispatchers(url, n, dispatchers, sms_url=None)
            extra, received = 0, None
        final, twice, extra_claims = _outcome(engine, channel)
    finally:
        engine.dispose()
    claimed = sum(s["claimed"] for s in summaries)
    duplicates = max(extra, extra_claims, claimed - n)
    return Round(n, seconds, with_startup, summaries, final, twice, duplicates, received)


def _run_dispatchers(url: str, n: int, count: int, *, sms_url: str | None) -> tuple[float, float, list[dict[str, int]]]:
    """Start `count` dispatcher processes, let them all go at once; (seconds, seconds with start-up, summaries)."""
    command = [sys.executable, str(ROOT / "bench" / "dispatch.py"), "--worker", "--url", url, "--limit", str(2 * n)]
    if sms_url:
        command += ["--sms-url", sms_url]
    env = {name: value for name, value in os.environ.items() if not name.startswith("PROLO_")}
    env["PYTHONPATH"] = str(ROOT)
    launched = time.monotonic()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            processes.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            )
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != b"ready":
                _, err = process.communicate(timeout=WORKER_SECONDS)
                raise RuntimeError(f"a dispatcher did not start:\n{err.decode()[-3000:]}")
        for process in processes:  # go: each one is already connected and waits on this line
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, err = process.communicate(timeout=WORKER_SECONDS)
            if process.returncode != 0:
                raise RuntimeError(f"a dispatcher exited with {process.returncode}:\n{err.decode()[-3000:]}")
            reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:  # only on an error above: ours, stopped by its handle
                process.kill()
                process.wait()
    # CLOCK_MONOTONIC is one clock for every process on the machine, so the workers' stamps compare
    started, ended = min(r["started"] for r in reports), max(r["ended"] for r in reports)
    return ended - started, ended - launched, [r["summary"] for r in reports]


def _worker(args: argparse.Namespace) -> int:
    """One dispatcher: connect, say `ready`, wait for `go`, run one pass, print its summary and timestamps."""
    settings = Settings(database_url=args.url, sms_webhook_url=args.sms_url, sms_webhook_secret=SMS_SECRET)
    engine = make_engine(args.url)
    channels = channels_from(settings)
    with engine.connect() as conn:  # the connection is made (and pooled) before the clock starts
        conn.execute(text("SELECT 1"))
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    summary = dispatch(
        steps=steps(engine, actor=actors.COMMAND_LINE, action=ACTION),
        channels=channels,
        clock=lambda: datetime.now(UTC),
        limit=args.limit,
    )
    ended = time.monotonic()
    engine.dispose()
    print(json.dumps({"started": started, "ended": ended, "summary": summary.model_dump()}), flush=True)
    return 0


# --- the report --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    channel: str
    dispatchers: int
    median_rate: float
    duplicates: int
    lost: int


def _report(channel: str, n: int, dispatchers: int, rounds: list[Round]) -> Result:
    print(f"{channel}, N = {n}, {dispatchers} dispatcher{'s' if dispatchers > 1 else ''}:")
    for number, r in enumerate(rounds, start=1):
        claimed = [s["claimed"] for s in r.summaries]
        received = f", receiver got {r.received} keys" if r.received is not None else ""
        print(
            f"  round {number}: {r.rate:7.0f} reminders/s  ({r.seconds:.2f} s; with start-up "
            f"{r.n / r.with_startup:5.0f}/s)  claimed {'+'.join(map(str, claimed))} = {sum(claimed)}  "
            f"{FINAL[channel]} {r.final}{received}  attempts>1: {r.claimed_twice}  "
            f"duplicates {r.duplicates}  lost {r.lost}"
        )
    result = Result(
        channel,
        dispatchers,
        statistics.median(r.rate for r in rounds),
        sum(r.duplicates for r in rounds),
        sum(r.lost for r in rounds),
    )
    print(f"  median: {result.median_rate:.0f} reminders/s, duplicates {result.duplicates}, lost {result.lost}")
    return result


def _verdict(results: list[Result], postgres: bool) -> int:
    wrong = [r for r in results if r.duplicates or r.lost]
    for r in wrong:
        print(f"FAIL: {r.channel} with {r.dispatchers} dispatchers: {r.duplicates} duplicates, {r.lost} lost")
    if postgres:
        for r in results:
            if r.channel == "outbox" and r.dispatchers == 4:
                print(f"outbox, 4 dispatchers: {r.median_rate:.0f} reminders/s (target >= {TARGET:.0f})")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
