"""Fixtures of the whole-system tests: real server processes on 127.0.0.1.

A server is a subprocess (`python -m uvicorn api.main:app` or `prolo serve`) on a
free port. It is started after the test database is in its freshly migrated
state, polled on `/healthz` with a generous deadline (CI machines are small and
busy), and always stopped — terminated, then killed — however the test ends.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import httpx2
import pytest

from models import Role
from tests.conftest import Database, make_key

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.system.receivers import WebhookReceiver

REPO = Path(__file__).resolve().parents[2]
CLINIC_TIMEZONE = "Europe/Berlin"
START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 20.0
# Generous: a request on a loaded 2-core machine may wait long for a lock, never for ever.
REQUEST_TIMEOUT_SECONDS = 120.0
UVICORN = (sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--log-level", "warning")
PROBLEM_JSON = "application/problem+json"


def free_port() -> int:
    """A port nobody listens on right now (the server may still lose it to a race; `start_server` retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any PROLO_* setting, plus `values`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PROLO_")}
    env.update(values)
    return env


def served_env(database_url: str, *, sms_webhook_url: str, sms_webhook_secret: str, **extra: str) -> dict[str, str]:
    """The environment of a `prolo serve` on the test database whose SMS go to a local webhook (never the log)."""
    return clean_env(
        PROLO_DATABASE_URL=database_url,
        PROLO_SMS_WEBHOOK_URL=sms_webhook_url,
        PROLO_SMS_WEBHOOK_SECRET=sms_webhook_secret,
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
        **extra,
    )


@dataclass
class Server:
    """A running server process and where to reach it.

    `group`: the process leads a process group of its own (`make run` and the server it starts),
    and stopping it stops the whole group: the server is make's child, not make.
    """

    process: subprocess.Popen[bytes]
    port: int
    stdout_path: Path
    stderr_path: Path
    group: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def output(self) -> str:
        return f"--- stdout\n{self.stdout()}\n--- stderr\n{self.stderr()}"

    def stop(self) -> None:
        """Ask politely (SIGTERM lets uvicorn shut down cleanly), then kill; always reap the process."""
        if self.group:
            self._stop_group()
        elif self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def _stop_group(self) -> None:
        """SIGTERM to every process of the group this process leads, SIGKILL to what is left after a while."""
        group = self.process.pid
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
            while time.monotonic() < deadline:
                self.process.poll()  # reap the leader, or the group never empties
                os.killpg(group, 0)  # ProcessLookupError once every process of the group is gone
                time.sleep(0.1)
            os.killpg(group, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_SECONDS)


def _wait_healthy(server: Server, deadline: float) -> bool:
    """True once /healthz answers 200; False if the process died first."""
    with httpx.Client(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if http.get(f"{server.base_url}/healthz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"server on port {server.port} not healthy after {START_TIMEOUT_SECONDS}s\n{server.output()}")


def start_server(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    logs: Path,
    port_option: str = "--port",
    port_arguments: Callable[[int], Sequence[str]] | None = None,
    group: bool = False,
) -> Server:
    """Start `command --port <free port>` (or `command *port_arguments(port)`) and wait for /healthz; retry on
    another port if it lost the port race. `group`: in a process group of its own, stopped as a whole."""
    logs.mkdir(parents=True, exist_ok=True)
    last_output = ""
    for attempt in range(3):
        port = free_port()
        stdout_path = logs / f"server-{port}-{attempt}.out"
        stderr_path = logs / f"server-{port}-{attempt}.err"
        arguments = port_arguments(port) if port_arguments else (port_option, str(port))
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(
                [*command, *arguments], cwd=cwd, env=dict(env), stdout=out, stderr=err, start_new_session=group
            )
        server = Server(process=process, port=port, stdout_path=stdout_path, stderr_path=stderr_path, group=group)
        try:
            if _wait_healthy(server, time.monotonic() + START_TIMEOUT_SECONDS):
                return server
        except BaseException:
            server.stop()
            raise
        server.stop()
        last_output = server.output()
        if "address already in use" not in last_output.lower():
            break
    raise RuntimeError(f"the server did not start\n{last_output}")


@dataclass
class LiveApi:
    """A uvicorn server of the real app on the test database, and an admin key for it."""

    server: Server
    admin_key: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self, key: str | None = None) -> httpx.Client:
        """A new HTTP client; each thread of a race gets its own, so requests really run at once."""
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)

    def race(self, requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
        """Send (method, path, body) requests at once, one thread and one open connection each.

        Every connection is opened first and all requests are released by one barrier; the
        answers come back in request order.
        """
        barrier = threading.Barrier(len(requests))
        answers: list[httpx.Response | None] = [None] * len(requests)
        errors: list[BaseException] = []

        def fire(index: int, method: str, path: str, body: dict[str, Any]) -> None:
            try:
                with self.client() as http:
                    http.get("/healthz")  # open the connection before the start line
                    barrier.wait(timeout=REQUEST_TIMEOUT_SECONDS)
                    answers[index] = http.request(method, path, json=body)
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=fire, args=(i, *request)) for i, request in enumerate(requests)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=2 * REQUEST_TIMEOUT_SECONDS)
        assert not any(thread.is_alive() for thread in threads), "a racing request never came back"
        if errors:
            raise errors[0]
        assert all(answer is not None for answer in answers)
        return [answer for answer in answers if answer is not None]


@pytest.fixture
def live_api(clean_db: Database, tmp_path: Path) -> Iterator[LiveApi]:
    """`python -m uvicorn api.main:app` on a free port, on the freshly migrated test database."""
    admin_key = make_key(clean_db.engine, Role.admin, "system test admin")
    env = clean_env(PROLO_DATABASE_URL=clean_db.url, PROLO_CLINIC_TIMEZONE=CLINIC_TIMEZONE)
    server = start_server(
        # --timeout-keep-alive: a race opens every connection before its start line; on a loaded machine
        # that takes longer than uvicorn's 5 s idle limit, and a connection closed as idle says nothing of Prolo
        [*UVICORN, "--timeout-keep-alive", str(int(REQUEST_TIMEOUT_SECONDS))],
        env=env,
        cwd=tmp_path,  # no stray .env or prolo.db from the repository's directory
        logs=tmp_path / "logs",
    )
    try:
        yield LiveApi(server=server, admin_key=admin_key)
    finally:
        server.stop()


@pytest.fixture
def prolo_live(clean_db: Database, tmp_path: Path) -> Iterator[LiveApi]:
    """`prolo serve` as in production (its logging, its link secret, links naming the address it serves on)."""
    admin_key = make_key(clean_db.engine, Role.admin, "live test admin")
    prolo = str(Path(sys.executable).with_name("prolo"))
    env = clean_env(
        PROLO_DATABASE_URL=clean_db.url,
        PROLO_CLINIC_TIMEZONE="Europe/Berlin",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    server = start_server([prolo, "serve", "--host", "127.0.0.1"], env=env, cwd=tmp_path, logs=tmp_path / "logs")
    try:
        yield LiveApi(server=server, admin_key=admin_key)
    finally:
        server.stop()


@pytest.fixture
def prolo_staff(prolo_live: LiveApi) -> Iterator[httpx.Client]:
    with prolo_live.client() as http:
        yield http


@pytest.fixture
def prolo_phone(prolo_live: LiveApi) -> Iterator[httpx.Client]:
    """The patient's browser: no key, redirects followed only when a test says so."""
    with httpx.Client(base_url=prolo_live.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        yield http


def assert_problem(response: httpx.Response | httpx2.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem answer with this status; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


SMS_SECRET = "webhook-secret-for-tests"
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture
def sms_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator["WebhookReceiver"]:
    """An SMS webhook on 127.0.0.1 checking signatures made with SMS_SECRET. The webhook channel honours
    HTTP(S)_PROXY like any urllib client, so they are unset: the receiver is local."""
    from tests.system.receivers import webhook_receiver  # it imports this module's free_port

    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with webhook_receiver(SMS_SECRET) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    """Debian's Chromium, headless, driven by Playwright (the patients' pages as patients see them)."""
    from playwright.sync_api import sync_playwright

    from tests.system.browser import tool

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=tool("chromium"), args=["--no-sandbox"], headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
