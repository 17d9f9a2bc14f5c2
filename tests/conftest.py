"""Fixtures shared by the API and whole-system tests.

The suite runs on SQLite by default and on PostgreSQL when PROLO_TEST_DATABASE_URL
is set. The schema is built once by the real migrations; each test then starts
from the freshly migrated state (every table emptied, the migration's rows put back).
"""

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, MetaData, insert, text
from sqlalchemy.engine import make_url

from api.services.api_keys import create_api_key
from api.settings import Settings
from api.store import actors
from api.store.db import make_engine
from api.store.migrate import upgrade
from api.store.unit_of_work import writing
from api.web.app import create_app
from models import Role

# A Monday; courses in the tests are booked from 2027 on.
DEFAULT_NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


def test_database_url(tmp_dir: Path) -> str:
    """SQLite in a temporary directory, or PROLO_TEST_DATABASE_URL with a schema of this run's own.

    On PostgreSQL every run (and every xdist worker) gets a fresh schema first on the
    search path, so runs on one database never see each other's rows; `public` stays
    on the path for extensions such as btree_gist.
    """
    url = os.environ.get("PROLO_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_dir / 'prolo-test.db'}"
    schema = f"prolo_test_{uuid.uuid4().hex[:12]}"
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema},public"}).render_as_string(hide_password=False)


def _schema(engine: Engine) -> str | None:
    options = engine.url.query.get("options")
    if engine.dialect.name != "postgresql" or not isinstance(options, str):
        return None
    return options.split("=", 1)[1].split(",")[0]


def reset_schema(url: str) -> None:
    """Give this run an empty schema of its own (PostgreSQL); a new SQLite file is empty already.

    Made through an engine of its own: an engine remembers the default schema it saw
    on its first connection, so the run's engine must first connect after this.
    """
    engine = make_engine(url)
    schema = _schema(engine)
    if schema is not None:
        with engine.begin() as conn:
            # in public, shared by all runs: an extension made inside one run's schema would vanish with it.
            # Workers starting together on a database that lacks it would each try to create it and all but
            # one fail on pg_extension's unique name ("IF NOT EXISTS" does not wait): one at a time, by lock.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('prolo tests: btree_gist'))"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


def drop_schema(engine: Engine) -> None:
    schema = _schema(engine)
    if schema is not None:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


class ShortInExamples:
    """Printed by its own repr in a failing Hypothesis example: Hypothesis's printer shows every field of a
    dataclass, `repr=False` or not (a fixture holding every seeded row made a 720 kB repr, and a warning
    that hid the failure)."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclass
class Database(ShortInExamples):
    """The migrated test database and how to bring it back to its freshly migrated state."""

    engine: Engine
    url: str
    # kept out of repr: a failing property test prints its fixtures, and these hold every seeded row
    seed: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    metadata: MetaData | None = field(default=None, repr=False)

    def tables(self) -> MetaData:
        """The migrated tables (reflected once: the schema does not change during a run)."""
        if self.metadata is None:
            self.metadata = MetaData()
            self.metadata.reflect(self.engine)
            self.metadata.remove(self.metadata.tables["alembic_version"])
        return self.metadata

    def snapshot(self) -> None:
        with self.engine.connect() as conn:
            for table in self.tables().sorted_tables:
                self.seed[table.name] = [dict(row._mapping) for row in conn.execute(table.select())]

    def restore(self) -> None:
        metadata = self.tables()
        # a writer's transaction from its first statement (SQLite: BEGIN IMMEDIATE), so it waits for a
        # write still finishing (an API key's last use, noted beside a request) instead of failing
        with self.engine.connect() as conn, conn.execution_options(prolo_write=True).begin():
            # The audit trail refuses deletes (migration 0005); a test's fresh start is the one exception:
            # PostgreSQL skips triggers for this transaction, SQLite's are dropped and made again.
            triggers = self._lift_append_only(conn)
            # DELETE, not TRUNCATE: on tables this small it is many times faster on PostgreSQL
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
            for table in metadata.sorted_tables:
                if self.seed.get(table.name):
                    conn.execute(insert(table), self.seed[table.name])
            for statement in triggers:
                conn.exec_driver_sql(statement)
            if conn.dialect.name == "postgresql":  # its triggers were skipped: tell the day view's answers itself
                conn.exec_driver_sql("SELECT pg_notify('prolo_day_view', current_schema() || ' *')")

    @staticmethod
    def _lift_append_only(conn: Connection) -> list[str]:
        """Let this transaction empty the audit trail; the statements that put its guard back (SQLite)."""
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            return []
        found = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
        ).all()
        for name, _ in found:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        return [sql for _, sql in found]


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = test_database_url(tmp_path_factory.mktemp("db"))
    reset_schema(url)
    engine = make_engine(url)
    try:
        upgrade(engine)
        db = Database(engine=engine, url=url)
        db.snapshot()
        yield db
    finally:
        drop_schema(engine)
        engine.dispose()


@pytest.fixture
def clean_db(database: Database) -> Database:
    database.restore()
    return database


@dataclass
class Clock:
    now: datetime = DEFAULT_NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(clean_db: Database) -> Settings:
    return Settings(database_url=clean_db.url, clinic_timezone="Europe/Berlin", api_key_cache_seconds=0)


def make_key(engine: Engine, role: Role, name: str | None = None) -> str:
    with writing(engine, actor=actors.COMMAND_LINE, action="api-keys create") as uow:
        key = create_api_key(uow=uow, name=name or f"test {role}", role=role, now=DEFAULT_NOW).key
    return key


@pytest.fixture
def anon(settings: Settings, clean_db: Database, clock: Clock) -> Iterator[TestClient]:
    """A client of the real app on the test database, with no key."""
    app = create_app(settings, engine=clean_db.engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client(anon: TestClient, clean_db: Database) -> TestClient:
    """The same client, authorised as an admin."""
    anon.headers["Authorization"] = f"Bearer {make_key(clean_db.engine, Role.admin)}"
    return anon


@contextmanager
def another_writer(database: Database, *rows: tuple[str, str]) -> Iterator[None]:
    """Another process's writer in the way, below Prolo's own turns and gate (api/store/admission.py, step 3):
    on SQLite a connection holding the write lock; on PostgreSQL one holding these (table, id) rows."""
    other: sqlite3.Connection | psycopg.Connection[Any]
    if database.engine.dialect.name == "sqlite":
        other = sqlite3.connect(database.engine.url.database or "", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        other = psycopg.connect(database.engine.url.render_as_string(hide_password=False).replace("+psycopg", ""))
        for table, row_id in rows:
            other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", (row_id,))
    try:
        yield
    finally:
        other.rollback()
        other.close()


def new_id() -> str:
    return str(uuid.uuid4())
