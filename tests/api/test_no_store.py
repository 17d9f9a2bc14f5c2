"""S7: answers with patient data are kept by no browser or proxy (`Cache-Control: no-store`).

Front-desk browsers are shared. Every answer to a request made with an API key is
`no-store`: the test reads every GET route of the OpenAPI document that needs a key
(a new one is covered without a change here), and a change's answer too.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session as DbSession

from models import InboundMessage, WaitlistOffer
from scheduling.replies import Intent, Outcome
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Database

# Routes a key does not open: they set their own caching (S8, S9).
WITHOUT_KEY = {"/healthz", "/readyz", "/v1/calendar/{token}.ics"}
# Values for the query parameters a route requires.
QUERY = {"on": "2027-03-01", "from": "2027-03-01", "to": "2027-03-14", "date": "2027-03-01"}


@pytest.fixture
def ids(client: TestClient, clean_db: Database) -> dict[str, Any]:
    pat = patient(client, email="maria@example.org", reminder_channel="email", reminder_consent=True)
    course = book(client, pat, practitioner(client), session_count=1)
    entry = client.post("/v1/waitlist", json={"session_id": course["sessions"][0]["id"]}).json()
    client.post(f"/v1/sessions/{course['sessions'][0]['id']}/reschedule", json={"start": "2027-03-02T09:00:00+01:00"})
    opening = client.get("/v1/waitlist/openings").json()["items"][0]
    return {
        "offer_id": str(_an_offer(clean_db, opening["id"], entry)),
        "entry_id": entry["id"],
        "opening_id": opening["id"],
        "patient_id": pat["id"],
        "practitioner_id": course["practitioner_id"],
        "protocol_id": course["protocol_id"],
        "course_id": course["id"],
        "session_id": course["sessions"][0]["id"],
        "reminder_id": client.get("/v1/reminders").json()["items"][0]["id"],
        "key_id": client.get("/v1/api-keys").json()["items"][0]["id"],
        "inbound_id": _a_text_received(clean_db),
    }


def _an_offer(database: Database, opening_id: str, entry: dict[str, Any]) -> uuid.UUID:
    """An offer row as a dispatch pass would have made it (whether it fits is not this test's question)."""
    now = datetime.now(UTC)
    offer = WaitlistOffer(
        opening_id=uuid.UUID(opening_id),
        entry_id=uuid.UUID(entry["id"]),
        patient_id=uuid.UUID(entry["patient_id"]),
        session_id=uuid.UUID(entry["session_id"]),
        proposed={"session": {}, "moved": []},
        created_at=now,
    )
    with DbSession(database.engine) as db:
        db.add(offer)
        db.commit()
        return offer.id


def _a_text_received(database: Database) -> str:
    """An inbound SMS as the provider's webhook would have stored it (this app has no provider configured)."""
    now = datetime.now(UTC)
    with DbSession(database.engine) as db:
        row = InboundMessage(
            provider="prolo", provider_message_id="m-1", from_number="+493012345678", body="C",
            received_at=now, created_at=now, session_ids=[], intent=Intent.unclear, outcome=Outcome.none,
        )  # fmt: skip
        db.add(row)
        db.commit()
        return str(row.id)


def test_s7_every_answer_read_with_a_key_is_no_store(client: TestClient, ids: dict[str, Any]) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    reads = {path: op["get"] for path, op in paths.items() if "get" in op and path not in WITHOUT_KEY}
    assert {"/v1/patients/{patient_id}", "/v1/audit-events", "/v1/courses/{course_id}/fhir"} <= set(reads)
    for path, operation in reads.items():
        query = {
            p["name"]: QUERY[p["name"]]
            for p in operation.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        }
        answer = client.get(path.format(**ids), params=query)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:200]}"
        assert answer.headers.get("cache-control") == "no-store", f"{path}: {answer.headers.get('cache-control')}"


def test_s7_changes_and_refusals_made_with_a_key_are_no_store_too(client: TestClient, ids: dict[str, Any]) -> None:
    made = client.patch(f"/v1/patients/{ids['patient_id']}", json={"given_name": "Mia"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    missing = client.get("/v1/patients/01a24bf3-0000-7000-8000-000000000000")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"
    # a patient's calendar read with a key names them and their condition; the same for its 304
    feed = client.get(f"/v1/patients/{ids['patient_id']}/calendar.ics")
    again = client.get(
        f"/v1/patients/{ids['patient_id']}/calendar.ics", headers={"If-None-Match": feed.headers["etag"]}
    )
    assert (again.status_code, feed.headers["cache-control"], again.headers["cache-control"]) == (
        304,
        "no-store",
        "no-store",
    )
