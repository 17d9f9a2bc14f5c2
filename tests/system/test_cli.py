"""The `prolo` command on a fresh machine ("Running it", S4, S8; "Done when 1").

These tests are about the embedded default — a SQLite file, no server to install —
so they run on SQLite only, whatever PROLO_TEST_DATABASE_URL says: every command
runs in a temporary directory with no PROLO_* setting but the ones a test gives.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table on SQLModel.metadata
from api.cli import docs_address
from api.settings import Settings
from api.store.db import make_engine
from api.web.app import create_app
from tests.system.conftest import REQUEST_TIMEOUT_SECONDS, Server, clean_env, start_server

pytestmark = pytest.mark.system

KEY_LINE = re.compile(r"^prolo_[A-Za-z0-9_-]{40,}$")
COMMAND_TIMEOUT_SECONDS = 120


def prolo_executable() -> str:
    """The `prolo` script installed next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("prolo")
    if beside.exists():
        return str(beside)
    found = shutil.which("prolo")
    assert found, "the `prolo` command is not installed"
    return found


def prolo(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [prolo_executable(), *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"prolo {' '.join(args)} failed\n{result.stdout}\n{result.stderr}"
    return result


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def key_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if KEY_LINE.match(line.strip())]


def test_running_it_prolo_db_upgrade_migrates_a_fresh_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    result = prolo("db", "upgrade", cwd=tmp_path, PROLO_DATABASE_URL=sqlite_url(database))
    assert "newest schema" in result.stdout
    engine = make_engine(sqlite_url(database))
    try:
        assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            assert conn.execute(text("SELECT count(*) FROM protocol WHERE is_default")).scalar_one() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            # README: every commit is synced to disk (FULL = 2); the WAL is checkpointed every 4 000 pages
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 4000
    finally:
        engine.dispose()
    # Running it again is harmless.
    prolo("db", "upgrade", cwd=tmp_path, PROLO_DATABASE_URL=sqlite_url(database))


def test_s4_prolo_api_keys_create_prints_the_key_alone_on_the_last_line_and_it_works(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "keys.db")
    prolo("db", "upgrade", cwd=tmp_path, PROLO_DATABASE_URL=url)
    result = prolo(
        "api-keys", "create", "--role", "frontdesk", "--name", "Front desk PC 1", cwd=tmp_path, PROLO_DATABASE_URL=url
    )
    lines = result.stdout.rstrip("\n").splitlines()
    key = lines[-1]
    assert KEY_LINE.match(key), f"the last line is not a key alone: {key!r}"
    assert key == key.strip()

    engine = make_engine(url)
    app = create_app(Settings(database_url=url, api_key_cache_seconds=0), engine=engine)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/v1/patients", headers={"Authorization": f"Bearer {key}"}).status_code == 200
            assert client.get("/v1/patients", headers={"X-API-Key": key}).status_code == 200
            # It is a frontdesk key, not an admin's.
            assert client.get("/v1/api-keys", headers={"Authorization": f"Bearer {key}"}).status_code == 403
            assert client.get("/v1/patients", headers={"Authorization": f"Bearer {key}x"}).status_code == 401
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT name, role, key_hash FROM api_key")).all()
    finally:
        engine.dispose()
    assert [(name, role) for name, role, _ in stored] == [("Front desk PC 1", "frontdesk")]
    assert all(key not in key_hash for _, _, key_hash in stored), "keys are stored hashed"


def start_prolo_serve(workdir: Path, logs: Path) -> Server:
    """`prolo serve` in `workdir` with no PROLO_DATABASE_URL: the default `prolo.db` there."""
    return start_server([prolo_executable(), "serve", "--host", "127.0.0.1"], env=clean_env(), cwd=workdir, logs=logs)


def test_s4_s8_prolo_serve_on_a_fresh_machine_migrates_prints_one_admin_key_and_serves_offline_docs(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "clinic"
    workdir.mkdir()

    server = start_prolo_serve(workdir, tmp_path / "logs")
    try:
        assert (workdir / "prolo.db").exists(), "the default database is prolo.db in the working directory"
        keys = key_lines(server.stdout())
        assert len(keys) == 1, server.output()
        assert f"Open {server.base_url}/docs, press Authorize" in server.stdout()  # an address one can open
        admin_key = keys[0].strip()
        with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
            assert http.get("/readyz").json() == {"status": "ok"}
            assert http.get("/v1/api-keys").status_code == 401
            listed = http.get("/v1/api-keys", headers={"Authorization": f"Bearer {admin_key}"})
            assert listed.status_code == 200, listed.text  # an admin-only endpoint
            assert listed.json()["total"] == 1

            docs = http.get("/docs")
            assert docs.status_code == 200
            page = docs.text
            assert not re.search(r"https?://", page), "the docs page refers to no outside host (no CDN)"
            assets = re.findall(r'(?:src|href)="([^"]+)"', page)
            scripts = [a for a in assets if a.endswith(".js")]
            styles = [a for a in assets if a.endswith(".css")]
            assert scripts and styles, page
            for asset in scripts + styles:
                assert not re.match(r"^(https?:)?//", asset)
                answer = http.get(urljoin(f"{server.base_url}/docs", asset))
                assert answer.status_code == 200, asset
                assert len(answer.content) > 1000, asset
            spec_url = re.search(r"url: '([^']+)'", page)
            assert spec_url and http.get(spec_url.group(1)).status_code == 200
    finally:
        server.stop()

    # A second start on the same database makes no new key and prints none.
    again = start_prolo_serve(workdir, tmp_path / "logs-again")
    try:
        assert key_lines(again.stdout()) == [], again.output()
        assert "admin API key" not in again.stdout()
        with httpx.Client(base_url=again.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
            listed = http.get("/v1/api-keys", headers={"Authorization": f"Bearer {admin_key}"})
            assert listed.status_code == 200, listed.text
            assert listed.json()["total"] == 1, "the first key still works and no second one was made"
    finally:
        again.stop()


@pytest.mark.parametrize(
    ("host", "public_url", "address"),
    [
        ("0.0.0.0", None, "http://127.0.0.1:8000/docs (from another machine: this host's address)"),
        ("::", None, "http://127.0.0.1:8000/docs (from another machine: this host's address)"),
        ("127.0.0.1", None, "http://127.0.0.1:8000/docs"),
        ("::1", None, "http://[::1]:8000/docs"),
        ("0.0.0.0", "https://prolo.example.org/", "https://prolo.example.org/docs"),
    ],
)
def test_the_first_start_names_an_address_one_can_open(host: str, public_url: str | None, address: str) -> None:
    """The Docker image listens on 0.0.0.0, an address no browser opens: the message names one that works."""
    assert docs_address(host, 8000, public_url) == address
