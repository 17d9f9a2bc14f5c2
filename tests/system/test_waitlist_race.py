"""R44 against two real API processes on one database: of 8 patients accepting one opening's offers at once,
exactly one moves and seven get 409 `offer_taken`; an accept racing a staff reschedule into the same span gives
exactly one of them. On SQLite (writers serialised) and on PostgreSQL (the practitioner's row lock).

Every request goes over HTTP to `python -m uvicorn api.main:app` on 127.0.0.1, half to each process, from one
thread and one connection each, released by one barrier. The servers' clock is the real one, so the course
runs early next year.
"""

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scheduling.lifecycle import ACTIVE
from tests.conftest import Database
from tests.system.conftest import (
    CLINIC_TIMEZONE,
    REQUEST_TIMEOUT_SECONDS,
    UVICORN,
    LiveApi,
    Server,
    assert_problem,
    clean_env,
    start_server,
)
from tests.system.test_reschedule_race import assert_sound, at_local, created, next_year_monday, stored

pytestmark = pytest.mark.system

TIMES = ("08:00", "08:45", "09:30", "10:15", "11:00", "11:45", "12:30", "13:15")


@pytest.fixture
def second_api(live_api: LiveApi, clean_db: Database, tmp_path: Path) -> Iterator[Server]:
    """Another API process on the same database."""
    env = clean_env(PROLO_DATABASE_URL=clean_db.url, PROLO_CLINIC_TIMEZONE=CLINIC_TIMEZONE)
    server = start_server(
        [*UVICORN, "--timeout-keep-alive", str(int(REQUEST_TIMEOUT_SECONDS))],
        env=env,
        cwd=tmp_path,
        logs=tmp_path / "logs-2",
    )
    try:
        yield server
    finally:
        server.stop()


def race(live_api: LiveApi, other: Server, requests: list[tuple[str, dict[str, Any] | None]]) -> list[httpx.Response]:
    """POST them all at once, alternating between the two processes; the answers in request order."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | None] = [None] * len(requests)
    errors: list[BaseException] = []

    def fire(index: int, path: str, body: dict[str, Any] | None) -> None:
        base = live_api.base_url if index % 2 == 0 else other.base_url
        headers = {"Authorization": f"Bearer {live_api.admin_key}"}
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS) as http:
                http.get("/healthz")
                barrier.wait(timeout=REQUEST_TIMEOUT_SECONDS)
                answers[index] = http.post(path, json=body)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=fire, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * REQUEST_TIMEOUT_SECONDS)
    if errors:
        raise errors[0]
    return [a for a in answers if a is not None]


def offered(live_api: LiveApi, count: int) -> tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """`count` courses from a Monday, each waiting for session 3 earlier; the Friday before those offered to all.

    Friday is 11 days after session 2: inside session 3's window (14 ± 3), so an accept moves nothing else.
    """
    monday = next_year_monday()
    friday = at_local(monday + timedelta(days=25), "15:00")
    with live_api.client() as http:
        prac = str(created(http.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}))["id"])
        entries, other = [], None
        for clock in TIMES[:count]:
            patient = created(
                http.post(
                    "/v1/patients",
                    json={
                        "mrn": f"WAIT-{uuid.uuid4().hex[:12]}",
                        "given_name": "Pat",
                        "family_name": "Waiting",
                        "date_of_birth": "1970-01-01",
                        "email": "pat@example.org",
                        "reminder_channel": "email",
                        "reminder_consent": True,
                    },
                )
            )
            course = created(
                http.post(
                    "/v1/courses",
                    json={
                        "patient_id": patient["id"],
                        "practitioner_id": prac,
                        "start_date": monday.isoformat(),
                        "preferred_time": clock,
                        "condition": "knee",
                    },
                )
            )
            other = other or course
            entries.append(created(http.post("/v1/waitlist", json={"session_id": course["sessions"][2]["id"]})))
        span = {
            "practitioner_id": prac,
            "start": friday.isoformat(),
            "end": (friday + timedelta(minutes=45)).isoformat(),
        }
        opening = created(http.post("/v1/waitlist/openings", json=span))
        made = http.post(
            f"/v1/waitlist/openings/{opening['id']}/offers", json={"entry_ids": [e["id"] for e in entries]}
        )
        assert made.status_code == 201, made.text
    assert other is not None
    return prac, opening, made.json(), other


def test_r44_eight_concurrent_accepts_one_winner_seven_offer_taken(
    live_api: LiveApi, second_api: Server, clean_db: Database
) -> None:
    prac, opening, offers, _ = offered(live_api, 8)
    answers = race(live_api, second_api, [(f"/v1/waitlist/offers/{o['id']}/accept", None) for o in offers])
    assert Counter(a.status_code for a in answers) == {200: 1, 409: 7}, [a.text for a in answers]
    for answer in (a for a in answers if a.status_code == 409):
        assert assert_problem(answer, 409)["code"] == "offer_taken"
    assert_sound(live_api, clean_db.engine, prac)
    with live_api.client() as http:
        assert http.get(f"/v1/waitlist/openings/{opening['id']}").json()["status"] == "filled"
        states = Counter(
            o["status"] for o in http.get("/v1/waitlist/offers", params={"opening_id": opening["id"]}).json()["items"]
        )
    assert states == {"accepted": 1, "taken": 7}
    # the database holds one active session at the offered time (assert_sound: and no overlap)
    friday = datetime.fromisoformat(offers[0]["proposed"]["session"]["start"])
    rows = stored(clean_db.engine, prac).values()
    assert [r[0] for r in rows if r[2] in ACTIVE and r[0] == friday] == [friday]


def test_r44_an_accept_racing_a_staff_reschedule_into_the_span_gives_one_of_them(
    live_api: LiveApi, second_api: Server, clean_db: Database
) -> None:
    prac, _, offers, other = offered(live_api, 2)
    start = offers[0]["proposed"]["session"]["start"]
    moving = other["sessions"][1]  # session 2 of the first course, into the same Friday span
    answers = race(
        live_api,
        second_api,
        [
            (f"/v1/waitlist/offers/{offers[1]['id']}/accept", None),
            (f"/v1/sessions/{moving['id']}/reschedule", {"start": start}),
        ],
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert assert_problem(refused, 409)["code"] in ("slot_held", "slot_unavailable", "offer_taken")
    assert_sound(live_api, clean_db.engine, prac)
