"""Replicas starting together on an empty database ("Running it": several API replicas may share one PostgreSQL).

Three `prolo serve` processes start at the same moment on a database nobody migrated
yet, as an orchestrator starts the replicas of a new deployment. They take turns at the
migrations and at what a first start makes: every one of them serves, the schema is
migrated once, there is one clinic, and one admin key, printed by one of them.
Three `prolo db upgrade` at once (an init step run by every replica) all succeed too.
"""

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from api.store.db import make_engine
from tests import conftest
from tests.conftest import drop_schema, reset_schema
from tests.system.conftest import START_TIMEOUT_SECONDS, clean_env, free_port
from tests.system.test_cli import COMMAND_TIMEOUT_SECONDS, key_lines, prolo_executable

pytestmark = pytest.mark.system

REPLICAS = 3


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of this test's own (a schema of its own on PostgreSQL), dropped after it."""
    url = conftest.test_database_url(tmp_path)  # imported as itself, pytest would collect it as a test
    reset_schema(url)
    yield url
    engine = make_engine(url)
    drop_schema(engine)
    engine.dispose()


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("alembic_version", "clinic", "api_key", "protocol")
            }
    finally:
        engine.dispose()


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    out: Path
    port: int

    def output(self) -> str:
        return self.out.read_text(errors="replace")


def start_together(command: list[str], url: str, workdir: Path, *, serve: bool = False) -> list[Replica]:
    """REPLICAS processes of `command`, started at once (each `prolo serve` on a port of its own)."""
    replicas = []
    for n in range(REPLICAS):
        out, port = workdir / f"replica-{n}.out", free_port()
        with out.open("wb") as sink:
            process = subprocess.Popen(
                [*command, *(["--port", str(port)] if serve else [])],
                cwd=workdir,
                env=clean_env(PROLO_DATABASE_URL=url, PROLO_CLINIC_TIMEZONE="Europe/Berlin"),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        replicas.append(Replica(process, out, port))
    return replicas


def wait_ready(replica: Replica, deadline: float) -> None:
    while True:
        assert replica.process.poll() is None, f"a replica stopped:\n{replica.output()}"
        try:
            if httpx.get(f"http://127.0.0.1:{replica.port}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, replica.output()
        time.sleep(0.2)


def test_replicas_starting_together_on_an_empty_database_all_serve_and_make_one_clinic_and_one_key(
    empty_database: str, tmp_path: Path
) -> None:
    command = [prolo_executable(), "serve", "--host", "127.0.0.1"]
    replicas = start_together(command, empty_database, tmp_path, serve=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for replica in replicas:
            wait_ready(replica, deadline)
    finally:
        for replica in replicas:
            replica.process.terminate()
        for replica in replicas:
            replica.process.wait(timeout=COMMAND_TIMEOUT_SECONDS)
    outputs = [replica.output() for replica in replicas]
    printed = [key for output in outputs for key in key_lines(output)]
    assert len(printed) == 1, "\n---\n".join(outputs)
    assert counts(empty_database) == {"alembic_version": 1, "clinic": 1, "api_key": 1, "protocol": 1}


def test_prolo_db_upgrade_run_by_several_replicas_at_once_migrates_once(empty_database: str, tmp_path: Path) -> None:
    upgrades = start_together([prolo_executable(), "db", "upgrade"], empty_database, tmp_path)
    for replica in upgrades:
        assert replica.process.wait(timeout=COMMAND_TIMEOUT_SECONDS) == 0, replica.output()
    assert counts(empty_database) == {"alembic_version": 1, "clinic": 0, "api_key": 0, "protocol": 1}
