"""Fixtures shared by the API and whole-system tests.

The suite runs on SQLite by default and on PostgreSQL when PROLO_TEST_DATABASE_URL
is set. The schema is built once by the real migrations; each test then starts
from the freshly migrated state (every table emptied, the migration's rows put back).
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, insert, text
from sqlmodel import Session

from api.app import create_app
from api.db import make_engine
from api.migrate import upgrade
from api.services.api_keys import create_api_key
from api.settings import Settings
from models import Role

# A Monday; courses in the tests are booked from 2027 on.
DEFAULT_NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


def test_database_url(tmp_dir: Path) -> str:
    return os.environ.get("PROLO_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'prolo-test.db'}"


def reset_schema(engine: Engine) -> None:
    """Drop everything in the test database, so the migrations start from nothing."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@dataclass
class Database:
    """The migrated test database and how to bring it back to its freshly migrated state."""

    engine: Engine
    url: str
    seed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def tables(self) -> MetaData:
        metadata = MetaData()
        metadata.reflect(self.engine)
        metadata.remove(metadata.tables["alembic_version"])
        return metadata

    def snapshot(self) -> None:
        with self.engine.connect() as conn:
            for table in self.tables().sorted_tables:
                self.seed[table.name] = [dict(row._mapping) for row in conn.execute(table.select())]

    def restore(self) -> None:
        metadata = self.tables()
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} CASCADE"))
            else:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())
            for table in metadata.sorted_tables:
                if self.seed.get(table.name):
                    conn.execute(insert(table), self.seed[table.name])


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = test_database_url(tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    reset_schema(engine)
    upgrade(engine)
    db = Database(engine=engine, url=url)
    db.snapshot()
    yield db
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
    with Session(engine) as db:
        return create_api_key(db=db, name=name or f"test {role}", role=role, now=DEFAULT_NOW).key


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


def new_id() -> str:
    return str(uuid.uuid4())
