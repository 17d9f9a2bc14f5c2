"""The sync feed after a restore (S7): a follower's cursor from before it is refused, never silently followed.

A follower keeps its `next_cursor`. The database is then restored from a backup taken
before the follower's last page: on PostgreSQL with `pg_dump` and `pg_restore` into a
database of its own, on SQLite from a copy made with SQLite's backup API. Prolo,
serving the restored database, writes new events. The follower's next poll must be
refused with `invalid_cursor`, so it starts again, and sees every event the restored
database holds, the new ones included. Accepting the cursor would lose events: the
restored database hands out ids (and, in a new PostgreSQL cluster, transaction ids)
below the cursor's again.
"""

import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from api.settings import Settings
from api.store.db import make_engine
from api.web.app import create_app
from tests.api.helpers import patient, practitioner
from tests.conftest import Database
from tests.system.conftest import assert_problem

pytestmark = pytest.mark.system

SETTLE_SECONDS = 15.0  # PostgreSQL holds events back until older transactions on the server have ended


def follow(client: TestClient, engine: Engine) -> tuple[list[dict[str, Any]], str]:
    """Every event of the feed from its beginning, once it has handed out all that is stored; and the cursor."""
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    deadline = time.monotonic() + SETTLE_SECONDS
    while len(events) < stored:
        params: dict[str, Any] = {"limit": 500} if cursor is None else {"limit": 500, "after": cursor}
        answer = client.get("/v1/audit-events", params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        events += page["items"]
        cursor = page["next_cursor"]
        if not page["items"]:
            assert time.monotonic() < deadline, f"the feed held {stored - len(events)} events back"
            time.sleep(0.05)
    assert cursor is not None
    return events, cursor


def _libpq(url: URL) -> list[str]:
    return ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]


class Backup:
    """A backup of the test database, taken now and restored later into a database of its own."""

    def __init__(self, database: Database, tmp_path: Path) -> None:
        self.database, self.tmp_path = database, tmp_path
        self.url = make_url(database.url)
        self.postgresql = database.engine.dialect.name == "postgresql"
        self.scratch = f"prolo_restored_{uuid.uuid4().hex[:12]}"
        self.file = tmp_path / ("backup.dump" if self.postgresql else "backup.db")
        self.engine: Engine | None = None

    def take(self) -> None:
        if not self.postgresql:
            with sqlite3.connect(self.url.database or "") as source, sqlite3.connect(self.file) as copy:
                source.backup(copy)
            copy.close()
            return
        schema = str(self.url.query["options"]).split("=", 1)[1].split(",")[0]
        subprocess.run(
            ["pg_dump", *_libpq(self.url), "-d", self.url.database or "", "-n", schema, "-Fc", "-f", str(self.file)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def restore(self) -> Engine:
        """The backup as a database of its own (SQLite: a file; PostgreSQL: a new database), and an engine on it."""
        if not self.postgresql:
            target = self.tmp_path / "restored.db"
            shutil.copyfile(self.file, target)
            self.engine = make_engine(f"sqlite:///{target}")
            return self.engine
        with self._admin() as admin, admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.scratch}"'))
        restored = self.url.set(database=self.scratch)
        fresh = create_engine(restored.set(query={}), isolation_level="AUTOCOMMIT")
        with fresh.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))  # as in every test schema
        fresh.dispose()
        subprocess.run(
            ["pg_restore", *_libpq(self.url), "-d", self.scratch, "--no-owner", str(self.file)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        self.engine = make_engine(restored.render_as_string(hide_password=False))
        return self.engine

    @contextmanager
    def _admin(self) -> Iterator[Engine]:
        engine = create_engine(self.url.set(database="postgres", query={}), isolation_level="AUTOCOMMIT")
        try:
            yield engine
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self.postgresql:
            with self._admin() as admin, admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.scratch}" WITH (FORCE)'))


@pytest.fixture
def backup(clean_db: Database, tmp_path: Path) -> Iterator[Backup]:
    made = Backup(clean_db, tmp_path)
    try:
        yield made
    finally:
        made.drop()


def test_s7_a_cursor_from_before_a_restore_is_refused_and_the_follower_starts_again(
    client: TestClient, clean_db: Database, backup: Backup
) -> None:
    for n in range(3):
        patient(client, family_name=f"Before{n}")
    _, at_backup = follow(client, clean_db.engine)
    backup.take()
    for n in range(3):  # the follower sees these; the backup does not hold them
        practitioner(client, name=f"Dr. After {n}")
    followed, cursor = follow(client, clean_db.engine)
    assert {e["entity_type"] for e in followed} >= {"patient", "practitioner"}

    engine = backup.restore()
    settings = Settings(database_url=str(engine.url), clinic_timezone="Europe/Berlin", api_key_cache_seconds=0)
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as restored:
        restored.headers["Authorization"] = client.headers["Authorization"]  # the key is in the backup
        made = patient(restored, family_name="Restored")  # written after the restore, with ids the follower passed

        refused = assert_problem(restored.get("/v1/audit-events", params={"after": cursor}), 410)
        assert refused["code"] == "invalid_cursor"
        # the follower starts again, and misses nothing the restored database holds
        again, _ = follow(restored, engine)
        names = [(e["after"] or {}).get("family_name") for e in again if e["entity_type"] == "patient"]
        assert names == ["Before0", "Before1", "Before2", "Restored"]
        assert made["id"] in {e["entity_id"] for e in again}
        assert not {e["entity_id"] for e in again if e["entity_type"] == "practitioner"}

        # a cursor at an event the backup holds too: PostgreSQL's copy is another database, whose transaction ids
        # say nothing about the cursor's, so it is refused; a SQLite file restored from its backup is the same
        # database, whose ids go on from the backup's, so that cursor still follows every new event
        answer = restored.get("/v1/audit-events", params={"after": at_backup, "limit": 500})
        if engine.dialect.name == "postgresql":
            assert assert_problem(answer, 410)["code"] == "invalid_cursor"
        else:
            assert answer.status_code == 200, answer.text
            assert made["id"] in {e["entity_id"] for e in answer.json()["items"]}


def test_s7_a_cursor_past_the_end_or_of_another_shape_is_refused(client: TestClient, clean_db: Database) -> None:
    patient(client)
    events, cursor = follow(client, clean_db.engine)
    txid, event_id, tag = cursor.split(".")
    past = f"{txid}.{int(event_id) + 1000}.{tag}"
    assert assert_problem(client.get("/v1/audit-events", params={"after": past}), 410)["code"] == "invalid_cursor"
    forged = f"{txid}.{event_id}.{'0' * len(tag)}"
    assert assert_problem(client.get("/v1/audit-events", params={"after": forged}), 410)["code"] == "invalid_cursor"
    # the form before cursors named their database: it cannot say which database gave it out
    for old in ("5000000.0", f"{txid}.{event_id}"):
        body = assert_problem(client.get("/v1/audit-events", params={"after": old}), 422)
        assert body["code"] == "invalid_cursor"
    # the beginning is the beginning everywhere, and a good cursor still works
    assert client.get("/v1/audit-events", params={"after": "-1.0"}).json()["items"] == events
    assert client.get("/v1/audit-events", params={"after": cursor}).json()["items"] == []
