"""Holding and resuming courses (R9) and the course summary."""

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import book, local_times, patient, practitioner, window_codes
from tests.conftest import Clock

RECORD = {"injections": [{"site": "knee", "injectate": "dextrose 15%", "volume_ml": 5}], "pain_before": 7}


def complete(
    client: TestClient, clock: Clock, session: dict[str, Any], pain: int, events: list[Any] | None = None
) -> None:
    clock.now = datetime.fromisoformat(session["start_local"]).astimezone(UTC)
    assert client.post(f"/v1/sessions/{session['id']}/check-in").status_code == 200
    body = {**RECORD, "pain_before": pain, "adverse_events": events or []}
    assert client.post(f"/v1/sessions/{session['id']}/complete", json=body).status_code == 200


def test_r9_hold_cancels_future_sessions_and_resume_plans_what_is_owed(client: TestClient, clock: Clock) -> None:
    prac = practitioner(client)
    course = book(client, patient(client), prac, session_count=4)
    complete(client, clock, course["sessions"][0], pain=7)
    held = client.post(f"/v1/courses/{course['id']}/hold", json={"reason": "Travelling"}).json()
    assert held["status"] == "on_hold"
    assert [s["status"] for s in held["sessions"]] == ["completed", "cancelled", "cancelled", "cancelled"]
    assert client.post(f"/v1/courses/{course['id']}/hold", json={"reason": "again"}).status_code == 409
    resumed = client.post(f"/v1/courses/{course['id']}/resume", json={"start_date": "2027-04-05"})
    assert resumed.status_code == 200
    body = resumed.json()
    assert body["status"] == "active"
    new = [s for s in body["sessions"] if s["status"] == "scheduled"]
    assert [s["number"] for s in new] == [5, 6, 7]
    assert [t[:16] for t in local_times({"sessions": new})] == [
        "2027-04-05T09:00",
        "2027-04-19T09:00",
        "2027-05-03T09:00",
    ]
    assert client.post(f"/v1/courses/{course['id']}/resume", json={"start_date": "2027-04-05"}).status_code == 409


def test_r4_resume_keeps_the_minimum_interval_after_the_last_injection(client: TestClient, clock: Clock) -> None:
    course = book(client, patient(client), practitioner(client), session_count=2)
    complete(client, clock, course["sessions"][0], pain=5)
    client.post(f"/v1/courses/{course['id']}/hold", json={"reason": "flu"})
    resumed = client.post(
        f"/v1/courses/{course['id']}/resume", json={"start_date": "2027-03-02", "preferred_time": "10:00"}
    )
    new = [s for s in resumed.json()["sessions"] if s["status"] == "scheduled"]
    assert new[0]["start_local"] == "2027-03-08T10:00:00+01:00"  # 2027-03-01 + 7 days


def test_summary_shows_progress_pain_trend_and_adverse_events(client: TestClient, clock: Clock) -> None:
    course = book(client, patient(client), practitioner(client), session_count=3)
    complete(client, clock, course["sessions"][0], pain=8)
    complete(
        client,
        clock,
        course["sessions"][1],
        pain=5,
        events=[{"type": "bruising", "severity": "mild", "notes": "small"}],
    )
    summary = client.get(f"/v1/courses/{course['id']}/summary").json()
    assert (summary["completed"], summary["remaining"]) == (2, 1)
    assert summary["next_session"]["number"] == 3
    assert summary["pain_trend"] == [{"number": 1, "pain_before": 8}, {"number": 2, "pain_before": 5}]
    assert summary["adverse_events"] == [
        {
            "session_id": course["sessions"][1]["id"],
            "number": 2,
            "type": "bruising",
            "severity": "mild",
            "notes": "small",
        }
    ]


def test_r3_the_first_session_after_a_resume_has_no_window_and_later_changes_keep_it_so(
    client: TestClient, clock: Clock
) -> None:
    course = book(client, patient(client), practitioner(client), session_count=4)
    complete(client, clock, course["sessions"][0], pain=7)
    client.post(f"/v1/courses/{course['id']}/hold", json={"reason": "Travelling"})
    resumed = client.post(f"/v1/courses/{course['id']}/resume", json={"start_date": "2027-04-05"}).json()
    fifth, sixth, seventh = resumed["sessions"][4:]
    assert [s["warnings"] for s in (fifth, sixth, seventh)] == [[], [], []]  # 5 April by R2, five weeks after 1
    # Session 6 is cancelled: session 7 (3 May) counts from session 5 (5 April) now, 28 days before it, and says
    # so; session 5 still is not flagged for the hold before it.
    assert client.post(f"/v1/sessions/{sixth['id']}/cancel", json={"reason": "ill"}).status_code == 200
    now = client.get(f"/v1/courses/{course['id']}").json()
    assert window_codes(now, 5) == ([], [])
    assert window_codes(now, 7) == (["outside_window"], ["outside_window"])
