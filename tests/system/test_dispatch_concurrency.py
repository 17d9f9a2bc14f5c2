"""Reminders that never go missing and never go twice (R20, R21), with real `prolo reminders dispatch` processes.

Each test fills the database with due reminders directly (tests/system/reminder_rows.py),
starts a real SMS webhook on 127.0.0.1 (tests/system/receivers.py: it checks every
signature and records each accepted delivery by its Idempotency-Key) and runs the
dispatcher the way cron does: the installed `prolo` script, settings from PROLO_*
variables, one pass, one summary line. The dispatchers run on the real clock, so the
rows are placed around the real now.

- Several dispatchers at once deliver every reminder exactly once. They are released
  together: the test holds the reminder table's write lock until every process waits
  on it, so their claims really race.
- A dispatcher SIGKILLed mid-batch loses nothing: once its lease ran out the next one
  sends the rest; only the message in flight at the kill may arrive twice, under the
  same key.
- After an outage, reminders more than 12 h overdue (or whose moment passed) expire and
  are never sent; the merely late are still sent.

The processes import the code of this checkout (PYTHONPATH), whichever tree the
virtualenv's editable install points at.
"""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from api.store.db import write_session
from tests.conftest import Database
from tests.system.conftest import REPO, clean_env
from tests.system.receivers import Reply, WebhookReceiver, smtp_receiver, webhook_receiver
from tests.system.reminder_rows import EMAIL, PHONE, insert_reminders, make_owner, reminder_rows, rows_by_key

pytestmark = pytest.mark.system

SECRET = "dispatch-test-webhook-secret"
SUMMARY = re.compile(
    r"^claimed=(\d+) sent=(\d+) retried=(\d+) failed=(\d+) expired=(\d+) ready=(\d+)"
    r" openings_settled=(\d+) offers_made=(\d+) openings_lapsed=(\d+)$"
)
FIELDS = (
    "claimed",
    "sent",
    "retried",
    "failed",
    "expired",
    "ready",
    "openings_settled",
    "offers_made",
    "openings_lapsed",
)
LIMIT = 5000  # the CLI's maximum: one pass may take everything
RUN_TIMEOUT_SECONDS = 45.0
GATE_TIMEOUT_SECONDS = 20.0  # under SQLite's 30 s busy timeout, so a waiting dispatcher never gives up first
SQLITE_DISPATCHERS, POSTGRES_DISPATCHERS = 2, 4
RACE_REMINDERS = 2000


def utcnow() -> datetime:
    return datetime.now(UTC)


def prolo_executable() -> str:
    beside = Path(sys.executable).with_name("prolo")
    assert beside.exists(), f"the `prolo` script is not installed next to {sys.executable}"
    return str(beside)


def dispatcher_env(database: Database, hook: WebhookReceiver, **extra: str) -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return clean_env(
        PROLO_DATABASE_URL=database.url,
        PROLO_SMS_WEBHOOK_URL=hook.url,
        PROLO_SMS_WEBHOOK_SECRET=SECRET,
        PYTHONPATH=python_path,
        NO_PROXY="127.0.0.1",  # urllib honours proxy variables; the receiver is local
        no_proxy="127.0.0.1",
        **extra,
    )


@dataclass
class Dispatcher:
    """One `prolo reminders dispatch` process and its captured output."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    def output(self) -> str:
        out = self.stdout_path.read_text(encoding="utf-8", errors="replace")
        err = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        head = f"--- pid {self.process.pid} exit {self.process.returncode}"
        return f"{head}\n--- stdout\n{out}\n--- stderr\n{err[-4000:]}"

    def wait(self, deadline: float) -> None:
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"dispatcher still running after {RUN_TIMEOUT_SECONDS}s\n{self.output()}")
        assert self.process.returncode == 0, self.output()

    def summary(self) -> dict[str, int]:
        """The one summary line the pass printed, as numbers."""
        lines = self.stdout_path.read_text(encoding="utf-8").splitlines()
        matches = [m for m in map(SUMMARY.match, (line.strip() for line in lines)) if m]
        assert len(matches) == 1, f"expected one summary line\n{self.output()}"
        return dict(zip(FIELDS, map(int, matches[0].groups()), strict=True))


@contextmanager
def dispatchers(count: int, env: Mapping[str, str], logs: Path) -> Iterator[list[Dispatcher]]:
    """Start `count` dispatch passes at once; any still running when the block ends is killed and reaped."""
    logs.mkdir(parents=True, exist_ok=True)
    started: list[Dispatcher] = []
    try:
        for _ in range(count):
            n = len(list(logs.iterdir()))
            stdout_path, stderr_path = logs / f"dispatch-{n}.out", logs / f"dispatch-{n}.err"
            with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
                process = subprocess.Popen(
                    [prolo_executable(), "reminders", "dispatch", "--limit", str(LIMIT)],
                    cwd=logs,  # no stray .env or prolo.db from the repository's directory
                    env=dict(env),
                    stdout=out,
                    stderr=err,
                )
            started.append(Dispatcher(process, stdout_path, stderr_path))
        yield started
    finally:
        for dispatcher in started:
            if dispatcher.process.poll() is None:
                dispatcher.process.kill()
            dispatcher.process.wait()


def run_dispatcher(env: Mapping[str, str], logs: Path) -> dict[str, int]:
    with dispatchers(1, env, logs) as [dispatcher]:
        dispatcher.wait(time.monotonic() + RUN_TIMEOUT_SECONDS)
        return dispatcher.summary()


# --- releasing several dispatchers at once -----------------------------------------------------------


def _waiting_postgres(engine: Engine) -> int:
    with engine.connect() as conn:
        query = "SELECT count(DISTINCT pid) FROM pg_locks WHERE relation = 'reminder'::regclass AND NOT granted"
        return int(conn.execute(text(query)).scalar_one())


def _waiting_sqlite(database_file: Path, processes: Sequence[subprocess.Popen[bytes]]) -> int:
    """Processes that opened the database file: each then queues on BEGIN IMMEDIATE (its busy timeout waits)."""

    def has_open(pid: int) -> bool:
        try:
            with os.scandir(f"/proc/{pid}/fd") as fds:
                return any(os.path.realpath(fd.path) == str(database_file) for fd in fds)
        except OSError:  # the process is gone, or closed the descriptor while we looked
            return False

    return sum(has_open(p.pid) for p in processes)


@contextmanager
def claims_held(database: Database) -> Iterator[Callable[[], None]]:
    """Hold the reminder table's write lock; dispatchers started meanwhile queue up until `release()` is called."""
    engine = database.engine
    with write_session(engine) as db:  # on SQLite this is BEGIN IMMEDIATE: the one writer is now this test
        if engine.dialect.name == "postgresql":
            db.execute(text("LOCK TABLE reminder IN EXCLUSIVE MODE"))  # readers pass, every writer waits
        yield db.rollback


def release_when_all_wait(database: Database, started: Sequence[Dispatcher]) -> None:
    """Return once every dispatcher is queued on the lock `claims_held` holds (or fail, with their output)."""
    engine = database.engine
    processes = [d.process for d in started]
    sqlite_file = Path(engine.url.database or "").resolve()
    deadline = time.monotonic() + GATE_TIMEOUT_SECONDS
    waiting = 0
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            break
        if engine.dialect.name == "postgresql":
            waiting = _waiting_postgres(engine)
        elif Path("/proc/self/fd").is_dir():
            waiting = _waiting_sqlite(sqlite_file, processes)
        else:  # no /proc to look in: give the processes a generous moment to start
            time.sleep(5.0)
            return
        if waiting == len(processes):
            time.sleep(0.2)  # a SQLite process may have opened the file and not yet asked for the lock
            return
        time.sleep(0.05)
    outputs = "\n".join(d.output() for d in started)
    pytest.fail(f"only {waiting} of {len(processes)} dispatchers reached the database in time\n{outputs}")


# --- the tests ---------------------------------------------------------------------------------------


def test_r21_concurrent_dispatchers_deliver_every_reminder_exactly_once(clean_db: Database, tmp_path: Path) -> None:
    engine = clean_db.engine
    count = POSTGRES_DISPATCHERS if engine.dialect.name == "postgresql" else SQLITE_DISPATCHERS
    now = utcnow()
    owner = make_owner(engine, now)
    # due half an hour ago (late, not stale); the appointment is two days ahead
    rows = reminder_rows(owner, RACE_REMINDERS, due_at=now - timedelta(minutes=30), expires_at=now + timedelta(days=2))
    insert_reminders(engine, rows)
    keys = {row["idempotency_key"] for row in rows}

    with webhook_receiver(SECRET) as hook:
        env = dispatcher_env(clean_db, hook)
        with claims_held(clean_db) as release, dispatchers(count, env, tmp_path / "logs") as started:
            release_when_all_wait(clean_db, started)
            release()  # all of them at once
            deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
            for dispatcher in started:
                dispatcher.wait(deadline)
        summaries = [d.summary() for d in started]
        deliveries = {key: list(payloads) for key, payloads in hook.deliveries.items()}
        requests = list(hook.requests)

    twice = {key: len(payloads) for key, payloads in deliveries.items() if len(payloads) > 1}
    assert not twice, f"{len(twice)} reminders delivered more than once, e.g. {sorted(twice.items())[:5]}"
    missing = keys - deliveries.keys()
    assert not missing, f"{len(missing)} reminders never delivered, e.g. {sorted(missing)[:5]}"
    assert deliveries.keys() == keys
    assert len(requests) == RACE_REMINDERS and all(r.signature_ok and r.status == 200 for r in requests)
    for key, [payload] in deliveries.items():
        assert payload["idempotency_key"] == key and payload["to"] == PHONE

    assert sum(s["claimed"] for s in summaries) == RACE_REMINDERS, summaries
    assert sum(s["sent"] for s in summaries) == RACE_REMINDERS, summaries
    assert all(s["retried"] == s["failed"] == s["expired"] == s["ready"] == 0 for s in summaries), summaries
    assert all(s["claimed"] > 0 for s in summaries), f"not every dispatcher took part: {summaries}"

    state = rows_by_key(engine)
    assert {key: row.status for key, row in state.items()} == dict.fromkeys(keys, "sent")
    assert {row.attempts for row in state.values()} == {1}, "a reminder was claimed more than once"
    assert all(row.leased_by is None and row.sent_at is not None for row in state.values())


def test_r21_a_dispatcher_killed_mid_batch_loses_nothing(clean_db: Database, tmp_path: Path) -> None:
    engine = clean_db.engine
    # 0.2 s per message: killed after 15 (3 s) the pass has outlived its 2 s lease, so it must have renewed it
    total, lease, kill_after = 60, 2.0, 15
    now = utcnow()
    owner = make_owner(engine, now)
    rows = reminder_rows(owner, total, due_at=now - timedelta(minutes=10), expires_at=now + timedelta(days=2))
    insert_reminders(engine, rows)
    keys = {row["idempotency_key"] for row in rows}

    # a slow provider, so the pass is mid-batch (and renewing its lease) for seconds
    with webhook_receiver(SECRET, replies=(Reply(delay=0.2),) * total) as hook:
        env = dispatcher_env(clean_db, hook, PROLO_DISPATCH_LEASE_SECONDS=str(lease))
        with dispatchers(1, env, tmp_path / "first") as [first]:
            deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
            while len(hook.deliveries) < kill_after:
                assert first.process.poll() is None, f"it ended before it was killed\n{first.output()}"
                assert time.monotonic() < deadline, f"too few deliveries: {len(hook.deliveries)}\n{first.output()}"
                time.sleep(0.02)
            killed_at = utcnow()
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
        assert first.process.returncode == -signal.SIGKILL

        after_kill = rows_by_key(engine)
        sent_by_first = {key for key, row in after_kill.items() if row.status == "sent"}
        held = {key: row for key, row in after_kill.items() if row.status != "sent"}
        assert kill_after - 1 <= len(sent_by_first) < total
        assert {row.status for row in held.values()} == {"sending"}
        assert len({row.leased_by for row in held.values()}) == 1  # all under the dead dispatcher's one lease
        lease_until = max(row.lease_until for row in held.values() if row.lease_until is not None)
        assert all(row.lease_until is not None and row.lease_until > killed_at for row in held.values()), (
            "the lease had already run out when the dispatcher was killed: it was not renewed"
        )

        # the next pass comes once the dead dispatcher's lease has run out
        while utcnow() <= lease_until + timedelta(seconds=0.2):
            time.sleep(0.05)
        with hook.lock:
            hook.script.clear()  # the provider is quick again
            in_flight = set(hook.deliveries) - sent_by_first  # it got them, the dead one never recorded it
        assert sent_by_first <= set(hook.deliveries)
        assert len(in_flight) <= 1, f"a single-threaded dispatcher had more than one message in flight: {in_flight}"
        assert in_flight <= held.keys()

        second = run_dispatcher(env, tmp_path / "second")
        deliveries = {key: list(payloads) for key, payloads in hook.deliveries.items()}

    assert second == {**dict.fromkeys(FIELDS, 0), "claimed": len(held), "sent": len(held)}
    assert deliveries.keys() == keys, f"lost: {sorted(keys - deliveries.keys())}"
    twice = {key for key, payloads in deliveries.items() if len(payloads) > 1}
    assert twice == in_flight, f"delivered twice: {twice}; in flight at the kill: {in_flight}"
    for key, payloads in deliveries.items():
        assert len(payloads) <= 2
        assert all(p == payloads[0] for p in payloads), f"a retry of {key} was not the same message"
        assert payloads[0]["idempotency_key"] == key
    state = rows_by_key(engine)
    assert {key: row.status for key, row in state.items()} == dict.fromkeys(keys, "sent")
    assert {key for key, row in state.items() if row.attempts == 2} == held.keys()


def test_r20_after_an_outage_stale_reminders_expire_and_late_ones_still_go(clean_db: Database, tmp_path: Path) -> None:
    engine = clean_db.engine
    now = utcnow()
    owner = make_owner(engine, now)
    later = now + timedelta(days=2)

    def add(count: int, due_ago: timedelta, *, channel: str = "sms", expires_at: datetime = later) -> set[str]:
        rows = reminder_rows(owner, count, due_at=now - due_ago, expires_at=expires_at, channel=channel)
        insert_reminders(engine, rows)
        return {row["idempotency_key"] for row in rows}

    # the machine was off: its clock jumped forward a day past these
    stale = add(5, timedelta(hours=25)) | add(1, timedelta(hours=13)) | add(1, timedelta(hours=25), channel="email")
    passed = add(1, timedelta(hours=1), expires_at=now - timedelta(minutes=1))  # the appointment already began
    late_sms = add(1, timedelta(hours=11)) | add(1, timedelta(hours=1)) | add(1, timedelta(minutes=1))
    late_email = add(1, timedelta(hours=2), channel="email")
    expired = stale | passed

    with webhook_receiver(SECRET) as hook, smtp_receiver() as smtp:
        env = dispatcher_env(
            clean_db,
            hook,
            PROLO_SMTP_HOST=smtp.host,
            PROLO_SMTP_PORT=str(smtp.port),
            PROLO_SMTP_STARTTLS="false",
        )
        first = run_dispatcher(env, tmp_path / "first")
        again = run_dispatcher(env, tmp_path / "again")
        sms_keys = [r.headers["Idempotency-Key"] for r in hook.requests]
        mails = smtp.mails

    assert first == {**dict.fromkeys(FIELDS, 0), "expired": len(expired), "claimed": 4, "sent": 4}
    assert again == dict.fromkeys(FIELDS, 0)
    assert sorted(sms_keys) == sorted(late_sms)
    assert [m.message["Prolo-Idempotency-Key"] for m in mails] == sorted(late_email)
    assert [m.rcpt_tos for m in mails] == [(EMAIL,)]
    state = rows_by_key(engine)
    assert {key for key, row in state.items() if row.status == "expired"} == expired
    assert {key for key, row in state.items() if row.status == "sent"} == late_sms | late_email
    assert all(state[key].attempts == 0 and state[key].sent_at is None for key in expired)
