"""Secret feed URLs (S9): an app subscribes without a key, a new URL stops the old, a leaked URL tells little."""

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from models import Role
from tests.api.calendar_reading import ICALENDAR, read_feed, sessions_of, unfolded_text, without_key
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock, Database, make_key, new_id

PREFIX = "http://testserver/v1/calendar/"


def new_url(client: TestClient, owner: str, owner_id: str) -> str:
    answer = client.post(f"/v1/{owner}/{owner_id}/calendar-token")
    assert answer.status_code == 201, answer.text
    url: str = answer.json()["url"]
    assert url.startswith(PREFIX) and url.endswith(".ics")
    return url


def fetch(client: TestClient, url: str, **headers: str) -> Any:
    with without_key(client):
        return client.get(url, headers=headers)


@pytest.mark.parametrize("owner", ["patients", "practitioners"])
def test_s9_a_calendar_app_subscribes_by_the_secret_url_without_a_key(client: TestClient, owner: str) -> None:
    pat, prac = patient(client), practitioner(client)
    book(client, pat, prac)
    url = new_url(client, owner, pat["id"] if owner == "patients" else prac["id"])
    answer = fetch(client, url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == ICALENDAR
    assert len(sessions_of(read_feed(answer.content))) == 6
    unchanged = fetch(client, url, **{"If-None-Match": answer.headers["etag"]})
    assert unchanged.status_code == 304  # calendar apps poll: an unchanged feed costs no body


@pytest.mark.parametrize("owner", ["patients", "practitioners"])
def test_s9_a_new_url_revokes_the_old_one(client: TestClient, owner: str) -> None:
    owner_id = (patient(client) if owner == "patients" else practitioner(client))["id"]
    old = new_url(client, owner, owner_id)
    assert fetch(client, old).status_code == 200
    new = new_url(client, owner, owner_id)
    assert new != old
    gone = fetch(client, old)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("application/problem+json")
    assert fetch(client, new).status_code == 200


def test_s9_tokens_are_stored_only_as_their_sha256(client: TestClient, clean_db: Database) -> None:
    pat, prac = patient(client), practitioner(client)
    tokens = [new_url(client, "patients", pat["id"]), new_url(client, "practitioners", prac["id"])]
    tokens = [url.removeprefix(PREFIX).removesuffix(".ics") for url in tokens]
    with clean_db.engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(text("SELECT * FROM calendar_token"))]
    stored = " ".join(str(value) for row in rows for value in row.values())
    assert not any(token in stored for token in tokens)
    assert sorted(row["token_hash"] for row in rows) == sorted(hashlib.sha256(t.encode()).hexdigest() for t in tokens)


CANARIES = {
    "condition": "Canarycondition lumbar",
    "medication": "Advil Canarymedication 200 mg",
    "allergy": "Canaryallergy",
    "note": "Canarynote",
    "adverse event note": "Canaryadverse",
    "cancel reason": "Canaryreason",
    "move reason": "Canarymove",
    "family name": "Canaryfamily",
    "MRN": "MRN-CANARY-1",
    "phone": "+493055501234",  # as stored (E.164)
    "email": "canary@example.org",
}


def test_s9_a_token_feed_names_no_condition_medication_allergy_or_note(client: TestClient, clock: Clock) -> None:
    client.put("/v1/clinic", json={"name": "Isar Prolotherapy", "timezone": "Europe/Berlin"})
    pat = patient(
        client,
        mrn=CANARIES["MRN"],
        given_name="Maria",
        family_name=CANARIES["family name"],
        phone=CANARIES["phone"],
        email=CANARIES["email"],
        medications=[CANARIES["medication"]],
        allergies=[CANARIES["allergy"]],
    )
    prac = practitioner(client)
    course = book(client, pat, prac, condition=CANARIES["condition"])
    first, second, last = course["sessions"][0], course["sessions"][1], course["sessions"][5]
    clock.now = datetime(2027, 3, 1, 8, 5, tzinfo=UTC)
    assert client.post(f"/v1/sessions/{first['id']}/check-in").status_code == 200
    record = {
        "injections": [{"site": "left SI joint", "injectate": "dextrose 15%", "volume_ml": 6}],
        "pain_before": 6,
        "adverse_events": [{"type": "bruising", "severity": "mild", "notes": CANARIES["adverse event note"]}],
        "notes": CANARIES["note"],
    }
    assert client.post(f"/v1/sessions/{first['id']}/complete", json=record).status_code == 200
    assert (
        client.post(f"/v1/sessions/{second['id']}/cancel", json={"reason": CANARIES["cancel reason"]}).status_code
        == 200
    )
    move = {"start": "2027-05-11T09:00:00+02:00", "reason": CANARIES["move reason"]}
    assert client.post(f"/v1/sessions/{last['id']}/reschedule", json=move).status_code == 200

    for owner, owner_id in (("patients", pat["id"]), ("practitioners", prac["id"])):
        staff = client.get(f"/v1/{owner}/{owner_id}/calendar.ics")
        assert CANARIES["condition"] in unfolded_text(staff.content)  # the canaries do reach a staff feed
        leaked = fetch(client, new_url(client, owner, owner_id))
        read_feed(leaked.content)
        found = {
            name for name, value in CANARIES.items() if value.casefold() in unfolded_text(leaked.content).casefold()
        }
        assert found == set(), f"the {owner} token feed shows the {found}"
        assert "Advil" not in unfolded_text(leaked.content)
    patient_staff = unfolded_text(client.get(f"/v1/patients/{pat['id']}/calendar.ics").content)
    assert f"Pause {CANARIES['medication']} (contains ibuprofen)." in patient_staff
    practitioner_leaked = read_feed(fetch(client, new_url(client, "practitioners", prac["id"])).content)
    assert {s.summary for s in sessions_of(practitioner_leaked)} >= {
        "Session 3 · M. C.",
        "Cancelled: Session 2 · M. C.",
    }
    patient_leaked = read_feed(fetch(client, new_url(client, "patients", pat["id"])).content)
    nsaid_day = next(i for i in patient_leaked.values() if "avoid_nsaids" in i.uid)
    assert "ibuprofen" in nsaid_day.description  # generic advice stays: the protocol's, not the patient's drugs


def test_s9_token_urls_for_unknown_owners_and_unknown_or_malformed_tokens(client: TestClient) -> None:
    assert client.post(f"/v1/patients/{new_id()}/calendar-token").status_code == 404
    assert client.post(f"/v1/practitioners/{new_id()}/calendar-token").status_code == 404
    assert fetch(client, PREFIX + "A" * 43 + ".ics").status_code == 404
    assert fetch(client, PREFIX + "not!a~token.ics").status_code == 422


def test_s9_who_may_make_a_secret_url(client: TestClient, clean_db: Database) -> None:
    pat = patient(client)
    frontdesk = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.frontdesk)}"}
    dispatcher = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.dispatcher)}"}
    assert client.post(f"/v1/patients/{pat['id']}/calendar-token", headers=frontdesk).status_code == 201
    assert client.post(f"/v1/patients/{pat['id']}/calendar-token", headers=dispatcher).status_code == 403
    with without_key(client):
        assert client.post(f"/v1/patients/{pat['id']}/calendar-token").status_code == 401


def test_s9_the_url_uses_the_public_address_when_one_is_set(client: TestClient) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(update={"public_url": "https://prolo.example.org/"})  # type: ignore[attr-defined]
    url = client.post(f"/v1/patients/{patient(client)['id']}/calendar-token").json()["url"]
    assert url.startswith("https://prolo.example.org/v1/calendar/") and url.endswith(".ics")
