"""Rescheduling with reflow (R8), its dry run, and the rules it must keep (R4, R5)."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from models import Session
from tests.api.helpers import book, book_third_outside, local_times, patient, practitioner, window_codes
from tests.conftest import Clock, Database


@pytest.fixture
def course(client: TestClient) -> dict[str, Any]:
    return book(client, patient(client), practitioner(client))  # Mondays 09:00 from 2027-03-01


def move(client: TestClient, session: dict[str, Any], start: str, **options: Any) -> Any:
    return client.post(f"/v1/sessions/{session['id']}/reschedule", json={"start": start, **options})


def test_r8_reflow_moves_exactly_the_later_sessions_that_must_move(client: TestClient, course: dict[str, Any]) -> None:
    before = client.get(f"/v1/courses/{course['id']}").json()
    dry = move(client, course["sessions"][1], "2027-03-24T09:00:00+01:00", dry_run=True, reason="Patient away")
    assert dry.status_code == 200
    assert client.get(f"/v1/courses/{course['id']}").json() == before  # a dry run writes nothing

    done = move(client, course["sessions"][1], "2027-03-24T09:00:00+01:00", reason="Patient away")
    assert done.status_code == 200
    assert done.json() == dry.json()
    answer = done.json()
    assert answer["session"]["start_local"] == "2027-03-24T09:00:00+01:00"
    assert answer["session"]["previous_start"] == "2027-03-15T08:00:00Z"
    assert answer["session"]["change_reason"] == "Patient away"
    assert [(m["number"], m["start_local"][:16]) for m in answer["moved"]] == [
        (3, "2027-04-07T09:00"),
        (4, "2027-04-21T09:00"),
        (5, "2027-05-05T09:00"),
        (6, "2027-05-19T09:00"),
    ]
    after = client.get(f"/v1/courses/{course['id']}").json()
    assert [s["id"] for s in after["sessions"]] == [s["id"] for s in course["sessions"]]
    assert [s["number"] for s in after["sessions"]] == [1, 2, 3, 4, 5, 6]
    assert local_times(after)[0] == local_times(course)[0]
    assert after["sessions"][2]["change_reason"] == "reflow after session 2 moved"


def test_r8_small_move_inside_the_tolerance_moves_nothing_else(client: TestClient, course: dict[str, Any]) -> None:
    answer = move(client, course["sessions"][1], "2027-03-16T11:00:00+01:00").json()
    assert answer["moved"] == []
    assert local_times(client.get(f"/v1/courses/{course['id']}").json())[2:] == local_times(course)[2:]


def test_r4_without_reflow_a_move_too_close_to_the_next_session_is_409(
    client: TestClient, course: dict[str, Any]
) -> None:
    response = move(client, course["sessions"][1], "2027-03-24T09:00:00+01:00", reflow=False)
    assert response.status_code == 409
    problem = response.json()
    assert (problem["session_number"], problem["neighbour_number"], problem["latest_date"]) == (2, 3, "2027-03-22")
    assert local_times(client.get(f"/v1/courses/{course['id']}").json()) == local_times(course)


def test_r4_never_within_the_minimum_interval_of_the_previous_session(
    client: TestClient, course: dict[str, Any]
) -> None:
    response = move(client, course["sessions"][1], "2027-03-05T09:00:00+01:00")
    assert response.status_code == 409
    assert response.json()["earliest_date"] == "2027-03-08"


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("2027-03-18T09:00:00+01:00", "closed"),  # the closure below
        ("2027-03-20T09:00:00+01:00", "outside_hours"),  # a Saturday
        ("2027-03-16T18:00:00+01:00", "outside_hours"),
        ("2027-01-04T09:00:00+01:00", "in_the_past"),
    ],
)
def test_r5_the_new_time_must_be_open_and_free(
    client: TestClient, course: dict[str, Any], start: str, reason: str
) -> None:
    client.post("/v1/closures", json={"start_date": "2027-03-18", "end_date": "2027-03-18", "reason": "Training"})
    response = move(client, course["sessions"][1], start)
    assert response.status_code == 409
    assert reason in response.json()["reasons"]


def test_r5_r11_a_time_another_patient_holds_is_refused(client: TestClient, course: dict[str, Any]) -> None:
    prac_id = course["practitioner_id"]
    other = book(
        client, patient(client), {"id": prac_id}, start_date="2027-03-17", preferred_time="10:00", session_count=1
    )
    response = move(client, course["sessions"][1], other["sessions"][0]["start"])
    assert response.status_code == 409 and response.json()["reasons"] == ["practitioner_busy"]


def test_r8_cannot_move_a_cancelled_session(client: TestClient, course: dict[str, Any]) -> None:
    client.post(f"/v1/sessions/{course['sessions'][1]['id']}/cancel", json={"reason": "ill"})
    response = move(client, course["sessions"][1], "2027-03-16T09:00:00+01:00")
    assert response.status_code == 409 and response.json()["current_status"] == "cancelled"


def test_r14_aftercare_windows_follow_a_move(client: TestClient, course: dict[str, Any]) -> None:
    pat_id = course["patient_id"]

    def nsaid_days(on: str) -> list[tuple[str, str]]:
        answer = client.get(f"/v1/patients/{pat_id}/restrictions", params={"on": on}).json()
        return [(r["from"], r["until"]) for r in answer["restrictions"] if r["rule_code"] == "avoid_nsaids"]

    assert nsaid_days("2027-03-16") == [("2027-03-15", "2027-03-19")]
    move(client, course["sessions"][1], "2027-03-17T09:00:00+01:00")
    assert nsaid_days("2027-03-16") == []
    assert nsaid_days("2027-03-18") == [("2027-03-17", "2027-03-21")]


def test_s1_reschedule_needs_an_aware_start(client: TestClient, course: dict[str, Any]) -> None:
    assert move(client, course["sessions"][1], "2027-03-16T09:00:00").status_code == 422


def test_r8_a_later_session_left_outside_its_new_window_is_flagged_where_it_stays(
    client: TestClient, course: dict[str, Any]
) -> None:
    # Session 3 was booked on Mon 29 March, inside its window. Session 2 moves to Wed 10 March: session 3's
    # window becomes 21-27 March, which a closure added since takes whole, so the reflow keeps it on 29
    # March (R6) — outside its window now. It does not move, and it says so where it is shown.
    closed = {"start_date": "2027-03-21", "end_date": "2027-03-27", "reason": "Clinic renovation"}
    assert client.post("/v1/closures", json=closed).status_code == 201
    third = course["sessions"][2]
    day = {"date": "2027-03-29"}
    assert third["warnings"] == [] and client.get("/v1/sessions", params=day).json()["items"][0]["warnings"] == []

    answer = move(client, course["sessions"][1], "2027-03-10T09:00:00+01:00")

    assert answer.status_code == 200 and answer.json()["moved"] == []
    shown = client.get(f"/v1/sessions/{third['id']}").json()
    assert shown["start_local"] == third["start_local"]
    assert [w["code"] for w in shown["warnings"]] == ["outside_window"]
    [in_day_view] = client.get("/v1/sessions", params=day).json()["items"]
    assert in_day_view == shown


@pytest.fixture
def third_outside(client: TestClient) -> dict[str, Any]:
    return book_third_outside(client)  # session 3 on Friday 2 April, after its window (R6)


def shown(client: TestClient, course: dict[str, Any]) -> dict[str, Any]:
    """The course as staff see it now; session 3 there is also the one on the day view of 2 April."""
    now: dict[str, Any] = client.get(f"/v1/courses/{course['id']}").json()
    [on_the_day] = client.get("/v1/sessions", params={"date": "2027-04-02"}).json()["items"]
    assert on_the_day == now["sessions"][2]
    return now


@pytest.mark.parametrize("reflow", [True, False])
def test_r3_a_session_that_stays_put_loses_its_warning_when_its_predecessor_moves_it_into_its_window(
    client: TestClient, third_outside: dict[str, Any], reflow: bool
) -> None:
    # Session 2 to Wednesday 17 March: session 3's window is 28 March .. 4 April, and 2 April lies in it.
    second = third_outside["sessions"][1]
    answer = move(client, second, "2027-03-17T09:00:00+01:00", reflow=reflow)
    assert answer.status_code == 200 and answer.json()["moved"] == []
    now = shown(client, third_outside)
    assert now["sessions"][2]["start_local"] == "2027-04-02T09:00:00+02:00"  # it did not move
    assert window_codes(now) == ([], [])

    # Session 2 back to Monday 15 March: 2 April is after session 3's window again, and it says so.
    assert move(client, second, "2027-03-15T09:00:00+01:00", reflow=reflow).json()["moved"] == []
    now = shown(client, third_outside)
    assert now["sessions"][2]["start_local"] == "2027-04-02T09:00:00+02:00"
    assert window_codes(now) == (["outside_window"], ["outside_window"])
    assert all(s["warnings"] == [] for i, s in enumerate(now["sessions"]) if i != 2)  # no other session's


def test_r3_without_reflow_a_later_session_left_outside_its_window_is_flagged_where_it_stays(
    client: TestClient, course: dict[str, Any]
) -> None:
    # Session 2 to Friday 19 March without reflow: session 3 (29 March) keeps its time, 10 days after it.
    assert move(client, course["sessions"][1], "2027-03-19T09:00:00+01:00", reflow=False).status_code == 200
    now = client.get(f"/v1/courses/{course['id']}").json()
    assert window_codes(now) == (["outside_window"], ["outside_window"])
    assert [w["message"] for w in now["sessions"][2]["warnings"]] == [
        "outside its interval window since a session before it moved or did not take place (R3)"
    ]
    assert move(client, course["sessions"][1], "2027-03-16T09:00:00+01:00", reflow=False).status_code == 200
    assert window_codes(client.get(f"/v1/courses/{course['id']}").json()) == ([], [])


def test_r3_a_cancelled_predecessor_leaves_the_next_session_outside_its_window(
    client: TestClient, course: dict[str, Any]
) -> None:
    # Session 3 (29 March) now counts from session 1 (1 March): 28 days, its window is 12 .. 18 March (R8's
    # neighbours skip a session that was no injection). Session 4 still counts from session 3.
    cancelled = client.post(f"/v1/sessions/{course['sessions'][1]['id']}/cancel", json={"reason": "ill"})
    assert cancelled.status_code == 200
    now = client.get(f"/v1/courses/{course['id']}").json()
    assert window_codes(now) == (["outside_window"], ["outside_window"])
    assert [bool(s["warnings"]) for s in now["sessions"]] == [False, False, True, False, False, False]


def test_r3_a_missed_predecessor_leaves_the_next_session_outside_its_window(
    client: TestClient, clock: Clock, course: dict[str, Any]
) -> None:
    clock.now = datetime(2027, 3, 15, 12, tzinfo=UTC)  # after session 2's start
    assert client.post(f"/v1/sessions/{course['sessions'][1]['id']}/no-show").status_code == 200
    assert window_codes(client.get(f"/v1/courses/{course['id']}").json()) == (["outside_window"], ["outside_window"])


def test_r9_a_cancelled_session_takes_its_warning_off_the_course(
    client: TestClient, third_outside: dict[str, Any]
) -> None:
    third = third_outside["sessions"][2]
    assert client.post(f"/v1/sessions/{third['id']}/cancel", json={"reason": "ill"}).status_code == 200
    now = client.get(f"/v1/courses/{third_outside['id']}").json()
    assert [w["code"] for w in now["sessions"][2]["warnings"]] == ["outside_window"]  # the session as it was
    assert window_codes(now)[1] == []  # no longer planned: off the course's list
    # session 4 (16 April) counts from session 2 (15 March) now, 32 days before it
    assert window_codes(now, 4) == (["outside_window"], ["outside_window"])


def test_r3_a_stale_warning_stored_before_this_rule_was_kept_goes_with_the_next_change(
    client: TestClient, clean_db: Database, course: dict[str, Any]
) -> None:
    third = course["sessions"][2]  # 29 March: inside its window
    stale = [{"code": "outside_window", "message": "placed after its interval window: no slot fitted inside it (R6)"}]
    with clean_db.engine.begin() as connection:
        connection.execute(update(Session).where(col(Session.id) == uuid.UUID(third["id"])).values(warnings=stale))
    assert client.post(f"/v1/sessions/{course['sessions'][0]['id']}/confirm").status_code == 200
    assert window_codes(client.get(f"/v1/courses/{course['id']}").json()) == ([], [])
