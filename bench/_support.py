"""What the HTTP bench scripts share: a throw-away database, a filled clinic, uvicorn servers.

Everything stays on 127.0.0.1. A PostgreSQL URL only names the server and the
credentials: the bench always works in its own database, `prolo_bench`, dropped and
made again at the start and dropped at the end, never the one the test suite uses.

Longer than most modules because the clinic fill lives here too: both HTTP benches need
the same clinic, and each row's shape is spelled out so it matches the migrated schema.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, col

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/x.py` puts bench/ on the path, not the repository

from api.services.api_keys import create_api_key  # noqa: E402
from api.store import actors  # noqa: E402
from api.store.db import make_engine  # noqa: E402 - the repository root must be importable first
from api.store.migrate import upgrade  # noqa: E402
from api.store.unit_of_work import writing  # noqa: E402
from models import Clinic, Closure, Course, Patient, Practitioner, Protocol, Role  # noqa: E402
from models import Session as SessionRow  # noqa: E402
from models.base import table_of  # noqa: E402
from models.hours import DEFAULT_OPENING_HOURS  # noqa: E402
from models.waitlist import WaitlistSettingsWrite  # noqa: E402
from scheduling import OUTSIDE_WINDOW  # noqa: E402

BENCH_DATABASE = "prolo_bench"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
# Both servers a script compares run with exactly these flags: one worker, no access log,
# the same event loop and HTTP parser, the server header off as `prolo serve` has it.
UVICORN_FLAGS = (
    *("--workers", "1", "--loop", "asyncio", "--http", "h11"),
    *("--no-access-log", "--log-level", "warning", "--no-server-header"),
)
READY_SECONDS = 30


@contextmanager
def bench_database(postgres_url: str | None, name: str = BENCH_DATABASE) -> Iterator[str]:
    """The URL of an empty database for one run: a temp SQLite file, or `name` on that server (dropped after)."""
    if postgres_url is None:
        with tempfile.TemporaryDirectory(prefix=f"{name}-".replace("_", "-")) as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    given = make_url(postgres_url)
    if given.get_backend_name() != "postgresql" or given.host not in LOCAL_HOSTS:
        raise SystemExit(f"--database-url must be a PostgreSQL URL on 127.0.0.1, not {given!r}")
    # CREATE/DROP DATABASE cannot run in a transaction, nor from inside the database itself.
    maintenance = create_engine(given.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    try:
        with maintenance.connect() as conn:
            conn.execute(drop)
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield given.set(database=name).render_as_string(hide_password=False)
    finally:
        with maintenance.connect() as conn:
            conn.execute(drop)
        maintenance.dispose()


def server_env(database_url: str) -> dict[str, str]:
    """The environment a bench server runs with: the app reads its settings from it."""
    return {
        **os.environ,
        "PROLO_DATABASE_URL": database_url,
        "PROLO_CLINIC_TIMEZONE": "Europe/Berlin",
        "PYTHONPATH": str(ROOT),
    }


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so the `with` blocks still stop the servers and drop the database."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def uvicorn_server(app: str, env: dict[str, str], *, log_dir: Path, root: Path = ROOT) -> Iterator[str]:
    """Serve `app` with uvicorn on a free local port until the block ends; yields the base URL.

    `root`: the tree whose code it serves (another checkout of Prolo, for a before/after run)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), *UVICORN_FLAGS]
    log_path = log_dir / f"{app.replace(':', '_')}-{port}.log"
    if root != ROOT:
        env = {**env, "PYTHONPATH": str(root)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base_url, process, log_path)
            SERVERS[base_url] = process.pid
            yield base_url
        finally:
            SERVERS.pop(base_url, None)
            _stop(process)


SERVERS: dict[str, int] = {}  # the process of each server `uvicorn_server` runs, by base URL


def server_cpu_seconds(base_url: str) -> float | None:
    """The CPU time (user + system) the server at `base_url` has used so far; None where /proc cannot tell."""
    try:
        with open(f"/proc/{SERVERS[base_url]}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (KeyError, OSError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn not ready after {READY_SECONDS} s:\n{log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop our own server process, by its handle: SIGTERM, then SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: simple, and exact enough for a few hundred samples."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class StealMeter:
    """The share of CPU time the hypervisor gave to other machines while a block ran (Linux /proc/stat).

    On a shared virtual machine this is the noise in every figure: rounds with steal are slower
    for reasons no change to Prolo explains. None where /proc/stat is not there.
    """

    def __init__(self) -> None:
        self.share: float | None = None

    def __enter__(self) -> StealMeter:
        self._start = _cpu_times()
        return self

    def __exit__(self, *_: object) -> None:
        end = _cpu_times()
        if self._start is not None and end is not None:
            busy = sum(end) - sum(self._start)
            self.share = (end[7] - self._start[7]) / busy if busy else 0.0

    def text(self) -> str:
        return "steal n/a" if self.share is None else f"steal {self.share:4.1%}"


def _cpu_times() -> list[int] | None:
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    return [int(x) for x in fields[:8]] if len(fields) >= 8 else None


# --- a realistic clinic -------------------------------------------------------------------

ZONE = ZoneInfo("Europe/Berlin")
POSITIONS = 12  # 45-minute sessions from 08:00 fill a 08:00-17:00 day twelve times
SESSION = timedelta(minutes=45)
INTERVAL = timedelta(days=14)
TOLERANCE_DAYS = 3
Slot = tuple[date, int]  # a day and a position on it (0 is 08:00)
CONDITIONS = (
    "chronic low back pain, sacroiliac joint",
    "lateral epicondylitis",
    "knee osteoarthritis",
    "plantar fasciitis",
    "rotator cuff tendinopathy",
    "Achilles tendinopathy",
)
PRACTITIONERS = (
    "Dr. Amara Okafor",
    "Dr. Jonas Weber",
    "Dr. Lea Schmidt",
    "Dr. Piotr Nowak",
    "Dr. Sofia Rossi",
    "Dr. Emre Yilmaz",
    "Dr. Hanna Berg",
    "Dr. Lukas Braun",
    "Dr. Ines Alves",
    "Dr. Mateo Ruiz",
    "Dr. Nora Lind",
    "Dr. Karim Haddad",
)
DEFAULT_PRACTITIONERS = 8
GIVEN = ("Maria", "Thomas", "Anna", "Michael", "Julia", "Stefan", "Laura", "Andreas", "Sarah", "Peter")
FAMILY = ("Keller", "Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch")


@dataclass(frozen=True)
class FilledClinic:
    """What a bench needs to know about the clinic it filled."""

    practitioner_ids: list[uuid.UUID]
    patient_ids: list[uuid.UUID]
    day: date
    sessions: int
    day_sessions: int
    api_key: str


_FILL_ELSEWHERE = """
import json, sys
from datetime import date, datetime
sys.path.insert(0, sys.argv[1] + "/bench")
from _support import fill_clinic
clinic = fill_clinic(sys.argv[2], now=datetime.fromisoformat(sys.argv[3]), day=date.fromisoformat(sys.argv[4]))
print(json.dumps({**vars(clinic), "practitioner_ids": [str(i) for i in clinic.practitioner_ids],
                  "patient_ids": [str(i) for i in clinic.patient_ids], "day": clinic.day.isoformat()}))
"""


def fill_clinic_of(root: Path, database_url: str, *, now: datetime, day: date) -> FilledClinic:
    """`fill_clinic` as another checkout of Prolo (`root`) does it, with its own models and migrations, in a
    process of its own: the same clinic for a before/after run, in the schema that version writes."""
    done = subprocess.run(
        [sys.executable, "-c", _FILL_ELSEWHERE, str(root), database_url, now.isoformat(), day.isoformat()],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return FilledClinic(
        practitioner_ids=[uuid.UUID(i) for i in found["practitioner_ids"]],
        patient_ids=[uuid.UUID(i) for i in found["patient_ids"]],
        day=date.fromisoformat(found["day"]),
        sessions=found["sessions"],
        day_sessions=found["day_sessions"],
        api_key=found["api_key"],
    )


def without_r35_r38(url: str) -> None:
    """The clinic sends no confirm requests (R35) and merges no messages (R38): a booking plans the reminders
    of the versions before those rules (36 for a six-session course), for comparing with them."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(table_of(Clinic)).values(confirm_request_offset_minutes=None, one_message_per_day=False))
    engine.dispose()


def measured_day(now: datetime) -> date:
    """The front desk's 'today' in the clinic: the next weekday on or after the local date of `now`."""
    day = now.astimezone(ZONE).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def fill_clinic(
    database_url: str,
    *,
    now: datetime,
    day: date,
    sessions: int = 50_000,
    patients: int = 3_000,
    day_sessions: int = 40,
    practitioners: int = DEFAULT_PRACTITIONERS,
    full_day: bool = False,
    seed: int = 20261124,
) -> FilledClinic:
    """Migrate an empty database, then bulk-insert a clinic with about three years of courses around `day`.

    `day` holds at most `day_sessions` sessions; with `full_day`, exactly that many (at most one per
    practitioner and position, and one per patient): courses through `day` fill its free places, on top of
    `sessions`. The same arguments make the same clinic."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            protocol = conn.execute(select(Protocol).where(col(Protocol.is_default))).one()
        rows = _ClinicRows(
            random.Random(seed), now=now, day=day, day_cap=day_sessions, protocol=protocol, practitioners=practitioners
        )
        rows.add_people(patients)
        rows.add_courses(sessions)
        if full_day:
            rows.fill_day()
        with engine.begin() as conn:
            for model, values in rows.tables():
                conn.execute(insert(table_of(model)), values)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:  # what autovacuum would have done on a database this old
                conn.execute(text("ANALYZE"))
        with writing(engine, actor=actors.COMMAND_LINE, action="api-keys create") as uow:
            key = create_api_key(uow=uow, name="bench front desk", role=Role.frontdesk, now=now).key
    finally:
        engine.dispose()
    return FilledClinic(
        practitioner_ids=[uuid.UUID(str(p["id"])) for p in rows.practitioners],
        patient_ids=[uuid.UUID(str(p["id"])) for p in rows.patients],
        day=day,
        sessions=len(rows.sessions),
        day_sessions=rows.day_count,
        api_key=key,
    )


class _ClinicRows:
    """The rows of the filled clinic, placed as the planner would: on the slot grid, 14 days apart,
    one session per practitioner and slot, one per patient and day (R5), never on closures."""

    def __init__(
        self, rng: random.Random, *, now: datetime, day: date, day_cap: int, protocol: Any, practitioners: int
    ) -> None:
        self.rng, self.now, self.day, self.day_cap, self.protocol = rng, now, day, day_cap, protocol
        self.first = day - timedelta(days=1000)  # about 2¾ years back, a quarter ahead: ~3 years
        self.last = day + timedelta(days=95)
        self.closures: list[dict[str, Any]] = [
            {"id": self.new_id(), "start_date": s, "end_date": e, "reason": r}
            for year in range(self.first.year, self.last.year + 1)
            for s, e, r in (
                (date(year, 12, 24), date(year + 1, 1, 1), "Christmas closure"),
                (date(year, 5, 1), date(year, 5, 1), "Labour Day"),
                (date(year, 10, 3), date(year, 10, 3), "German Unity Day"),
            )
        ]
        self.closed = {
            s + timedelta(days=n)
            for c in self.closures
            for s in [c["start_date"]]
            for n in range((c["end_date"] - s).days + 1)
        }
        self.free: dict[tuple[int, date], list[int]] = {}
        self.patient_days: set[tuple[int, date]] = set()
        self.day_count = 0
        self.clinic = {
            "id": 1,
            "name": "Riverside Prolotherapy",
            "timezone": ZONE.key,
            "opening_hours": DEFAULT_OPENING_HOURS,
            "slot_minutes": 15,
            "reminder_offsets_minutes": [2880, 120],
            "reminder_send_time": "09:00",
            "quiet_hours": {"start": "21:00", "end": "08:00"},
            "confirm_request_offset_minutes": 4320,
            "skip_when_confirmed_offsets_minutes": [2880],
            "change_grace_minutes": 5,
            "one_message_per_day": True,
            "waitlist": WaitlistSettingsWrite().model_dump(mode="json"),  # migration 0013's defaults
        }
        self.practitioners = [
            {"id": self.new_id(), "name": name, "working_hours": None} for name in PRACTITIONERS[:practitioners]
        ]
        self.patients: list[dict[str, Any]] = []
        self.courses: list[dict[str, Any]] = []
        self.sessions: list[dict[str, Any]] = []

    def new_id(self) -> uuid.UUID:
        """A random UUID from the seeded generator: the same seed makes the same database, ids included."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def tables(self) -> list[tuple[type[SQLModel], list[dict[str, Any]]]]:
        """Rows by table, parents first."""
        return [
            (Clinic, [self.clinic]),
            (Closure, self.closures),
            (Practitioner, self.practitioners),
            (Patient, self.patients),
            (Course, self.courses),
            (SessionRow, self.sessions),
        ]

    def add_people(self, count: int) -> None:
        for n in range(count):
            given, family = self.rng.choice(GIVEN), self.rng.choice(FAMILY)
            self.patients.append(
                {
                    "id": self.new_id(),
                    "mrn": f"MRN-{n:06d}",
                    "given_name": given,
                    "family_name": family,
                    "given_name_key": given.casefold(),
                    "family_name_key": family.casefold(),
                    "date_of_birth": date(1940 + self.rng.randrange(60), 1 + self.rng.randrange(12), 1 + n % 28),
                    "phone": f"+4930{5550000 + n}",
                    "email": f"patient{n}@example.org",
                    "reminder_channel": "email",
                    "reminder_consent": True,
                    "medications": [],
                    "allergies": [],
                    "archived": False,
                }
            )

    def add_courses(self, total: int) -> None:
        span = (self.last - self.first).days
        while len(self.sessions) < total:
            practitioner, patient = self.rng.randrange(len(self.practitioners)), self.rng.randrange(len(self.patients))
            start = self.first + timedelta(days=self.rng.randrange(span))
            slots: list[Slot] = []
            on = start
            while len(slots) < min(6, total - len(self.sessions)):
                slot = self._take(practitioner, patient, on)
                if slot is None:
                    break  # a course cut short, as happens when a patient stops coming
                slots.append(slot)
                on = slot[0] + INTERVAL
            if slots:
                self._add_course(practitioner, patient, start, slots)

    def fill_day(self) -> None:
        """Courses through the measured day on its free places, practitioner by practitioner, up to its cap.

        Each such course has up to five sessions before the day, 14 days apart exactly (as far back as
        places are free), and continues after it as the others do, six sessions in all."""
        places = [(p, k) for p in range(len(self.practitioners)) for k in range(POSITIONS)]
        for practitioner, position in places:
            if self.day_count >= self.day_cap:
                return
            if position not in self.free.setdefault((practitioner, self.day), list(range(POSITIONS))):
                continue
            unbooked = [n for n in range(len(self.patients)) if (n, self.day) not in self.patient_days]
            if not unbooked:
                return  # every patient has a session that day already (R5)
            patient = self.rng.choice(unbooked)
            on_day = self._take_on(practitioner, patient, self.day, position)
            if on_day is None:
                return  # a closure
            slots = [on_day]
            for _ in range(self.rng.randrange(6)):
                earlier = slots[0][0] - INTERVAL
                slot = self._take_on(practitioner, patient, earlier) if earlier >= self.first else None
                if slot is None:
                    break
                slots.insert(0, slot)
            while len(slots) < 6 and (slot := self._take(practitioner, patient, slots[-1][0] + INTERVAL)):
                slots.append(slot)
            self._add_course(practitioner, patient, slots[0][0], slots)

    def _take(self, practitioner: int, patient: int, wanted: date) -> Slot | None:
        """A free position on `wanted` or within the tolerance days after it, or None."""
        for on in (wanted + timedelta(days=n) for n in range(TOLERANCE_DAYS + 1)):
            slot = self._take_on(practitioner, patient, on)
            if slot is not None:
                return slot
        return None

    def _take_on(self, practitioner: int, patient: int, on: date, position: int | None = None) -> Slot | None:
        """A free position (`position`, or one at random) for them on `on`, or None."""
        if on.weekday() >= 5 or on in self.closed or (patient, on) in self.patient_days:
            return None
        if on == self.day and self.day_count >= self.day_cap:
            return None  # the measured day holds about as many sessions as a real front desk sees
        free = self.free.setdefault((practitioner, on), list(range(POSITIONS)))
        if not free or (position is not None and position not in free):
            return None
        self.patient_days.add((patient, on))
        self.day_count += on == self.day
        return on, free.pop(self.rng.randrange(len(free)) if position is None else free.index(position))

    def _add_course(self, practitioner: int, patient: int, start: date, slots: list[Slot]) -> None:
        starts = [datetime.combine(on, clock_time(8), ZONE).astimezone(UTC) + k * SESSION for on, k in slots]
        past = sum(s < self.now for s in starts)
        status = "completed" if past == len(starts) else "active" if past else "planned"
        course_id, p = self.new_id(), self.protocol
        self.courses.append(
            {
                "id": course_id,
                "patient_id": self.patients[patient]["id"],
                "practitioner_id": self.practitioners[practitioner]["id"],
                "protocol_id": p.id,
                "status": status,
                "condition": self.rng.choice(CONDITIONS),
                "needs_review": False,
                "start_date": start,
                "preferred_time": None,
                "session_count": len(starts),
                "interval_days": p.interval_days,
                "interval_tolerance_days": p.interval_tolerance_days,
                "min_interval_days": p.min_interval_days,
                "session_minutes": p.session_minutes,
                "injectate": p.injectate,
                "rules": p.rules,
                "warnings": [],
                "status_reason": None,
                "created_at": starts[0] - timedelta(days=1 + self.rng.randrange(20)),
            }
        )
        for number, start_at in enumerate(starts, start=1):
            self.sessions.append(
                {
                    "id": self.new_id(),
                    "course_id": course_id,
                    "patient_id": self.patients[patient]["id"],
                    "practitioner_id": self.practitioners[practitioner]["id"],
                    "number": number,
                    "start_at": start_at,
                    "end_at": start_at + SESSION,
                    **self._history(start_at),
                }
            )

    def _history(self, start_at: datetime) -> dict[str, Any]:
        """Status, warnings, rescheduling and record of one session, in about the proportions a clinic has."""
        roll = self.rng.random()
        if start_at < self.now:
            status = "completed" if roll < 0.9 else "no_show" if roll < 0.95 else "cancelled"
        else:
            status = "scheduled" if roll < 0.7 else "confirmed" if roll < 0.95 else "cancelled"
        moved = self.rng.random() < 0.04
        late = self.rng.random() < 0.03
        return {
            "status": status,
            "warnings": [{"code": OUTSIDE_WINDOW, "message": "placed after its interval window (R6)"}] if late else [],
            "previous_start_at": start_at - timedelta(days=7) if moved else None,
            "change_reason": "patient asked to move it" if moved else None,
            "record": self._record(start_at + SESSION) if status == "completed" else None,
        }

    def _record(self, completed_at: datetime) -> dict[str, Any]:
        """A clinical record as completing a session stores it (models.record.ClinicalRecord, as JSON)."""
        injectate = self.protocol.injectate
        bruised = self.rng.random() < 0.1
        return {
            "injections": [
                {"site": "left sacroiliac ligament", "injectate": injectate, "volume_ml": 6.0},
                {"site": "iliolumbar ligament", "injectate": injectate, "volume_ml": 4.0},
            ],
            "pain_before": self.rng.randrange(3, 9),
            "adverse_events": [{"type": "bruising", "severity": "mild", "notes": None}] if bruised else [],
            "notes": "Tolerated well.",
            "completed_at": completed_at.isoformat().replace("+00:00", "Z"),
        }
