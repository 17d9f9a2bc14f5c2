"""The day view's answer cache across processes: a poll never answers a day older than a commit that finished
before it began (api/store/freshness.py), on PostgreSQL and on SQLite.

Two servers (two processes, as two workers or two replicas run) share the test database. A session is
moved again and again, each time with a new reason, through one server, then through the other: the next
poll through the other server, whose answer was kept from before the write, must show the move. Meanwhile
pollers ask both servers without pause, and every answer is checked against the writes that had finished
when its poll began.
"""

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models import Role
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Database, make_key
from tests.system.conftest import CLINIC_TIMEZONE, LiveApi, clean_env, start_server

pytestmark = pytest.mark.system

ALTERNATIONS = 300
DAY = "2030-03-04"
TIMES = ("09:00", "10:00")  # the session moves between them; its reason says which write moved it
POLLERS = 2


@pytest.fixture
def two_servers(clean_db: Database, tmp_path: Path) -> Iterator[list[LiveApi]]:
    admin_key = make_key(clean_db.engine, Role.admin, "system test admin")
    env = clean_env(PROLO_DATABASE_URL=clean_db.url, PROLO_CLINIC_TIMEZONE=CLINIC_TIMEZONE)
    servers = []
    try:
        for number in range(2):
            server = start_server(
                [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--log-level", "warning"],
                env=env,
                cwd=tmp_path,
                logs=tmp_path / f"logs-{number}",
            )
            servers.append(LiveApi(server=server, admin_key=admin_key))
        yield servers
    finally:
        for live in servers:
            live.server.stop()


def _write_number(answer: httpx.Response, session_id: str) -> int:
    """Which write the day view shows (-1: the booking's), checking it shows that write's time too."""
    assert answer.status_code == 200, answer.text
    (shown,) = [item for item in answer.json()["items"] if item["id"] == session_id]
    reason = shown["change_reason"]
    if reason is None:
        return -1
    number = int(reason.removeprefix("write "))
    assert f"T{TIMES[number % 2]}" in shown["start_local"], "the reason and the time come from one commit"
    return number


def test_a_write_through_one_process_shows_in_the_next_poll_through_the_other(two_servers: list[LiveApi]) -> None:
    with two_servers[0].client() as http:
        course = book(http, patient(http), practitioner(http), start_date=DAY, session_count=1)
    session = course["sessions"][0]
    offset = session["start_local"][-6:]
    day = {"date": DAY}
    finished: list[float] = []  # when each write's answer came back: its commit had finished
    stop = threading.Event()
    problems: list[str] = []
    polls = [0]

    def poll_without_pause(live: LiveApi) -> None:
        with live.client() as http:
            while not stop.is_set():
                began = time.monotonic()
                done_before = sum(1 for at in list(finished) if at < began)  # writes finished before this poll
                shown = _write_number(http.get("/v1/sessions", params=day), session["id"])
                polls[0] += 1
                if shown < done_before - 1:
                    problems.append(f"a poll showed write {shown} after write {done_before - 1} had finished")

    pollers = [threading.Thread(target=poll_without_pause, args=(two_servers[n % 2],)) for n in range(POLLERS)]
    for thread in pollers:
        thread.start()
    clients = [live.client() for live in two_servers]
    try:
        for number in range(ALTERNATIONS):
            writer, reader = clients[number % 2], clients[(number + 1) % 2]
            before = _write_number(reader.get("/v1/sessions", params=day), session["id"])  # kept by the reader
            assert before == number - 1
            moved = {"start": f"{DAY}T{TIMES[number % 2]}:00{offset}", "reason": f"write {number}"}
            answer = writer.post(f"/v1/sessions/{session['id']}/reschedule", json=moved)
            assert answer.status_code == 200, answer.text
            finished.append(time.monotonic())
            shown = _write_number(reader.get("/v1/sessions", params=day), session["id"])
            assert shown == number, f"write {number} through one process, the other's next poll showed {shown}"
    finally:
        stop.set()
        for thread in pollers:
            thread.join()
        for http in clients:
            http.close()
    assert not problems, problems[:5]
    assert polls[0] > ALTERNATIONS, "the pollers polled all along"
