"""Count the database pages one booking's commit writes on SQLite, by table and index.

Run from the repository root: ``.venv/bin/python bench/booking_pages.py``. A SQLite
clinic is filled as for bench/booking.py (50 000 sessions), the real app books courses
in-process (FastAPI's TestClient, every booking with an `Idempotency-Key`) with
automatic checkpoints off, and the write-ahead log is read back: every frame is one
page a commit wrote, and SQLite's `dbstat` names the table or index that owns it.

A commit costs roughly in proportion to its pages: each is written to the WAL (and
synced, as Prolo syncs every commit), then copied into the database by a checkpoint.
Like bench/booking_instructions.py, the figure does not move with what else the
machine runs. Prints pages per booking, the pages a checkpoint every 4 000 WAL pages
(Prolo's setting) would copy per booking, and the tables and indexes behind them.
"""

from __future__ import annotations

import argparse
import sqlite3
import struct
import sys
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _support import bench_database, fill_clinic, measured_day, without_r35_r38
from booking import _Requests  # the same requests bench/booking.py sends
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.settings import Settings
from api.store.db import make_engine
from api.web.app import create_app

WARMUP = 20
CHECKPOINT_PAGES = 4_000  # api/store/db.py's wal_autocheckpoint
_WAL_HEADER, _FRAME_HEADER = 32, 24


def main() -> int:
    args = _arguments()
    now = datetime.now(UTC)
    with bench_database(None) as url:
        clinic = fill_clinic(url, now=now, day=measured_day(now))
        if args.without_r35_r38:
            without_r35_r38(url)
        path = Path(url.split("///", 1)[1])
        requests = _Requests(clinic, first_date=measured_day(now) + timedelta(days=1), seed=args.seed)
        engine = make_engine(url)

        @event.listens_for(engine, "connect")
        def _no_checkpoints(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")  # after Prolo's own pragmas: the WAL keeps every page

        settings = Settings(database_url=url, clinic_timezone="Europe/Berlin", api_key_cache_seconds=600)
        app = create_app(settings, engine=engine)
        with TestClient(app, headers={"X-API-Key": clinic.api_key}) as client:
            _book(client, requests.take(WARMUP))
            _checkpoint(path)
            _book(client, requests.take(args.bookings))
            pages = _wal_pages(path.with_name(path.name + "-wal"))
        owners = _owners(path)
        engine.dispose()
    _report(pages, owners, args.bookings)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=400, help="bookings counted (after 20 that warm up)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--without-r35-r38", action="store_true", help="no confirm requests, no merging: the reminders of before"
    )
    return parser.parse_args()


def _book(client: TestClient, requests: Iterable[dict[str, Any]]) -> None:
    for request in requests:
        response = client.post("/v1/courses", json=request, headers={"Idempotency-Key": str(uuid.uuid4())})
        if response.status_code not in (201, 409):
            raise RuntimeError(f"booking answered {response.status_code}: {response.text[:500]}")


def _checkpoint(path: Path) -> None:
    """Empty the WAL, so that it holds only the counted bookings' pages."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _wal_pages(wal: Path) -> list[int]:
    """The page number of every frame in the WAL, in the order the commits wrote them."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    frame = _FRAME_HEADER + page_size
    return [
        struct.unpack(">I", data[offset : offset + 4])[0] for offset in range(_WAL_HEADER, len(data) - frame + 1, frame)
    ]


def _owners(path: Path) -> dict[int, str]:
    """Which table or index each page belongs to (empty when this SQLite has no dbstat)."""
    with sqlite3.connect(path) as conn:
        try:
            return dict(conn.execute("SELECT pageno, name FROM dbstat"))
        except sqlite3.OperationalError:
            return {}


def _checkpoint_copies(pages: list[int]) -> int:
    """Pages checkpoints would copy into the database: the distinct pages of each 4 000-page stretch."""
    stretches = (pages[i : i + CHECKPOINT_PAGES] for i in range(0, len(pages), CHECKPOINT_PAGES))
    return sum(len(set(stretch)) for stretch in stretches)


def _report(pages: list[int], owners: dict[int, str], bookings: int) -> None:
    copied = _checkpoint_copies(pages) / bookings
    print(f"{bookings} bookings: {len(pages) / bookings:.1f} pages written per booking, ", end="")
    print(f"{copied:.1f} copied per booking by checkpoints every {CHECKPOINT_PAGES} pages")
    if not owners:
        print("(this SQLite has no dbstat: no breakdown by table and index)")
        return
    for name, count in Counter(owners.get(page, "?") for page in pages).most_common():
        print(f"  {count / bookings:6.1f}  {name}")


if __name__ == "__main__":
    sys.exit(main())
