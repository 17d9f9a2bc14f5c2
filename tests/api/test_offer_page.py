"""The patient's side of a waitlist offer (R23, R43, R44, R32 row 4), through the real app: the message carries
the offer's own link, the page shows the move, Accept takes it as staff would, and SMS YES answers with the link."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.settings import Settings
from tests.api.helpers import clinic_settings, practitioner
from tests.api.inbound_sending import SECRET
from tests.api.offer_setup import FRIDAY, link_in, opening, waiting_patient
from tests.api.patient_page_reading import CANARIES
from tests.conftest import Database

ORIGIN = "https://prolo.example.org"


@pytest.fixture
def settings(clean_db: Database) -> Settings:
    return Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        api_key_cache_seconds=0,
        public_url=ORIGIN,
        inbound_sms_provider="prolo",
        sms_webhook_secret=SECRET,
    )


@pytest.fixture
def prac(client: TestClient) -> dict[str, Any]:
    clinic_settings(client, phone="+49 30 5550100")
    return practitioner(client)


def offered(
    client: TestClient, db: Database, entries: list[dict[str, Any]], opened: dict[str, Any]
) -> list[dict[str, Any]]:
    """Staff offer the opening to these entries; each offer with its message's text (as stored: the API shows
    no patient's text) under "message"."""
    made = client.post(f"/v1/waitlist/openings/{opened['id']}/offers", json={"entry_ids": [e["id"] for e in entries]})
    assert made.status_code == 201, made.text
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT offer_id, body FROM reminder WHERE kind = 'waitlist_offer'")).all()
    messages = {str(uuid.UUID(str(offer_id))): body for offer_id, body in rows}
    by_entry = {o["entry_id"]: {**o, "message": messages[o["id"]]} for o in made.json()}
    return [by_entry[e["id"]] for e in entries]


def test_r43_each_offer_message_carries_its_own_link_the_new_time_and_who_gets_it(
    client: TestClient, clean_db: Database, prac: dict[str, Any]
) -> None:
    entries = [waiting_patient(client, prac, at) for at in ("09:00", "10:00", "11:00")]
    made = offered(client, clean_db, entries, opening(client, prac, FRIDAY))
    paths = [link_in(o["message"]) for o in made]
    assert len(set(paths)) == 3  # one link per offer
    for offer, path in zip(made, paths, strict=True):
        body = offer["message"]
        assert f"{ORIGIN}{path}" in body
        assert "Fri 26 Mar 2027 at 09:00" in body and "no other session moves" in body
        assert "First to accept gets it; otherwise you keep your current time." in body
        for what, canary in CANARIES.items():
            assert canary not in body, what
        links = client.get(f"/v1/patients/{offer['patient_id']}/links").json()
        assert [(k["offer_id"], k["expires_at"]) for k in links if k["purpose"] == "offer"] == [
            (offer["id"], offer["expires_at"])  # R23: until the offer expires
        ]
