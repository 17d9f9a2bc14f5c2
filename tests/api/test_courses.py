"""Booking whole courses through the API: R1–R7, R9 (course cancel), R11's rebooking, S1–S3."""

from datetime import date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.helpers import book, course_request, local_times, patient, practitioner
from tests.conftest import Clock, Database


def test_r2_r3_course_of_six_at_the_preferred_time_every_14_days(client: TestClient) -> None:
    course = book(client, patient(client), practitioner(client))
    assert course["status"] == "planned"
    assert [s["number"] for s in course["sessions"]] == [1, 2, 3, 4, 5, 6]
    assert local_times(course)[:2] == ["2027-03-01T09:00:00+01:00", "2027-03-15T09:00:00+01:00"]
    assert course["sessions"][0]["start"] == "2027-03-01T08:00:00Z"
    assert course["sessions"][0]["end"] == "2027-03-01T08:45:00Z"
    assert all(s["status"] == "scheduled" and s["warnings"] == [] for s in course["sessions"])


def test_r1_local_time_kept_across_the_dst_change(client: TestClient) -> None:
    # Europe/Berlin springs forward on 2027-03-28: 09:00 stays 09:00, UTC moves by an hour.
    course = book(client, patient(client), practitioner(client))
    starts = [s["start"] for s in course["sessions"]]
    assert all(t.endswith("T09:00:00+01:00") or t.endswith("T09:00:00+02:00") for t in local_times(course))
    assert starts[1] == "2027-03-15T08:00:00Z" and starts[2] == "2027-03-29T07:00:00Z"


def test_r5_closures_are_avoided(client: TestClient) -> None:
    assert (
        client.post(
            "/v1/closures", json={"start_date": "2027-03-15", "end_date": "2027-03-15", "reason": "Staff training"}
        ).status_code
        == 201
    )
    course = book(client, patient(client), practitioner(client))
    # R3: target 03-15 closed → the day before (a Sunday, closed) → the day after.
    assert local_times(course)[1] == "2027-03-16T09:00:00+01:00"


def test_r5_time_off_is_avoided(client: TestClient) -> None:
    prac = practitioner(client)
    off = {"start": "2027-03-01T00:00:00+01:00", "end": "2027-03-01T10:00:00+01:00", "reason": "Dentist"}
    assert client.post(f"/v1/practitioners/{prac['id']}/time-off", json=off).status_code == 201
    course = book(client, patient(client), prac)
    assert local_times(course)[0] == "2027-03-01T10:00:00+01:00"


def test_r5_other_bookings_of_the_practitioner_are_avoided(client: TestClient) -> None:
    prac = practitioner(client)
    first = book(client, patient(client), prac)
    second = book(client, patient(client), prac)
    assert local_times(first)[0] == "2027-03-01T09:00:00+01:00"
    # R2: 09:00 is taken until 09:45; the nearest free grid slots are 08:15 and 09:45, 08:15 ends at 09:00.
    assert local_times(second)[0] in ("2027-03-01T08:15:00+01:00", "2027-03-01T09:45:00+01:00")
    assert local_times(second)[0] == "2027-03-01T08:15:00+01:00"  # ties go to the earlier time


def test_r5_never_two_sessions_of_a_patient_on_one_day(client: TestClient) -> None:
    pat = patient(client)
    book(client, pat, practitioner(client, name="Dr. A"))
    other = book(client, pat, practitioner(client, name="Dr. B"))
    assert local_times(other)[0].startswith("2027-03-02")


def test_r5_practitioner_working_hours_narrower_than_opening_hours(client: TestClient) -> None:
    hours = [{"weekday": "tue", "start": "13:00", "end": "17:00"}, {"weekday": "thu", "start": "13:00", "end": "17:00"}]
    course = book(client, patient(client), practitioner(client, working_hours=hours))
    assert local_times(course)[0] == "2027-03-02T13:00:00+01:00"
    assert {datetime.fromisoformat(t).strftime("%a") for t in local_times(course)} <= {"Tue", "Thu"}


def test_r6_outside_window_warning_when_the_window_is_full(client: TestClient) -> None:
    prac = practitioner(client)
    # Session 2 aims at 03-15, window 03-12..03-18: all of it off.
    off = {"start": "2027-03-12T00:00:00+01:00", "end": "2027-03-19T00:00:00+01:00", "reason": "Holiday"}
    client.post(f"/v1/practitioners/{prac['id']}/time-off", json=off)
    course = book(client, patient(client), prac)
    second = course["sessions"][1]
    assert second["start_local"].startswith("2027-03-19")
    assert [w["code"] for w in second["warnings"]] == ["outside_window"]
    assert "outside_window" in [w["code"] for w in course["warnings"]]


def test_r6_409_names_the_session_and_its_window_and_books_nothing(client: TestClient) -> None:
    prac = practitioner(client)
    off = {"start": "2027-03-08T00:00:00+01:00", "end": "2027-04-30T00:00:00+02:00", "reason": "Sabbatical"}
    client.post(f"/v1/practitioners/{prac['id']}/time-off", json=off)
    pat = patient(client)
    response = client.post("/v1/courses", json=course_request(pat, prac))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["session_number"], problem["window_start"], problem["window_end"]) == (
        2,
        "2027-03-12",
        "2027-03-18",
    )
    assert client.get("/v1/courses", params={"patient_id": pat["id"]}).json()["total"] == 0
    assert client.get("/v1/sessions", params={"date": "2027-03-01"}).json()["total"] == 0


def test_r7_preview_plans_the_same_and_writes_nothing(client: TestClient) -> None:
    pat, prac = patient(client), practitioner(client)
    preview = client.post("/v1/courses/preview", json=course_request(pat, prac))
    assert preview.status_code == 200
    assert client.get("/v1/courses").json()["total"] == 0
    booked = book(client, pat, prac)
    assert [s["start"] for s in preview.json()["sessions"]] == [s["start"] for s in booked["sessions"]]


def test_session_count_override_and_protocol_values_copied_at_booking(client: TestClient) -> None:
    pat, prac = patient(client), practitioner(client)
    course = book(client, pat, prac, session_count=3)
    assert len(course["sessions"]) == 3 and course["session_count"] == 3
    default = client.get("/v1/protocols").json()["items"][0]
    assert client.patch(f"/v1/protocols/{default['id']}", json={"interval_days": 21}).status_code == 200
    again = client.get(f"/v1/courses/{course['id']}").json()
    assert again["interval_days"] == 14 and local_times(again) == local_times(course)


def test_r9_cancel_course_cancels_future_sessions_and_frees_their_time(client: TestClient) -> None:
    prac = practitioner(client)
    course = book(client, patient(client), prac)
    cancelled = client.post(f"/v1/courses/{course['id']}/cancel", json={"reason": "Patient moved away"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert {s["status"] for s in cancelled.json()["sessions"]} == {"cancelled"}
    again = client.post(f"/v1/courses/{course['id']}/cancel", json={"reason": "twice"})
    assert again.status_code == 409 and again.json()["status"] == 409
    rebooked = book(client, patient(client), prac)
    assert local_times(rebooked)[0] == "2027-03-01T09:00:00+01:00"


def test_archived_patient_cannot_be_booked(client: TestClient) -> None:
    pat = patient(client)
    client.post(f"/v1/patients/{pat['id']}/archive")
    response = client.post("/v1/courses", json=course_request(pat, practitioner(client)))
    assert response.status_code == 409


def test_s2_unknown_ids_are_404_problems(client: TestClient) -> None:
    ghost = "00000000-0000-4000-8000-000000000000"
    for path in (
        f"/v1/courses/{ghost}",
        f"/v1/sessions/{ghost}",
        f"/v1/patients/{ghost}",
        f"/v1/practitioners/{ghost}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    response = client.post("/v1/courses", json=course_request({"id": ghost}, practitioner(client)))
    assert response.status_code == 404 and response.json()["entity"] == "patient"


def test_s2_bad_input_is_422_with_per_field_messages(client: TestClient) -> None:
    response = client.post("/v1/courses", json={"patient_id": "nope", "start_date": "2027-02-30"})
    assert response.status_code == 422
    fields = {tuple(e["loc"]) for e in response.json()["errors"]}
    assert ("body", "patient_id") in fields and ("body", "start_date") in fields and ("body", "condition") in fields
    bad_time = client.post(
        "/v1/courses", json=course_request(patient(client), practitioner(client), preferred_time="25:00")
    )
    assert bad_time.status_code == 422


def test_s3_lists_are_paginated_with_total(client: TestClient) -> None:
    prac = practitioner(client)
    for _ in range(3):
        book(client, patient(client), prac, session_count=1)
    page = client.get("/v1/courses", params={"limit": 2}).json()
    assert (len(page["items"]), page["total"], page["limit"], page["offset"]) == (2, 3, 2, 0)
    assert client.get("/v1/courses", params={"limit": 501}).status_code == 422
    assert client.get("/v1/courses", params={"offset": -1}).status_code == 422


def test_day_view_lists_a_local_day_ordered_by_start(client: TestClient) -> None:
    prac = practitioner(client)
    for time in ("11:00", "09:00", "14:30"):
        book(client, patient(client), prac, preferred_time=time, session_count=1)
    day = client.get("/v1/sessions", params={"date": "2027-03-01"}).json()
    assert [s["start_local"][11:16] for s in day["items"]] == ["09:00", "11:00", "14:30"]
    assert day["total"] == 3
    by_range = client.get(
        "/v1/sessions", params={"from": "2027-02-28", "to": "2027-03-01", "practitioner_id": prac["id"]}
    )
    assert by_range.json()["total"] == 3
    assert client.get("/v1/sessions", params={"date": "2027-03-02"}).json()["total"] == 0
    assert client.get("/v1/sessions", params={"date": "2027-03-01", "from": "2027-03-01"}).status_code == 422
    assert date.fromisoformat(day["items"][0]["start_local"][:10]) == date(2027, 3, 1)


def test_start_date_in_the_past_is_planned_from_now(client: TestClient) -> None:
    # The test clock stands at 2027-01-04 12:00 UTC (13:00 in Berlin): nothing is booked before it.
    course = book(client, patient(client), practitioner(client), start_date="2027-01-04", preferred_time="09:00")
    assert local_times(course)[0] == "2027-01-04T13:00:00+01:00"


def test_day_view_items_are_exactly_the_session_resources_byte_for_byte(client: TestClient, clock: Clock) -> None:
    # One definition of a session's JSON: the polled day view and GET /v1/sessions/{id} give the same bytes,
    # for a completed session with its clinical record, a cancelled one, a replacement and a moved one.
    prac = practitioner(client)
    course = book(client, patient(client, medications=["ibuprofen"]), prac, session_count=3)
    first, second, third = course["sessions"]
    clock.now = datetime.fromisoformat(first["start"])
    assert client.post(f"/v1/sessions/{first['id']}/check-in").status_code == 200
    record = {
        "injections": [{"site": "left SI joint", "injectate": "dextrose 15%", "volume_ml": 6}],
        "pain_before": 6,
        "adverse_events": [{"type": "bruising", "severity": "mild", "notes": 'small, "blue" — fine'}],
        "notes": "Patient tolerated it well.",
    }
    assert client.post(f"/v1/sessions/{first['id']}/complete", json=record).status_code == 200
    client.post(f"/v1/sessions/{second['id']}/cancel", json={"reason": "ill", "replace": True})
    client.post(f"/v1/sessions/{third['id']}/reschedule", json={"start": "2027-03-30T10:00:00+02:00"})
    day_view = client.get("/v1/sessions", params={"from": "2027-03-01", "to": "2027-12-31"})
    ids = [item["id"] for item in day_view.json()["items"]]
    assert len(ids) == 4
    singles = [client.get(f"/v1/sessions/{session_id}").content for session_id in ids]
    assert day_view.content == b'{"items":[' + b",".join(singles) + b'],"total":4,"limit":50,"offset":0}'
    assert b'"record":{' in singles[0] and b'"previous_start":"' in b"".join(singles)


def test_day_view_never_serves_an_answer_older_than_a_commit(client: TestClient, clean_db: Database) -> None:
    # answers are reused only while the database is unchanged: a write by any other connection
    # (another worker, another host, a script) shows in the very next poll
    course = book(client, patient(client), practitioner(client), session_count=1)
    day = {"date": "2027-03-01"}
    assert client.get("/v1/sessions", params=day).json()["items"][0]["status"] == "scheduled"
    assert client.get("/v1/sessions", params=day).json()["items"][0]["status"] == "scheduled"
    with clean_db.engine.begin() as conn:
        conn.execute(text("UPDATE session SET status = 'confirmed'"))
    assert client.get("/v1/sessions", params=day).json()["items"][0]["status"] == "confirmed"
    client.post(f"/v1/sessions/{course['sessions'][0]['id']}/cancel", json={"reason": "x"})
    assert client.get("/v1/sessions", params=day).json()["items"][0]["status"] == "cancelled"
