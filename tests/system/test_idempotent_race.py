"""S5 on a live server: requests racing under one Idempotency-Key have one effect and one answer."""

import threading
from typing import Any

import httpx
import pytest

from tests.api.helpers import patient, practitioner
from tests.system.conftest import REQUEST_TIMEOUT_SECONDS, LiveApi

pytestmark = pytest.mark.system
RACERS = 8


def race_with_one_key(live_api: LiveApi, path: str, body: dict[str, Any], key: str) -> list[httpx.Response]:
    """RACERS identical POSTs under one key, released at once, each on its own open connection."""
    barrier = threading.Barrier(RACERS)
    answers: list[httpx.Response] = []
    errors: list[BaseException] = []

    def fire() -> None:
        try:
            with live_api.client() as http:
                http.get("/healthz")  # the connection is open before the start line
                barrier.wait(timeout=REQUEST_TIMEOUT_SECONDS)
                answers.append(http.post(path, json=body, headers={"Idempotency-Key": key}))
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=fire) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * REQUEST_TIMEOUT_SECONDS)
    assert not errors, errors
    assert len(answers) == RACERS, "a racing request never came back"
    return answers


def test_s5_bookings_racing_under_one_key_book_one_course(live_api: LiveApi) -> None:
    with live_api.client() as http:
        prac, pat = practitioner(http), patient(http)
    request = {"patient_id": pat["id"], "practitioner_id": prac["id"], "start_date": "2030-03-04", "condition": "knee"}

    answers = race_with_one_key(live_api, "/v1/courses", request, "front-desk-retry-42")

    # Each racer either waited for the first and got its answer, or was the first: one course, one body.
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == RACERS - 1
    with live_api.client() as http:
        assert http.get("/v1/courses", params={"patient_id": pat["id"]}).json()["total"] == 1
        assert http.get("/v1/sessions", params={"patient_id": pat["id"]}).json()["total"] == 6
