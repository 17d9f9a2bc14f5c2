"""Patient links for staff and in messages (R23, R24, R28): one link per session, revoked by rows."""

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.settings import Settings
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock, Database

PUBLIC = "https://prolo.example.org"
LINK = re.compile(re.escape(PUBLIC) + r"/p/([A-Za-z0-9_-]{22})")


@pytest.fixture
def settings(clean_db: Database) -> Settings:
    return Settings(
        database_url=clean_db.url, clinic_timezone="Europe/Berlin", api_key_cache_seconds=0, public_url=PUBLIC
    )


def texting_patient(client: TestClient, **fields: Any) -> dict[str, Any]:
    return patient(client, phone="+4930123456", reminder_channel="sms", reminder_consent=True, **fields)


def link_of(client: TestClient, session_id: str) -> dict[str, Any]:
    answer = client.post(f"/v1/sessions/{session_id}/link")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def pending_texts(db: Database, session_id: str) -> list[str]:
    """The appointment reminders still to go for a session, as the patient will read them."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT session_id, body FROM reminder WHERE kind = 'appointment' AND status = 'pending'")
        ).all()
    return [body for sid, body in rows if str(sid).replace("-", "") == session_id.replace("-", "")]


def test_r23_a_session_has_one_link_until_it_is_revoked(client: TestClient, clean_db: Database) -> None:
    course = book(client, texting_patient(client), practitioner(client))
    session = course["sessions"][1]
    first, again = link_of(client, session["id"]), link_of(client, session["id"])
    assert first == again  # every message about the session carries the same link
    match = LINK.fullmatch(first["url"])
    assert match is not None, first["url"]
    token = match.group(1)
    # the row keeps the token's SHA-256, never the token itself
    with clean_db.engine.connect() as conn:
        hashes = [row[0] for row in conn.execute(text("SELECT token_hash FROM patient_link"))]
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert all(token not in h for h in hashes)
    # it works until a day after the session began (booked within 90 days of now)
    start = datetime.fromisoformat(session["start"])
    assert datetime.fromisoformat(first["expires_at"]) == start + timedelta(hours=24)


def test_r23_appointment_reminders_carry_the_sessions_link(client: TestClient, clean_db: Database) -> None:
    course = book(client, texting_patient(client), practitioner(client))
    for session in course["sessions"]:
        texts = pending_texts(clean_db, session["id"])
        assert len(texts) == 2  # 48 h and 2 h before
        url = link_of(client, session["id"])["url"]
        assert all(url in t and t.count("/p/") == 1 for t in texts), texts  # one link, the session's


def test_r24_a_new_phone_ends_the_links_and_the_next_message_carries_a_new_one(
    client: TestClient, clean_db: Database
) -> None:
    pat = texting_patient(client)
    course = book(client, pat, practitioner(client))
    session_id = course["sessions"][0]["id"]
    old = link_of(client, session_id)
    changed = client.patch(f"/v1/patients/{pat['id']}", json={"phone": "+4930999999"})
    assert changed.status_code == 200, changed.text
    new = link_of(client, session_id)
    assert new["url"] != old["url"] and new["link_id"] != old["link_id"]
    assert all(new["url"] in t for t in pending_texts(clean_db, session_id))
    links = client.get(f"/v1/patients/{pat['id']}/links").json()
    revoked = {item["id"]: item["revoked_at"] for item in links}
    assert revoked[old["link_id"]] is not None and revoked[new["link_id"]] is None
    assert all("url" not in item and "token" not in str(item) for item in links)


def test_r24_a_name_change_keeps_the_links(client: TestClient) -> None:
    pat = texting_patient(client)
    session_id = book(client, pat, practitioner(client))["sessions"][0]["id"]
    old = link_of(client, session_id)
    assert client.patch(f"/v1/patients/{pat['id']}", json={"given_name": "Mia"}).status_code == 200
    assert link_of(client, session_id) == old


def test_r28_staff_revoke_one_link_or_all(client: TestClient, clean_db: Database) -> None:
    pat = texting_patient(client)
    sessions = book(client, pat, practitioner(client))["sessions"]
    one, two = link_of(client, sessions[0]["id"]), link_of(client, sessions[1]["id"])
    revoked = client.post(f"/v1/links/{one['link_id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert link_of(client, sessions[1]["id"]) == two  # the other session's link still works
    replaced = link_of(client, sessions[0]["id"])
    assert replaced["url"] != one["url"]
    assert all(replaced["url"] in t for t in pending_texts(clean_db, sessions[0]["id"]))
    every = client.post(f"/v1/patients/{pat['id']}/links/revoke")
    assert every.status_code == 200
    assert all(item["revoked_at"] is not None for item in every.json())
    assert link_of(client, sessions[1]["id"])["url"] not in (two["url"],)


def pending_bodies(db: Database, kind: str) -> list[str]:
    with db.engine.connect() as conn:
        query = text("SELECT body FROM reminder WHERE kind = :kind AND status = 'pending'")
        return [body for (body,) in conn.execute(query, {"kind": kind})]


def test_r23_confirm_requests_and_change_notices_carry_the_sessions_link(
    client: TestClient, clean_db: Database
) -> None:
    course = book(client, texting_patient(client), practitioner(client))
    links = {s["id"]: link_of(client, s["id"])["url"] for s in course["sessions"]}
    requests = pending_bodies(clean_db, "confirm_request")
    assert len(requests) == len(links)
    assert sorted(url for body in requests for url in links.values() if url in body) == sorted(links.values())

    second = course["sessions"][1]
    moved = datetime.fromisoformat(second["start"]) + timedelta(days=1)
    answer = client.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": moved.isoformat()})
    assert answer.status_code == 200, answer.text
    [notice] = pending_bodies(clean_db, "change_notice")
    assert links[second["id"]] in notice and notice.count("/p/") == 1  # the moved session's link, no other


def test_r23_a_link_that_ended_before_its_sessions_reminders_is_renewed_by_the_dispatch_pass(
    client: TestClient, clean_db: Database, clock: Clock
) -> None:
    """Booked five months ahead, the last sessions' links (made at booking) end after 90 days, before their
    reminders go: the first dispatch pass after that gives those messages the sessions' next links."""
    course = book(client, texting_patient(client), practitioner(client), start_date="2027-06-07")
    last = course["sessions"][-1]
    old = link_of(client, last["id"])
    assert datetime.fromisoformat(old["expires_at"]) == clock.now + timedelta(days=90)
    clock.now += timedelta(days=91)
    assert all(old["url"] in t for t in pending_texts(clean_db, last["id"]))  # ended: nothing renewed yet
    assert client.post("/v1/reminders/dispatch", json={}).status_code == 200
    new = link_of(client, last["id"])
    assert new["url"] != old["url"]
    texts = pending_texts(clean_db, last["id"])
    assert texts and all(new["url"] in t and t.count("/p/") == 1 for t in texts)
    assert client.post("/v1/reminders/dispatch", json={}).status_code == 200
    assert link_of(client, last["id"]) == new  # a second pass renews nothing
