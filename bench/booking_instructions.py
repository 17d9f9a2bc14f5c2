"""Count the CPU instructions one booking costs, with valgrind's callgrind: a figure no noisy neighbour moves.

Run from the repository root: ``.venv/bin/python bench/booking_instructions.py`` (needs
``valgrind``: ``apt-get install -y valgrind``). A SQLite clinic is filled (5 000 sessions; ``--sessions N``),
then the real app books courses in-process (FastAPI's TestClient, every booking with an
`Idempotency-Key`) under callgrind twice, each on its own copy of the filled clinic: N bookings,
and none. The difference over N is
one booking's instructions: the whole request path, HTTP parsing to commit, nothing else.
``--without-r35-r38``: the clinic sends no confirm requests (R35) and merges no messages (R38), so a
booking plans the same reminders as in versions before those rules, for comparing with them.

Wall-clock figures (bench/booking.py) move with whatever else the machine runs;
instruction counts stay put for the same code, inputs and interpreter, so two versions of
Prolo can be compared on a shared machine. Prints instructions per booking.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _support import ROOT, bench_database, fill_clinic, measured_day, without_r35_r38
from sqlalchemy import create_engine

FILL_SESSIONS = 5_000


def main() -> int:
    args = _arguments()
    if args.book is not None:  # the child, under valgrind
        return _book(args.url, args.key, args.book, args.seed)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="prolo-instructions-") as scratch, bench_database(None) as url:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        clinic = fill_clinic(url, now=now, day=measured_day(now), sessions=args.sessions)
        if args.without_r35_r38:
            without_r35_r38(url)
        print(f"database: {args.sessions} sessions; booking {args.bookings} courses under callgrind (slow)")
        filled = Path(url.removeprefix("sqlite:///"))
        runs = (0, args.bookings)
        counts = {n: _instructions(_copy(filled, tmp, n), clinic.api_key, n, args.seed, tmp) for n in runs}
    per_booking = (counts[args.bookings] - counts[0]) / args.bookings
    print(f"instructions: {counts[0]:,} without booking, {counts[args.bookings]:,} with {args.bookings} bookings")
    print(f"per booking: {per_booking / 1e6:.2f} M instructions")
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=60, help="bookings counted (the first 10 warm up, uncounted)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--sessions", type=int, default=FILL_SESSIONS, help="sessions the clinic is filled with (booking.py's: 50000)"
    )
    parser.add_argument(
        "--without-r35-r38", action="store_true", help="no confirm requests, no merging: the reminders of before"
    )
    parser.add_argument(
        "--keep", type=Path, help="keep callgrind's two files (callgrind.0, callgrind.N) here, for callgrind_annotate"
    )
    parser.add_argument("--book", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    return parser.parse_args()


def _copy(filled: Path, tmp: Path, bookings: int) -> str:
    """A copy of the filled clinic for one run: each run starts from the same database, so the difference is
    the bookings alone (the runs book the same requests: on one shared database the second run's warm-up
    would find the first run's courses in the times it asks for, and plan around them)."""
    copy = tmp / f"clinic.{bookings}.db"
    for suffix in ("", "-wal"):  # the fill's engines are closed, so its WAL is checkpointed; copied if not
        if Path(f"{filled}{suffix}").exists():
            shutil.copyfile(f"{filled}{suffix}", f"{copy}{suffix}")
    return f"sqlite:///{copy}"


def _instructions(url: str, key: str, bookings: int, seed: int, tmp: Path) -> int:
    out = tmp / f"callgrind.{bookings}"
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, __file__, "--book", str(bookings), "--url", url, "--key", key, "--seed", str(seed),
    ]  # fmt: skip
    # the same string hashes in every run: dictionaries and sets then probe alike, run after run
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True, env=environment)
    summary = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
    if summary is None:
        raise RuntimeError(f"no summary in {out}")
    return int(summary.group(1))


def _book(url: str, key: str, count: int, seed: int) -> int:
    """The child: warm up, then `count` bookings; the warm-up is the same with count 0, so it cancels out."""
    from _support import FilledClinic
    from booking import _Requests  # the same requests bench/booking.py sends
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from api.settings import Settings
    from api.web.app import create_app

    engine = create_engine(url)
    with engine.connect() as conn:
        practitioners = [uuid.UUID(str(r[0])) for r in conn.execute(text("SELECT id FROM practitioner"))]
        patients = [uuid.UUID(str(r[0])) for r in conn.execute(text("SELECT id FROM patient"))]
    engine.dispose()
    today = measured_day(datetime.now(UTC))
    clinic = FilledClinic(practitioners, patients, today, 0, 0, key)
    requests = _Requests(clinic, first_date=today + timedelta(days=1), seed=seed).take(10 + count)
    app = create_app(Settings(database_url=url, clinic_timezone="Europe/Berlin", api_key_cache_seconds=600))
    with TestClient(app, headers={"X-API-Key": key}) as client:
        for request in requests:
            client.post("/v1/courses", json=request, headers={"Idempotency-Key": str(uuid.uuid4())})
    return 0


if __name__ == "__main__":
    sys.exit(main())
