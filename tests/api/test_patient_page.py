"""The page behind a patient's link (R24–R27), through the real app: what it shows, what its forms do."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.settings import Settings
from api.web.app import create_app
from tests.api import patient_page_reading as reading
from tests.api.calendar_reading import without_key
from tests.api.helpers import book_third_outside, window_codes
from tests.api.patient_page_reading import CANARIES, as_shown, choices, has_alert, link_path, page_text, shown_moves
from tests.conftest import Clock, Database

CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"


@pytest.fixture
def settings(clean_db: Database) -> Settings:
    return Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        api_key_cache_seconds=0,
        public_url="https://prolo.example.org",
    )


def canary_course(client: TestClient, **fields: Any) -> dict[str, Any]:
    return reading.canary_course(client, CANARIES, **fields)


def audit_count(db: Database) -> int:
    with db.engine.connect() as conn:
        count: int = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
        return count


def test_r25_the_page_shows_the_session_and_the_least_about_the_patient(client: TestClient) -> None:
    course = canary_course(client)
    path = link_path(client, course["sessions"][2]["id"])
    with without_key(client):
        page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-robots-tag"] == "noindex"
    assert page.headers["content-security-policy"] == CSP
    words = page_text(page.text)
    assert "Hello Maria, this is your session 3 of 6" in words
    assert "Monday 29 March 2027" in words and "09:00" in words and "Dr. Amara Okafor" in words
    assert "Paracetamol/acetaminophen (Tylenol, Panadol) is fine." in words
    for what, canary in CANARIES.items():
        assert canary not in page.text, what
    assert page.text.count("<h1") == 1 and '<html lang="en">' in page.text
    assert "<script" not in page.text and "http" not in page.text.split("<body>", 1)[1]  # nothing from elsewhere


def test_r25_get_and_head_change_nothing(client: TestClient, clean_db: Database) -> None:
    course = canary_course(client)
    session = course["sessions"][0]
    path = link_path(client, session["id"])
    before = audit_count(clean_db)
    with without_key(client):
        for _ in range(2):
            assert client.get(path).status_code == 200
            assert client.head(path).status_code == 200
    assert audit_count(clean_db) == before
    assert client.get(f"/v1/sessions/{session['id']}").json() == session


def test_r26_confirm_twice_is_one_change_audited_with_the_link(client: TestClient, clean_db: Database) -> None:
    course = canary_course(client)
    session = course["sessions"][0]
    path = link_path(client, session["id"])
    links = client.get(f"/v1/patients/{course['patient_id']}/links").json()
    (link_id,) = [link["id"] for link in links if link["session_id"] == session["id"]]
    before = audit_count(clean_db)
    with without_key(client):
        first = client.post(f"{path}/confirm", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == f"{path}?done=confirmed"
        after_first = audit_count(clean_db)
        again = client.post(f"{path}/confirm", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"] == f"{path}?done=already_confirmed"
        assert "already confirmed" in page_text(client.get(again.headers["location"]).text)
    assert audit_count(clean_db) == after_first > before
    assert client.get(f"/v1/sessions/{session['id']}").json()["status"] == "confirmed"
    events = client.get("/v1/audit-events", params={"entity_id": session["id"]}).json()["items"]
    assert events[-1]["actor"] == {"id": link_id, "name": "patient link", "role": "patient_link"}


def test_r26_inside_the_notice_period_the_patient_may_not_cancel_but_staff_may(
    client: TestClient, clock: Clock, clean_db: Database
) -> None:
    course = canary_course(client)
    session = course["sessions"][0]
    path = link_path(client, session["id"])
    clock.now = datetime.fromisoformat(session["start"]) - timedelta(hours=23)
    before = audit_count(clean_db)
    with without_key(client):
        page = client.get(path).text
        assert 'action="' + path + '/cancel"' not in page and "less than 24 hours" in page_text(page)
        refused = client.post(f"{path}/cancel", data={"reason": "cannot_make_it"})
    assert refused.status_code == 409 and has_alert(refused.text)
    assert audit_count(clean_db) == before
    assert client.get(f"/v1/sessions/{session['id']}").json()["status"] == "scheduled"
    staff = client.post(f"/v1/sessions/{session['id']}/cancel", json={"reason": "patient phoned"})
    assert staff.status_code == 200 and staff.json()["session"]["status"] == "cancelled"


def test_r26_cannot_make_it_cancels_and_appends_the_replacement(client: TestClient) -> None:
    course = canary_course(client)
    session = course["sessions"][1]
    path = link_path(client, session["id"])
    with without_key(client):
        done = client.post(f"{path}/cancel", data={"reason": "cannot_make_it"})
    assert done.status_code == 200 and "Your session is cancelled." in page_text(done.text)  # after the 303
    after = client.get(f"/v1/courses/{course['id']}").json()["sessions"]
    assert [s["status"] for s in after] == ["scheduled", "cancelled", *["scheduled"] * 5]
    assert after[-1]["number"] == 7
    items = client.get("/v1/reminders", params={"kind": "patient_action", "status": "ready"}).json()["items"]
    assert [(i["session_id"], i["reason"]) for i in items] == [(session["id"], "cancelled")]


def test_r26_stop_treatment_cancels_nothing_and_raises_the_staff_item(client: TestClient) -> None:
    course = canary_course(client)
    session = course["sessions"][1]
    path = link_path(client, session["id"])
    with without_key(client):
        for _ in range(2):  # said twice, one item
            done = client.post(f"{path}/cancel", data={"reason": "stop_treatment"})
            assert done.status_code == 200 and "Nothing is cancelled yet" in page_text(done.text)
    assert client.get(f"/v1/courses/{course['id']}").json()["sessions"] == course["sessions"]
    items = client.get("/v1/reminders", params={"kind": "patient_action"}).json()["items"]
    assert [(i["session_id"], i["reason"], i["status"], i["audience"]) for i in items] == [
        (session["id"], "wants_to_stop", "ready", "clinic")
    ]


def test_r26_a_cancel_without_a_reason_asks_for_one(client: TestClient) -> None:
    course = canary_course(client)
    path = link_path(client, course["sessions"][0]["id"])
    with without_key(client):
        refused = client.post(f"{path}/cancel", data={})
    assert refused.status_code == 409 and has_alert(refused.text)
    assert 'href="#reason-cannot_make_it"' in refused.text


def test_r27_a_reschedule_moves_exactly_what_the_page_showed(client: TestClient) -> None:
    course = canary_course(client)
    session = course["sessions"][2]
    path = link_path(client, session["id"])
    with without_key(client):
        page = client.get(path).text
        offered = choices(page)
        assert 1 <= len(offered) <= 3
        moved = client.post(f"{path}/reschedule", data={"choice": offered[-1]})
    assert moved.status_code == 200 and "Your session has moved." in page_text(moved.text)
    chosen = datetime.fromtimestamp(int(offered[-1].split("-")[0]), tz=UTC)
    after = {s["number"]: s for s in client.get(f"/v1/courses/{course['id']}").json()["sessions"]}
    assert datetime.fromisoformat(after[session["number"]]["start"]) == chosen
    changed = {
        s["number"]: as_shown(after[s["number"]]["start_local"])
        for s in course["sessions"]
        if s["id"] != session["id"] and after[s["number"]]["start"] != s["start"]
    }
    assert changed == shown_moves(page, len(offered) - 1)


def test_r26_a_stale_alternative_gets_409_and_nothing_moves(client: TestClient, clean_db: Database) -> None:
    course = canary_course(client)
    session = course["sessions"][2]
    path = link_path(client, session["id"])
    with without_key(client):
        offered = choices(client.get(path).text)
    start = datetime.fromtimestamp(int(offered[0].split("-")[0]), tz=UTC)
    # the world changes: the practitioner takes that hour off
    off = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(), "reason": "Conference"}
    assert client.post(f"/v1/practitioners/{course['practitioner_id']}/time-off", json=off).status_code == 201
    before = audit_count(clean_db)
    with without_key(client):
        refused = client.post(f"{path}/reschedule", data={"choice": offered[0]})
    assert refused.status_code == 409 and "That time was just taken." in page_text(refused.text)
    assert offered[0] not in choices(refused.text)  # fresh choices
    assert audit_count(clean_db) == before
    assert client.get(f"/v1/courses/{course['id']}").json()["sessions"] == course["sessions"]


def test_r24_unknown_and_ended_links_name_the_clinic_only(client: TestClient) -> None:
    course = canary_course(client)
    path = link_path(client, course["sessions"][0]["id"])
    assert client.patch(f"/v1/patients/{course['patient_id']}", json={"phone": "+4930999999"}).status_code == 200
    with without_key(client):
        gone = client.get(path)
        unknown = client.get("/p/AAAAAAAAAAAAAAAAAAAAAA")
        posted = client.post(f"{path}/confirm", follow_redirects=False)
    assert (gone.status_code, unknown.status_code, posted.status_code) == (410, 404, 410)
    for answer in (gone, unknown, posted):
        assert answer.headers["content-security-policy"] == CSP
        assert "Prolo clinic" in answer.text and "Maria" not in answer.text
        for canary in CANARIES.values():
            assert canary not in answer.text
    assert client.get(f"/v1/sessions/{course['sessions'][0]['id']}").json()["status"] == "scheduled"


def test_r23_a_new_link_secret_ends_every_link(client: TestClient, settings: Settings, clean_db: Database) -> None:
    course = canary_course(client)
    path = link_path(client, course["sessions"][0]["id"])
    with without_key(client):
        assert client.get(path).status_code == 200
    changed = settings.model_copy(update={"link_secret": "another-secret-of-at-least-32-characters"})
    with TestClient(create_app(changed, engine=clean_db.engine), raise_server_exceptions=False) as other:
        assert other.get(path).status_code == 410
        assert other.post(f"{path}/confirm", follow_redirects=False).status_code == 410
    assert client.get(f"/v1/sessions/{course['sessions'][0]['id']}").json()["status"] == "scheduled"


def test_r3_a_patients_move_that_brings_a_later_session_into_its_window_clears_its_warning(
    client: TestClient,
) -> None:
    # Session 3 was booked on 2 April, after its window (R6). The patient moves session 2 from 15 March to a
    # later day of its own window: 2 April lies in session 3's new window, and session 3 stays where it is.
    course = book_third_outside(client, reading.canary_patient(client, CANARIES))
    path = link_path(client, course["sessions"][1]["id"])
    with without_key(client):
        offered = choices(client.get(path).text)
        later = [c for c in offered if datetime.fromtimestamp(int(c.split("-")[0]), tz=UTC).date() >= date(2027, 3, 16)]
        assert later, offered
        assert client.post(f"{path}/reschedule", data={"choice": later[0]}).status_code == 200
    now = client.get(f"/v1/courses/{course['id']}").json()
    assert now["sessions"][1]["change_reason"] == "moved by the patient"
    assert now["sessions"][2]["start"] == course["sessions"][2]["start"]
    assert window_codes(now) == ([], [])
