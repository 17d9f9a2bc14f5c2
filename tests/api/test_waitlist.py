"""R39, R40, R45 through the API: entries, and the openings every freeing path creates in its transaction.

The course is booked from Mon 1 Mar 2027 at 09:00 (Berlin): 1, 15, 29 Mar, 12, 26 Apr, 10 May.
"""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import book, created, patient, practitioner


def openings(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/v1/waitlist/openings", params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def spans(client: TestClient) -> list[tuple[str, str, str]]:
    return [(o["start_local"], o["source"], o["status"]) for o in openings(client)]


def booked(client: TestClient) -> dict[str, Any]:
    return book(client, patient(client), practitioner(client))


def test_r39_an_entry_waits_once_per_course_and_is_a_single_resource(client: TestClient) -> None:
    course = booked(client)
    third = course["sessions"][2]
    answer = client.post("/v1/waitlist", json={"session_id": third["id"], "priority": "urgent"})
    entry = created(answer)
    assert answer.headers["Location"] == f"/v1/waitlist/{entry['id']}"
    assert (entry["status"], entry["priority"], entry["session_id"]) == ("waiting", "urgent", third["id"])
    assert entry["practitioner_id"] == course["practitioner_id"]
    again = client.post("/v1/waitlist", json={"session_id": course["sessions"][4]["id"]})
    assert (again.status_code, again.json()["code"], again.json()["entry_id"]) == (
        409,
        "waitlist_entry_exists",
        entry["id"],
    )
    read = client.get(f"/v1/waitlist/{entry['id']}")
    etag = read.headers["ETag"]
    stale = client.patch(f"/v1/waitlist/{entry['id']}", json={"note": "mornings"}, headers={"If-Match": '"old"'})
    assert stale.status_code == 412
    changed = client.patch(f"/v1/waitlist/{entry['id']}", json={"note": "mornings"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.json()["note"] == "mornings"
    assert changed.headers["ETag"] != etag
    closed = client.post(f"/v1/waitlist/{entry['id']}/close", json={"reason": "wants to keep the date"})
    assert (closed.json()["status"], closed.json()["close_reason"]) == ("closed", "wants to keep the date")
    assert client.post("/v1/waitlist", json={"session_id": third["id"]}).status_code == 201  # one *waiting*


def test_r39_only_a_session_still_to_come_in_a_live_course_waits(client: TestClient) -> None:
    course = booked(client)
    first = course["sessions"][0]
    client.post(f"/v1/sessions/{first['id']}/cancel", json={"reason": "flu"})
    refused = client.post("/v1/waitlist", json={"session_id": first["id"]})
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict")
    assert client.get("/v1/waitlist").json()["total"] == 0


def test_r40_a_cancel_opens_the_sessions_time_settling_for_ten_minutes(client: TestClient) -> None:
    course = booked(client)
    third = course["sessions"][2]
    client.post(f"/v1/sessions/{third['id']}/cancel", json={"reason": "flu"})
    [opening] = openings(client)
    assert (opening["start_local"], opening["source"], opening["status"]) == (
        "2027-03-29T09:00:00+02:00",
        "cancel",
        "settling",
    )
    assert opening["source_session_id"] == third["id"]
    assert opening["eligible_at"] == "2027-01-04T12:10:00Z"  # the test clock's now + settle_minutes


def test_r40_a_reschedule_opens_the_old_time_and_a_reflow_each_moved_sessions(client: TestClient) -> None:
    course = booked(client)
    second = course["sessions"][1]
    moved = client.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": "2027-03-19T09:00:00+01:00"})
    assert moved.status_code == 200, moved.text
    assert len(moved.json()["moved"]) >= 1
    found = spans(client)
    assert ("2027-03-15T09:00:00+01:00", "reschedule", "settling") in found
    assert {s for _, s, _ in found} == {"reschedule", "reflow"}
    assert len(found) == 1 + len(moved.json()["moved"])


def test_r40_a_dry_run_opens_nothing(client: TestClient) -> None:
    course = booked(client)
    second = course["sessions"][1]
    body = {"start": "2027-03-19T09:00:00+01:00", "dry_run": True}
    assert client.post(f"/v1/sessions/{second['id']}/reschedule", json=body).status_code == 200
    assert openings(client) == []


def test_r40_a_course_cancelled_or_held_opens_every_future_session(client: TestClient) -> None:
    held, cancelled = booked(client), booked(client)
    assert client.post(f"/v1/courses/{held['id']}/hold", json={"reason": "travelling"}).status_code == 200
    assert client.post(f"/v1/courses/{cancelled['id']}/cancel", json={"reason": "moved away"}).status_code == 200
    sources = [o["source"] for o in openings(client)]
    assert sorted(sources) == ["course_cancel"] * 6 + ["course_hold"] * 6


def test_r39_an_entry_closes_when_its_session_moves_or_its_course_is_held(client: TestClient) -> None:
    moving, holding = booked(client), booked(client)
    entries = [
        created(client.post("/v1/waitlist", json={"session_id": c["sessions"][3]["id"]})) for c in (moving, holding)
    ]
    fourth = moving["sessions"][3]
    client.post(f"/v1/sessions/{fourth['id']}/reschedule", json={"start": "2027-04-13T09:00:00+02:00"})
    client.post(f"/v1/courses/{holding['id']}/hold", json={"reason": "travelling"})
    reasons = [client.get(f"/v1/waitlist/{e['id']}").json() for e in entries]
    assert [(r["status"], r["close_reason"]) for r in reasons] == [
        ("closed", "session_moved"),
        ("closed", "course_on_hold"),
    ]


def test_r40_staff_open_free_time_by_hand_but_not_taken_time(client: TestClient) -> None:
    course = booked(client)
    prac = course["practitioner_id"]
    free = {"practitioner_id": prac, "start": "2027-03-03T09:00:00+01:00", "end": "2027-03-03T10:00:00+01:00"}
    made = client.post("/v1/waitlist/openings", json=free)
    opening = created(made)
    assert made.headers["Location"] == f"/v1/waitlist/openings/{opening['id']}"
    assert (opening["source"], opening["status"]) == ("manual", "settling")
    taken = {**free, "start": "2027-03-01T09:30:00+01:00", "end": "2027-03-01T10:30:00+01:00"}
    assert client.post("/v1/waitlist/openings", json=taken).status_code == 409  # session 1 holds 09:00-09:45
    twice = client.post("/v1/waitlist/openings", json=free)
    assert twice.status_code == 409  # an opening holds it already


def test_r45_staff_withdraw_an_opening_once(client: TestClient) -> None:
    course = booked(client)
    client.post(f"/v1/sessions/{course['sessions'][2]['id']}/cancel", json={"reason": "flu"})
    [opening] = openings(client)
    url = f"/v1/waitlist/openings/{opening['id']}"
    etag = client.get(url).headers["ETag"]
    withdrawn = client.post(f"{url}/withdraw", json={"reason": "kept for an emergency"}, headers={"If-Match": etag})
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["end_reason"]) == ("withdrawn", "kept for an emergency")
    again = client.post(f"{url}/withdraw", json={"reason": "again"})
    assert again.status_code == 409
