"""R11, S6 on PostgreSQL: a change that waited for another writer's lock acts on the row as that writer left it.

A use case reads a session to learn whom to lock (its practitioner, patient, course),
then locks them and the session. While it waits for the course's lock, another writer
cancels the session and commits. Once the lock is granted, the waiting writer must see
the cancellation: confirming a cancelled session is refused (409). Reading the row again
under the lock is what makes that so; kept from before the wait, the stale `scheduled`
would be confirmed and the other writer's cancellation silently undone.
On SQLite the first statement of a writer takes the write lock, so no read can go stale.
"""

import threading
import time

import httpx
import psycopg
import pytest

from tests.api.helpers import book, patient, practitioner
from tests.conftest import Database
from tests.system.conftest import LiveApi, assert_problem

pytestmark = pytest.mark.system
WAIT_SECONDS = 30


def test_s6_r11_a_confirm_that_waited_for_a_cancel_sees_the_cancel(live_api: LiveApi, clean_db: Database) -> None:
    if clean_db.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite a writer holds the write lock from its first statement: nothing it read goes stale")
    with live_api.client() as http:
        course = book(http, patient(http), practitioner(http), start_date="2030-03-04", session_count=1)
    session_id = course["sessions"][0]["id"]
    url = clean_db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    answers: list[httpx.Response] = []

    with psycopg.connect(url) as other, psycopg.connect(url, autocommit=True) as watcher:
        other.execute("SELECT 1 FROM course WHERE id = %s FOR UPDATE", (course["id"],))  # the other writer's lock

        def confirm() -> None:
            with live_api.client() as http:
                answers.append(http.post(f"/v1/sessions/{session_id}/confirm"))

        confirming = threading.Thread(target=confirm)
        confirming.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while not watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%%FOR UPDATE%%'"
        ).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "the confirm never came to wait for the course's lock"
            time.sleep(0.02)
        # the confirm has read the session (scheduled) and waits: now the other writer cancels it and commits
        other.execute("UPDATE session SET status = 'cancelled', change_reason = 'ill' WHERE id = %s", (session_id,))
        other.commit()
        confirming.join(timeout=WAIT_SECONDS)

    assert len(answers) == 1, "the confirm never came back"
    body = assert_problem(answers[0], 409)
    assert body["current_status"] == "cancelled"
    with live_api.client() as http:
        assert http.get(f"/v1/sessions/{session_id}").json()["status"] == "cancelled"
