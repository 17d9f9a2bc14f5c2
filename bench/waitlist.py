"""Benchmark the waitlist's step of a dispatch pass (R40–R43): openings settled per second, and what it
costs reminder dispatch.

Run from the repository root: ``.venv/bin/python bench/waitlist.py`` (SQLite in a temp file), or add
``--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test`` to run in a database of its own
(`prolo_bench_waitlist`, dropped and made again; never the one named in the URL).

The clinic is built through the real app (in process): 12 practitioners, 25 six-session courses each
(300), booked over one week, and a waiting entry for every course's session 3 (300 entries); then 50
openings opened by hand on the Friday before session 3's week (four or five per practitioner), each
fitting the five courses that started on a Monday. The clinic is in `auto` mode with no settling time.
One pass of `api.services.waitlist_pass.waitlist_pass` settles all 50: every opening's candidates are
judged by the real R8 dry run with reflow, ranked, offered (a batch of three) and held. Printed: openings/s
over the pass, and the median and p95 time per opening. Then ``bench/dispatch.py`` runs against the same
kind of database so its figures can be compared with its own earlier runs: the waitlist step runs
first in every dispatch pass, and with no due opening it is one indexed query.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _support import ROOT, bench_database, percentile, stop_on_sigterm
from fastapi.testclient import TestClient

import api.services.waitlist_pass as waitlist_pass
from api.services.api_keys import create_api_key
from api.settings import Settings
from api.store import actors
from api.store.db import make_engine
from api.store.migrate import upgrade
from api.store.unit_of_work import writing
from api.web.app import create_app
from models import Role

BENCH_DATABASE = "prolo_bench_waitlist"
PRACTITIONERS = 12
COURSES_EACH = 25  # five a day, Monday to Friday
OPENINGS = 50
NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)
MONDAY = date(2027, 3, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server on 127.0.0.1 (default: a temp SQLite file)")
    parser.add_argument("--no-dispatch", action="store_true", help="skip bench/dispatch.py")
    args = parser.parse_args()
    stop_on_sigterm()
    with bench_database(args.database_url, BENCH_DATABASE) as url:
        engine = make_engine(url)
        upgrade(engine)
        filled = time.perf_counter()
        _fill(url, engine)
        print(f"database: {url.split('@')[-1]}  filled in {time.perf_counter() - filled:.1f} s")
        timings: list[float] = []
        with _timed_settle(timings):
            started = time.perf_counter()
            tally = waitlist_pass.waitlist_pass(engine, NOW + timedelta(minutes=1), actors.COMMAND_LINE)
            elapsed = time.perf_counter() - started
        engine.dispose()
    print(
        f"waitlist pass: {len(timings)} openings in {elapsed:.2f} s = {len(timings) / elapsed:.1f} openings/s; "
        f"per opening median {statistics.median(timings) * 1000:.0f} ms, p95 {percentile(timings, 0.95) * 1000:.0f} ms"
    )
    print(f"  settled {tally.openings_settled}, offers {tally.offers_made}, lapsed {tally.openings_lapsed}")
    if len(timings) != OPENINGS or tally.openings_settled + tally.openings_lapsed != OPENINGS:
        print("FAIL: not every opening was settled once")
        return 1
    if args.no_dispatch:
        return 0
    command = [sys.executable, str(ROOT / "bench" / "dispatch.py"), "--sms-reminders", "0"]
    if args.database_url:
        command += ["--database-url", args.database_url]
    print("bench/dispatch.py (the waitlist step runs first in each of its passes):", flush=True)
    return subprocess.call(command, cwd=ROOT)


@contextmanager
def _timed_settle(timings: list[float]) -> Iterator[None]:
    """Time each opening's step (its own transaction's work) inside the pass."""
    original = waitlist_pass.settle

    def timed(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        original(*args, **kwargs)
        timings.append(time.perf_counter() - started)

    waitlist_pass.settle = timed
    try:
        yield
    finally:
        waitlist_pass.settle = original


def _fill(url: str, engine: Any) -> None:
    with writing(engine, actor=actors.COMMAND_LINE, action="api-keys create") as uow:
        key = create_api_key(uow=uow, name="bench", role=Role.admin, now=NOW).key
    app = create_app(Settings(database_url=url, clinic_timezone="Europe/Berlin"), engine=engine, clock=lambda: NOW)
    with TestClient(app) as http:
        http.headers["Authorization"] = f"Bearer {key}"
        clinic = http.get("/v1/clinic").json()
        waitlist = {**clinic["waitlist"], "mode": "auto", "settle_minutes": 0}
        assert http.put("/v1/clinic", json={**clinic, "waitlist": waitlist}).status_code == 200
        opened = 0
        for p in range(PRACTITIONERS):
            prac = _ok(http.post("/v1/practitioners", json={"name": f"Dr. Bench {p}"}))
            for i in range(COURSES_EACH):
                patient = _ok(
                    http.post(
                        "/v1/patients",
                        json={
                            "mrn": f"BENCH-{p}-{i}",
                            "given_name": "Pat",
                            "family_name": "Bench",
                            "date_of_birth": "1970-01-01",
                            "email": f"p{p}-{i}@example.org",
                            "reminder_channel": "email",
                            "reminder_consent": True,
                        },
                    )
                )
                start = MONDAY + timedelta(days=i % 5)
                at = f"{8 + (i // 5):02d}:00"
                body = {"patient_id": patient["id"], "practitioner_id": prac["id"], "start_date": start.isoformat()}
                course = _ok(http.post("/v1/courses", json={**body, "preferred_time": at, "condition": "knee"}))
                _ok(http.post("/v1/waitlist", json={"session_id": course["sessions"][2]["id"]}))
            # the Friday before session 3's week: inside the window of the Monday starters' session 3
            friday = MONDAY + timedelta(days=25)
            for slot in range(5 if p < OPENINGS - 4 * PRACTITIONERS else 4):
                start_at = datetime.fromisoformat(f"{friday.isoformat()}T{12 + slot}:00:00+01:00")
                span = {"practitioner_id": prac["id"], "start": start_at.isoformat()}
                _ok(
                    http.post(
                        "/v1/waitlist/openings", json={**span, "end": (start_at + timedelta(minutes=45)).isoformat()}
                    )
                )
                opened += 1
        assert opened == OPENINGS, opened


def _ok(answer: Any) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


if __name__ == "__main__":
    raise SystemExit(main())
