"""The patient's side of a waitlist offer (R23, R43, R44, R32 row 4), through the real app: the message carries
the offer's own link, the page shows the move, Accept takes it as staff would, and SMS YES answers with the link."""

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.settings import Settings
from tests.api.calendar_reading import without_key
from tests.api.helpers import clinic_settings, created, practitioner
from tests.api.inbound_sending import SECRET, post_prolo
from tests.api.offer_setup import CLOSED, FRIDAY, link_in, opening, waiting_patient
from tests.api.patient_page_reading import CANARIES, as_shown, link_path, page_text
from tests.api.test_patient_page import CSP
from tests.conftest import Clock, Database

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


def audit_count(db: Database) -> int:
    with db.engine.connect() as conn:
        count: int = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
        return count


def shown(start_local: str) -> str:
    """A `start_local` as the page writes it: "Monday 22 March 2027 at 09:00"."""
    return as_shown(start_local).rsplit(" ", 1)[0] + " at " + start_local[11:16]


def test_r44_the_offer_page_shows_the_move_the_aftercare_and_one_accept_form(
    client: TestClient, clean_db: Database, prac: dict[str, Any]
) -> None:
    created(client.post("/v1/closures", json=CLOSED))
    entry = waiting_patient(client, prac, "09:00")
    (offer,) = offered(client, clean_db, [entry], opening(client, prac, FRIDAY))
    path = link_in(offer["message"])
    before = audit_count(clean_db)
    with without_key(client):
        page = client.get(path)
        head = client.head(path)
    assert (page.status_code, head.status_code) == (200, 200)
    assert audit_count(clean_db) == before  # R25: opening a link changes nothing
    for answer in (page, head):
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-robots-tag"] == "noindex"
        assert answer.headers["content-security-policy"] == CSP
    words = page_text(page.text)
    assert "Hello Maria, an earlier time is free for your session 3" in words
    assert "New time Friday 26 March 2027 at 09:00" in words
    assert "Booked now Monday 29 March 2027 at 09:00" in words
    sessions = {s["number"]: s for s in entry["course"]["sessions"]}
    moved = offer["proposed"]["moved"]
    assert [m["number"] for m in moved] == [4, 5, 6]  # the reflow pulls every later session earlier
    for m in moved:
        new_local = datetime.fromisoformat(m["start"]).astimezone(ZoneInfo("Europe/Berlin")).isoformat()
        old = shown(sessions[m["number"]]["start_local"])
        assert f"Your session {m['number']} moves from {old} to {shown(new_local)}." in words
    # the new aftercare dates: the default protocol's NSAID pause starts on the new day
    assert "Fri 26 Mar" in words.split("After your session at the new time", 1)[1]
    assert "Paracetamol/acetaminophen (Tylenol, Panadol) is fine." in words
    assert "First to accept gets it; otherwise you keep your current time." in words
    assert page.text.count("<form") == 1 and f'action="{path}/accept"' in page.text
    assert page.text.count("<h1") == 1 and '<html lang="en">' in page.text
    assert "<script" not in page.text and "http" not in page.text.split("<body>", 1)[1]
    for what, canary in CANARIES.items():
        assert canary not in page.text, what
    assert client.get(f"/v1/sessions/{sessions[3]['id']}").json() == sessions[3]


def test_r44_accept_moves_as_offered_audited_with_the_link_and_a_refresh_repeats_nothing(
    client: TestClient, clean_db: Database, prac: dict[str, Any]
) -> None:
    created(client.post("/v1/closures", json=CLOSED))
    mine, theirs = waiting_patient(client, prac, "09:00"), waiting_patient(client, prac, "10:00")
    opened = opening(client, prac, FRIDAY)
    offer, other = offered(client, clean_db, [mine, theirs], opened)
    path = link_in(offer["message"])
    (link,) = [k for k in client.get(f"/v1/patients/{offer['patient_id']}/links").json() if k["purpose"] == "offer"]
    with without_key(client):
        won = client.post(f"{path}/accept", follow_redirects=False)
        assert won.status_code == 303 and won.headers["location"].startswith(path)
        assert won.headers["content-security-policy"] == CSP
        page = client.get(won.headers["location"])
        after_first = audit_count(clean_db)
        again = client.post(f"{path}/accept", follow_redirects=False)  # a refresh, a second tap
        assert again.status_code == 303
    assert audit_count(clean_db) == after_first
    words = page_text(page.text)
    assert "your session is booked at the new time" in words and "Friday 26 March 2027" in words
    assert "Status Booked" in words and "<form" not in page.text
    course = client.get(f"/v1/courses/{mine['course']['id']}").json()
    starts = {s["number"]: s["start"] for s in course["sessions"]}
    proposed = [offer["proposed"]["session"], *offer["proposed"]["moved"]]
    assert {m["number"]: datetime.fromisoformat(m["start"]) for m in proposed} == {
        n: datetime.fromisoformat(starts[n]) for n in (3, 4, 5, 6)
    }
    # the staff accept's own effects (R44)
    assert client.get(f"/v1/waitlist/openings/{opened['id']}").json()["status"] == "filled"
    assert client.get(f"/v1/waitlist/{mine['id']}").json()["status"] == "fulfilled"
    assert client.get(f"/v1/waitlist/offers/{other['id']}").json()["status"] == "taken"
    notices = client.get("/v1/reminders", params={"kind": "change_notice", "patient_id": mine["patient_id"]})
    assert [r["status"] for r in notices.json()["items"]] == ["pending"]
    session_id = mine["course"]["sessions"][2]["id"]
    events = client.get("/v1/audit-events", params={"entity_id": session_id}).json()["items"]
    assert events[-1]["actor"] == {"id": link["id"], "name": "patient link", "role": "patient_link"}
    offer_events = client.get("/v1/audit-events", params={"entity_id": offer["id"]}).json()["items"]
    assert offer_events[-1]["actor"]["role"] == "patient_link"


def test_r44_a_taken_offer_has_ended_and_its_accept_gets_409_then_the_link_expires_with_the_offer(
    client: TestClient, clean_db: Database, clock: Clock, prac: dict[str, Any]
) -> None:
    first, second = waiting_patient(client, prac, "09:00"), waiting_patient(client, prac, "10:00")
    winner, loser = offered(client, clean_db, [first, second], opening(client, prac, FRIDAY))
    late = link_in(loser["message"])
    with without_key(client):
        assert client.post(f"{link_in(winner['message'])}/accept", follow_redirects=False).status_code == 303
        before = audit_count(clean_db)
        page = client.get(late)
        refused = client.post(f"{late}/accept", follow_redirects=False)
    assert page.status_code == 200 and refused.status_code == 409
    assert audit_count(clean_db) == before
    for answer in (page, refused):
        assert page_text(answer.text).endswith(
            "This offer has ended Your booking is unchanged. Questions? Please call us on +49 30 5550100"
        )
        assert "Maria" not in answer.text and "2027" not in answer.text  # and nothing more
        assert answer.headers["content-security-policy"] == CSP
    third = second["course"]["sessions"][2]
    assert client.get(f"/v1/sessions/{third['id']}").json() == third
    clock.now = datetime.fromisoformat(loser["expires_at"])  # R23: the offer's link works until it expires
    with without_key(client):
        expired = client.get(late)
        posted = client.post(f"{late}/accept", follow_redirects=False)
    assert (expired.status_code, posted.status_code) == (410, 410)
    assert "This offer has ended Your booking is unchanged." in page_text(expired.text)


def test_r44_an_unanswered_offer_expires_into_a_410_page_and_nothing_is_booked(
    client: TestClient, clean_db: Database, clock: Clock, prac: dict[str, Any]
) -> None:
    entry = waiting_patient(client, prac, "09:00")
    (offer,) = offered(client, clean_db, [entry], opening(client, prac, FRIDAY))
    path = link_in(offer["message"])
    clock.now = datetime.fromisoformat(offer["expires_at"]) + timedelta(seconds=1)
    with without_key(client):
        page = client.get(path)
        refused = client.post(f"{path}/accept", follow_redirects=False)
    assert (page.status_code, refused.status_code) == (410, 410)
    for answer in (page, refused):
        assert "This offer has ended Your booking is unchanged." in page_text(answer.text)
        assert "Maria" not in answer.text
    third = entry["course"]["sessions"][2]
    assert client.get(f"/v1/sessions/{third['id']}").json() == third


def test_r44_an_offer_whose_move_changed_answers_409_with_an_error_summary_and_moves_nothing(
    client: TestClient, clean_db: Database, prac: dict[str, Any]
) -> None:
    created(client.post("/v1/closures", json=CLOSED))
    entry = waiting_patient(client, prac, "09:00")
    (offer,) = offered(client, clean_db, [entry], opening(client, prac, FRIDAY))
    path = link_in(offer["message"])
    # the world changes: the practitioner takes the morning off where session 4 would have gone
    four = offer["proposed"]["moved"][0]["start"]
    off = {"start": four, "end": (datetime.fromisoformat(four) + timedelta(hours=4)).isoformat(), "reason": "Course"}
    assert client.post(f"/v1/practitioners/{prac['id']}/time-off", json=off).status_code == 201
    before = audit_count(clean_db)
    with without_key(client):
        refused = client.post(f"{path}/accept", follow_redirects=False)
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    assert "Your booking is unchanged." in page_text(refused.text) and "<form" not in refused.text
    assert audit_count(clean_db) == before
    assert client.get(f"/v1/courses/{entry['course']['id']}").json()["sessions"] == entry["course"]["sessions"]
    assert client.get(f"/v1/waitlist/{entry['id']}").json()["status"] == "waiting"


def test_r24_links_open_only_their_own_page_and_actions(
    client: TestClient, clean_db: Database, prac: dict[str, Any]
) -> None:
    entry = waiting_patient(client, prac, "09:00")
    (offer,) = offered(client, clean_db, [entry], opening(client, prac, FRIDAY))
    path = link_in(offer["message"])
    manage = link_path(client, entry["course"]["sessions"][2]["id"])
    with without_key(client):
        assert client.post("/p/AAAAAAAAAAAAAAAAAAAAAA/accept", follow_redirects=False).status_code == 404
        assert client.post(f"{manage}/accept", follow_redirects=False).status_code == 404
        assert client.post(f"{path}/confirm", follow_redirects=False).status_code == 404
        assert client.post(f"{path}/cancel", data={"reason": "cannot_make_it"}).status_code == 404
    assert client.post(f"/v1/patients/{entry['patient_id']}/links/revoke").status_code == 200
    with without_key(client):
        assert client.post(f"{path}/accept", follow_redirects=False).status_code == 410  # R24: revoked with them
    assert client.get(f"/v1/waitlist/offers/{offer['id']}").json()["status"] == "open"


def reply_bodies(db: Database, inbound_id: str) -> list[str]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT body, inbound_message_id FROM reminder WHERE kind = 'sms_reply'"),
        ).all()
    return [body for body, message_id in rows if str(uuid.UUID(str(message_id))) == inbound_id]


def test_r32_yes_to_an_offer_answers_with_its_link_and_accepts_nothing(
    client: TestClient, clean_db: Database, prac: dict[str, Any]
) -> None:
    first, second = waiting_patient(client, prac, "09:00"), waiting_patient(client, prac, "10:00")
    mine, theirs = offered(client, clean_db, [first, second], opening(client, prac, FRIDAY))
    assert client.post("/v1/reminders/dispatch", json={}).status_code == 200  # the offers go out by SMS
    sent = client.get("/v1/reminders", params={"kind": "waitlist_offer"}).json()["items"]
    assert {r["status"] for r in sent} == {"sent"}
    with without_key(client):
        answer = post_prolo(client, "Yes!", sender=first["phone"])
    assert answer.status_code == 200, answer.text
    message = client.get(f"/v1/inbound-messages/{answer.json()['id']}").json()
    assert (message["intent"], message["outcome"], message["session_ids"]) == (
        "offer_reply",
        "answered",
        [first["session_id"]],
    )
    (reply,) = reply_bodies(clean_db, message["id"])
    assert f"{ORIGIN}{link_in(mine['message'])}" in reply and "first to accept gets it" in reply
    third = first["course"]["sessions"][2]
    assert client.get(f"/v1/sessions/{third['id']}").json() == third  # the page accepts, never a text
    assert client.get(f"/v1/waitlist/offers/{mine['id']}").json()["status"] == "open"
    # once someone else took it, yes is answered with the offer's end
    assert client.post(f"/v1/waitlist/offers/{mine['id']}/accept").status_code == 200
    with without_key(client):
        late = post_prolo(client, "OK", sender=second["phone"])
    (ended,) = reply_bodies(clean_db, late.json()["id"])
    assert "that offer has ended; your booking is unchanged" in ended and "/p/" not in ended
    assert client.get(f"/v1/waitlist/offers/{theirs['id']}").json()["status"] == "taken"


def pending_offer_message(db: Database, offer_id: str) -> tuple[str, str, str, str | None]:
    """The offer's message as stored: (status, to, body, reason)."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT offer_id, status, to_address, body, reason FROM reminder")).all()
    [found] = [tuple(r[1:]) for r in rows if r[0] is not None and str(uuid.UUID(str(r[0]))) == offer_id]
    return found


def test_r24_an_offer_message_still_to_go_carries_the_link_that_works_and_goes_where_the_patient_is_now(
    client: TestClient, clean_db: Database, prac: dict[str, Any]
) -> None:
    entry = waiting_patient(client, prac, "09:00")
    (offer,) = offered(client, clean_db, [entry], opening(client, prac, FRIDAY))  # sent by the next pass
    first = link_in(offer["message"])
    assert client.post(f"/v1/patients/{entry['patient_id']}/links/revoke").status_code == 200
    _, _, body, _ = pending_offer_message(clean_db, offer["id"])
    second = link_in(body)
    assert second != first and body.replace(second, first) == offer["message"]
    assert client.patch(f"/v1/patients/{entry['patient_id']}", json={"phone": "+4930555999"}).status_code == 200
    status, to, body, _ = pending_offer_message(clean_db, offer["id"])
    third = link_in(body)
    assert (status, to) == ("pending", "+4930555999") and third not in (first, second)
    with without_key(client):
        assert [client.get(p).status_code for p in (first, second, third)] == [410, 410, 200]
    assert client.post(f"/v1/patients/{entry['patient_id']}/archive").status_code == 200
    status, _, _, reason = pending_offer_message(clean_db, offer["id"])
    assert (status, reason) == ("skipped", "patient_archived")  # nothing reaches an archived patient


def test_r43_an_offer_that_ended_before_its_message_went_sends_nothing(
    client: TestClient, clean_db: Database, prac: dict[str, Any]
) -> None:
    first, second, third = (waiting_patient(client, prac, at) for at in ("09:00", "10:00", "11:00"))
    won, late, moved = offered(client, clean_db, [first, second, third], opening(client, prac, FRIDAY))
    # before the next pass sends them: staff move the third patient's session, then the first accepts by phone
    answer = client.post(f"/v1/sessions/{third['session_id']}/reschedule", json={"start": "2027-03-30T09:00:00+02:00"})
    assert answer.status_code == 200, answer.text
    assert client.post(f"/v1/waitlist/offers/{won['id']}/accept").status_code == 200
    assert [pending_offer_message(clean_db, o["id"])[::3] for o in (won, late, moved)] == [
        ("cancelled", "offer_accepted"),  # taken by phone before it went: the change notice tells the new time
        ("cancelled", "offer_taken"),
        ("cancelled", "entry_closed"),
    ]
