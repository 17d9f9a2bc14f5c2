"""No lost updates (S6): strong ETags on single resources, If-Match on changes, and every change changes the ETag."""

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock


def etag_of(client: TestClient, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    tag = answer.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")  # strong
    return tag


@pytest.fixture
def course(client: TestClient) -> dict[str, Any]:
    return book(client, patient(client), practitioner(client))  # Mondays 09:00 from 2027-03-01


def test_s6_every_single_resource_carries_a_strong_etag_and_answers_304(
    client: TestClient, course: dict[str, Any]
) -> None:
    reminder = client.get("/v1/reminders", params={"limit": 1}).json()["items"][0]
    key = client.get("/v1/api-keys").json()["items"][0]
    paths = [
        "/v1/clinic",
        f"/v1/patients/{course['patient_id']}",
        f"/v1/practitioners/{course['practitioner_id']}",
        f"/v1/protocols/{course['protocol_id']}",
        f"/v1/courses/{course['id']}",
        f"/v1/sessions/{course['sessions'][0]['id']}",
        f"/v1/reminders/{reminder['id']}",
        f"/v1/api-keys/{key['id']}",
    ]
    for path in paths:
        tag = etag_of(client, path)
        unchanged = client.get(path, headers={"If-None-Match": tag})
        assert (unchanged.status_code, unchanged.content, unchanged.headers["ETag"]) == (304, b"", tag), path
        assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_s6_a_stale_if_match_on_patch_is_412_and_changes_nothing(client: TestClient) -> None:
    pat = patient(client)
    path = f"/v1/patients/{pat['id']}"
    read_by_desk_1 = etag_of(client, path)
    # desk 2 changes the phone meanwhile, with the ETag it read
    changed = client.patch(path, json={"phone": "+49 89 1111111"}, headers={"If-Match": read_by_desk_1})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == etag_of(client, path) != read_by_desk_1
    # desk 1's change, made on what it read before, is refused: it would silently undo desk 2's
    refused = client.patch(path, json={"email": "maria@example.org"}, headers={"If-Match": read_by_desk_1})
    assert refused.status_code == 412
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["current_etag"] == refused.headers["ETag"] == changed.headers["ETag"]
    stored = client.get(path).json()
    assert (stored["phone"], stored["email"]) == ("+49891111111", None)
    # without If-Match today's clients keep working; a weak tag never matches
    weak = client.patch(path, json={"email": "maria@example.org"}, headers={"If-Match": "W/" + changed.headers["ETag"]})
    assert weak.status_code == 412
    assert client.patch(path, json={"email": "maria@example.org"}).status_code == 200


def test_s6_a_stale_if_match_on_a_post_action_is_412(client: TestClient, course: dict[str, Any]) -> None:
    session = course["sessions"][1]
    path = f"/v1/sessions/{session['id']}"
    before = etag_of(client, path)
    assert client.post(f"{path}/confirm", headers={"If-Match": before}).status_code == 200
    # the session changed (confirmed): an action based on the old read is refused
    stale = client.post(f"{path}/cancel", json={"reason": "ill"}, headers={"If-Match": before})
    assert stale.status_code == 412
    assert client.get(path).json()["status"] == "confirmed"
    course_path = f"/v1/courses/{course['id']}"
    course_tag = etag_of(client, course_path)
    assert client.post(f"{course_path}/hold", json={"reason": "x"}, headers={"If-Match": '"stale"'}).status_code == 412
    held = client.post(f"{course_path}/hold", json={"reason": "travel"}, headers={"If-Match": course_tag})
    assert held.status_code == 200 and held.headers["ETag"] == etag_of(client, course_path)


def test_s6_a_reflow_changes_the_etags_of_the_sessions_it_moves(client: TestClient, course: dict[str, Any]) -> None:
    tags = {s["id"]: etag_of(client, f"/v1/sessions/{s['id']}") for s in course["sessions"]}
    course_tag = etag_of(client, f"/v1/courses/{course['id']}")
    moved = client.post(
        f"/v1/sessions/{course['sessions'][1]['id']}/reschedule", json={"start": "2027-03-24T09:00:00+01:00"}
    ).json()
    moved_ids = {m["id"] for m in moved["moved"]}
    assert len(moved_ids) == 4
    after = {s["id"]: etag_of(client, f"/v1/sessions/{s['id']}") for s in course["sessions"]}
    for session_id, tag in tags.items():
        changed = session_id in moved_ids or session_id == course["sessions"][1]["id"]
        assert (after[session_id] != tag) == changed, session_id
    assert etag_of(client, f"/v1/courses/{course['id']}") != course_tag


def test_s6_a_course_whose_status_follows_its_sessions_gets_a_new_etag(
    client: TestClient, clock: Clock, course: dict[str, Any]
) -> None:
    first = course["sessions"][0]
    before = etag_of(client, f"/v1/courses/{course['id']}")
    clock.now = datetime.fromisoformat(first["start"]).astimezone(UTC)
    client.post(f"/v1/sessions/{first['id']}/check-in")
    record = {"injections": [{"site": "knee", "injectate": "dextrose 15%", "volume_ml": 5}], "pain_before": 6}
    client.post(f"/v1/sessions/{first['id']}/complete", json={**record, "adverse_events": []})
    assert client.get(f"/v1/courses/{course['id']}").json()["status"] == "active"
    assert etag_of(client, f"/v1/courses/{course['id']}") != before


def test_s6_a_replanned_reminder_gets_a_new_etag(client: TestClient, course: dict[str, Any]) -> None:
    session = course["sessions"][2]
    pending = client.get("/v1/reminders", params={"session_id": session["id"], "status": "pending"}).json()["items"]
    tags = {r["id"]: etag_of(client, f"/v1/reminders/{r['id']}") for r in pending}
    client.post(f"/v1/sessions/{session['id']}/reschedule", json={"start": "2027-03-30T11:00:00+02:00"})
    for reminder_id, tag in tags.items():  # the old reminders were cancelled: each row changed
        assert client.get(f"/v1/reminders/{reminder_id}").json()["status"] == "cancelled"
        assert etag_of(client, f"/v1/reminders/{reminder_id}") != tag
