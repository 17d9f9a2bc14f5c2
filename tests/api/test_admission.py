"""Turns at the database (api/store/admission.py): a request that gets none in time is told so; nothing is written."""

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.store.admission import Admission, AdmissionTimeout, Deadline
from tests.api.helpers import patient
from tests.conftest import Database, another_writer
from tests.system.conftest import assert_problem

WAIT_SECONDS = 0.2
DEADLINE = 1.0  # for the tests that measure the deadline itself
PATIENT = {"mrn": "MRN-BUSY", "given_name": "Maria", "family_name": "Keller", "date_of_birth": "1971-04-09"}


@pytest.fixture
def admission(client: TestClient) -> Iterator[Admission]:
    """The app's turns, with one writer, two slots and a short wait."""
    state = client.app.state  # type: ignore[attr-defined]
    kept, kept_wait = state.admission, state.settings.db_wait_seconds
    state.admission = Admission(slots=2, writers=1)
    state.settings.db_wait_seconds = WAIT_SECONDS
    yield state.admission
    state.admission, state.settings.db_wait_seconds = kept, kept_wait


def held() -> Deadline:
    """How long this test's other writer or reader holds its turn: longer than any request here waits."""
    return Deadline(60)


def test_a_write_that_gets_no_turn_is_503_with_retry_after_and_stores_nothing(
    client: TestClient, admission: Admission
) -> None:
    assert client.portal is not None
    with client.portal.wrap_async_context_manager(admission.write(held())):  # another writer holds the turn
        refused = client.post("/v1/patients", json=PATIENT)
        read_meanwhile = client.get("/v1/patients")

    body = assert_problem(refused, 503)
    assert "busy" in body["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    assert read_meanwhile.status_code == 200  # a writer in the way holds up no reader
    assert client.get("/v1/patients", params={"q": "MRN-BUSY"}).json()["total"] == 0
    assert client.post("/v1/patients", json=PATIENT).status_code == 201  # the turn is free again


def test_a_booking_that_gets_no_turn_is_503(client: TestClient, admission: Admission) -> None:
    pat = patient(client)
    prac = client.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}).json()
    request = {"patient_id": pat["id"], "practitioner_id": prac["id"], "start_date": "2027-03-01", "condition": "knee"}
    assert client.portal is not None
    with client.portal.wrap_async_context_manager(admission.write(held())):
        assert_problem(client.post("/v1/courses", json=request), 503)
    assert client.get("/v1/courses", params={"patient_id": pat["id"]}).json()["total"] == 0


def test_a_read_that_gets_no_slot_is_503(client: TestClient, admission: Admission) -> None:
    assert client.portal is not None
    with (
        client.portal.wrap_async_context_manager(admission.read(held())),
        client.portal.wrap_async_context_manager(admission.read(held())),
    ):
        assert_problem(client.get("/v1/patients"), 503)
        assert_problem(client.get("/v1/sessions", params={"date": "2027-03-01"}), 503)
    assert client.get("/v1/patients").status_code == 200


def test_a_malformed_booking_gets_its_422_at_once_while_writers_queue(client: TestClient, admission: Admission) -> None:
    assert client.portal is not None
    with client.portal.wrap_async_context_manager(admission.write(held())):
        response = client.post("/v1/courses", json={"patient_id": "not-an-id"})
    assert_problem(response, 422)


def test_a_client_slow_to_read_its_answer_holds_up_no_writer(client: TestClient, admission: Admission) -> None:
    """The turn ends when the route has its answer, not when the client has read it."""
    key = client.headers["Authorization"].encode()
    body = json.dumps(PATIENT).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/patients",
        "raw_path": b"/v1/patients",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", key), (b"content-type", b"application/json"), (b"host", b"prolo")],
        "client": ("127.0.0.1", 50000),
        "server": ("prolo", 80),
        "state": {},
    }

    async def scenario() -> tuple[int, bool]:
        client_reads = asyncio.Event()
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                await client_reads.wait()  # the client's socket buffer is full; the server waits to send

        answering: asyncio.Task[None] = asyncio.create_task(client.app(scope, receive, send))  # type: ignore[arg-type]
        while not status:
            await asyncio.sleep(0.01)
        try:
            async with admission.write(Deadline(WAIT_SECONDS)):  # another writer gets its turn meanwhile
                writer_got_in = True
        except AdmissionTimeout:
            writer_got_in = False
        client_reads.set()
        await answering
        return status[0], writer_got_in

    assert client.portal is not None
    assert client.portal.call(scenario) == (201, True)


@pytest.mark.parametrize("turn_held_seconds", [0.0, 0.6])
def test_a_request_waits_one_deadline_in_all_then_503(
    client: TestClient, clean_db: Database, turn_held_seconds: float
) -> None:
    """The wait for a turn and the wait for the database's lock share one deadline: they never add up."""
    state = client.app.state  # type: ignore[attr-defined]
    state.settings.db_wait_seconds = DEADLINE
    pat = patient(client)
    prac = client.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}).json()
    request = {"patient_id": pat["id"], "practitioner_id": prac["id"], "start_date": "2027-03-01", "condition": "knee"}

    async def hold_the_writers_turn() -> None:
        async with state.admission.write(held()):
            await asyncio.sleep(turn_held_seconds)

    assert client.portal is not None
    with another_writer(clean_db, ("practitioner", prac["id"])):
        if turn_held_seconds:
            client.portal.start_task_soon(hold_the_writers_turn)
        started = time.monotonic()
        refused = client.post("/v1/courses", json=request)
        waited = time.monotonic() - started
    assert_problem(refused, 503)
    assert int(refused.headers["Retry-After"]) > 0
    # the deadline, give or take scheduling; the old layers would each have waited their own 30 s
    assert DEADLINE * 0.8 <= waited < DEADLINE * 1.6, waited
    assert client.get("/v1/courses", params={"patient_id": pat["id"]}).json()["total"] == 0
