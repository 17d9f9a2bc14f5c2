"""Session states (R10), course status and review (R9), the clinical record and check-in warnings."""

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models import Role
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock, Database, make_key

RECORD = {
    "injections": [{"site": "left sacroiliac ligament", "injectate": "dextrose 15%", "volume_ml": 6}],
    "pain_before": 6,
    "adverse_events": [],
}


def at(clock: Clock, iso: str) -> None:
    clock.now = datetime.fromisoformat(iso).astimezone(UTC)


def act(client: TestClient, session: dict[str, Any], action: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/v1/sessions/{session['id']}/{action}", json=body)


@pytest.fixture
def course(client: TestClient) -> dict[str, Any]:
    return book(client, patient(client), practitioner(client), session_count=3)


def test_r10_confirm_check_in_complete(client: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    first = course["sessions"][0]
    assert act(client, first, "confirm").json()["status"] == "confirmed"
    at(clock, "2027-03-01T08:50:00+01:00")
    assert act(client, first, "check-in").json()["status"] == "checked_in"
    done = act(client, first, "complete", RECORD)
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    assert done.json()["record"]["pain_before"] == 6
    assert done.json()["record"]["injections"][0]["volume_ml"] == 6
    assert client.get(f"/v1/courses/{course['id']}").json()["status"] == "active"


@pytest.mark.parametrize(
    ("steps", "action", "current"),
    [
        ([], "complete", "scheduled"),
        (["confirm"], "confirm", "confirmed"),
        (["cancel"], "confirm", "cancelled"),
        (["cancel"], "check-in", "cancelled"),
    ],
)
def test_r10_illegal_transitions_are_409_naming_the_state(
    client: TestClient, clock: Clock, course: dict[str, Any], steps: list[str], action: str, current: str
) -> None:
    first = course["sessions"][0]
    for step in steps:
        act(client, first, step, {"reason": "x"} if step == "cancel" else None)
    at(clock, "2027-03-01T09:00:00+01:00")
    response = act(client, first, action, RECORD if action == "complete" else None)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["current_status"] == current
    assert current in response.json()["detail"]


def test_r10_check_in_only_on_the_sessions_local_day(client: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    first = course["sessions"][0]
    at(clock, "2027-02-28T23:59:00+01:00")
    assert act(client, first, "check-in").status_code == 409
    at(clock, "2027-03-01T00:01:00+01:00")  # still 2027-02-28 in UTC, already the session's day in Berlin
    assert act(client, first, "check-in").status_code == 200


def test_r10_no_show_only_after_the_start(client: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    first = course["sessions"][0]
    at(clock, "2027-03-01T08:59:00+01:00")
    assert act(client, first, "no-show").status_code == 409
    at(clock, "2027-03-01T09:01:00+01:00")
    assert act(client, first, "no-show").json()["status"] == "no_show"


def test_r9_two_no_shows_flag_the_course_for_review(client: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    at(clock, "2027-04-30T12:00:00+02:00")
    act(client, course["sessions"][0], "no-show")
    assert client.get(f"/v1/courses/{course['id']}").json()["needs_review"] is False
    act(client, course["sessions"][1], "no-show")
    assert client.get(f"/v1/courses/{course['id']}").json()["needs_review"] is True


def test_r9_course_completed_when_no_active_session_is_left(
    client: TestClient, clock: Clock, course: dict[str, Any]
) -> None:
    for session in course["sessions"][:2]:
        at(clock, session["start_local"])
        act(client, session, "check-in")
        act(client, session, "complete", RECORD)
    act(client, course["sessions"][2], "cancel", {"reason": "Pain gone"})
    assert client.get(f"/v1/courses/{course['id']}").json()["status"] == "completed"


def test_r9_cancel_with_replacement_appends_session_n_plus_1(client: TestClient, course: dict[str, Any]) -> None:
    second = course["sessions"][1]
    answer = act(client, second, "cancel", {"reason": "Patient has the flu", "replace": True})
    assert answer.status_code == 200
    body = answer.json()
    assert body["session"]["status"] == "cancelled" and body["session"]["change_reason"] == "Patient has the flu"
    replacement = body["replacement"]
    assert replacement["number"] == 4
    # R3 from the last active session (session 3 on 03-29 at 09:00): 14 days later, same local time.
    assert replacement["start_local"] == "2027-04-12T09:00:00+02:00"
    numbers = [s["number"] for s in client.get(f"/v1/courses/{course['id']}").json()["sessions"]]
    assert numbers == [1, 2, 3, 4]


def test_r9_cancel_without_replacement(client: TestClient, course: dict[str, Any]) -> None:
    answer = act(client, course["sessions"][2], "cancel", {"reason": "x"}).json()
    assert answer["replacement"] is None
    assert len(client.get(f"/v1/courses/{course['id']}").json()["sessions"]) == 3


def test_clinical_record_is_validated(client: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    first = course["sessions"][0]
    at(clock, first["start_local"])
    act(client, first, "check-in")
    bad = [
        {**RECORD, "pain_before": 11},
        {**RECORD, "injections": []},
        {**RECORD, "injections": [{"site": "knee", "injectate": "dextrose", "volume_ml": 0}]},
        {**RECORD, "adverse_events": [{"type": "headache", "severity": "mild"}]},
        {**RECORD, "adverse_events": [{"type": "bruising", "severity": "awful"}]},
    ]
    for body in bad:
        response = act(client, first, "complete", body)
        assert response.status_code == 422, body
        assert response.json()["errors"]
    assert client.get(f"/v1/sessions/{first['id']}").json()["status"] == "checked_in"


def test_only_clinicians_complete_sessions(clean_db: Database, clock: Clock, client: TestClient) -> None:
    course = book(client, patient(client), practitioner(client), session_count=1)
    first = course["sessions"][0]
    at(clock, first["start_local"])
    act(client, first, "check-in")
    # the client's own admin key is replaced by the role's key for these two calls
    desk = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.frontdesk)}"}
    assert client.post(f"/v1/sessions/{first['id']}/complete", json=RECORD, headers=desk).status_code == 403
    doctor = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.clinician)}"}
    assert client.post(f"/v1/sessions/{first['id']}/complete", json=RECORD, headers=doctor).status_code == 200


def test_check_in_warns_of_nsaids_earlier_infections_and_allergies(client: TestClient, clock: Clock) -> None:
    pat = patient(client, medications=["Advil 200 mg", "metformin"], allergies=["lidocaine"])
    course = book(client, pat, practitioner(client), session_count=2)
    first, second = course["sessions"]
    at(clock, first["start_local"])
    act(client, first, "check-in")
    infected = {**RECORD, "adverse_events": [{"type": "infection", "severity": "moderate", "notes": "redness"}]}
    act(client, first, "complete", infected)
    at(clock, second["start_local"])
    checked = act(client, second, "check-in").json()
    codes = {w["code"]: w["message"] for w in checked["warnings"]}
    assert set(codes) == {"nsaid_in_medications", "previous_adverse_event", "allergy_to_injectate"}
    assert "Advil 200 mg" in codes["nsaid_in_medications"] and "2027-03-15" in codes["nsaid_in_medications"]
    assert "session 1" in codes["previous_adverse_event"] and "infection" in codes["previous_adverse_event"]
    assert "lidocaine" in codes["allergy_to_injectate"]


def test_check_in_without_risks_has_no_warnings(client: TestClient, clock: Clock) -> None:
    course = book(client, patient(client, medications=["paracetamol 500 mg"]), practitioner(client), session_count=1)
    at(clock, course["sessions"][0]["start_local"])
    assert act(client, course["sessions"][0], "check-in").json()["warnings"] == []
