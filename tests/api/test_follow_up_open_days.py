"""R16: the follow-up call lands on a day the clinic is open, and every place that shows it says the same day.

The staff reminder (its due date), the handout's "We call you" column, the patient's calendar
feed, and the aftercare list all name one date, in a Mon–Fri clinic with Bavarian holidays.
"""

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scheduling.messages import day_text
from tests.api.calendar_reading import read_feed
from tests.api.handout_reading import appointment_rows
from tests.api.helpers import book, patient, practitioner

CLINIC = {"name": "Isar Prolotherapy", "timezone": "Europe/Berlin"}  # default hours: Mon–Fri 08:00–17:00


def call_days(client: TestClient, course: dict[str, Any]) -> list[date]:
    """Each session's follow-up day, once the reminder, the handout, the feed and the aftercare list agree on it."""
    sessions = sorted(course["sessions"], key=lambda s: s["number"])
    reminders = []
    for session in sessions:
        found = client.get("/v1/reminders", params={"session_id": session["id"], "kind": "follow_up"}).json()["items"]
        pending = [r for r in found if r["status"] == "pending"]
        assert len(pending) == 1, found  # R19: one pending call per session
        assert pending[0]["due_local"][11:16] == "09:00"  # at the clinic's send time
        reminders.append(date.fromisoformat(pending[0]["due_local"][:10]))

    rows = appointment_rows(client.get(f"/v1/courses/{course['id']}/handout").text)
    assert [row["We call you"] for row in rows] == [day_text(day, with_year=False) for day in reminders]

    feed = read_feed(client.get(f"/v1/patients/{course['patient_id']}/calendar.ics").content)
    in_feed = [feed[f"aftercare-{s['id']}-follow_up@prolo"] for s in sessions]
    assert [(item.start, item.end) for item in in_feed] == [(day, day + timedelta(days=1)) for day in reminders]

    aftercare = client.get(f"/v1/patients/{course['patient_id']}/aftercare").json()["items"]
    listed = {w["session_id"]: (w["from"], w["until"]) for w in aftercare if w["kind"] == "follow_up"}
    assert [listed[s["id"]] for s in sessions] == [(day.isoformat(), day.isoformat()) for day in reminders]
    return reminders


@pytest.fixture
def bavarian_clinic(client: TestClient) -> TestClient:
    assert client.put("/v1/clinic", json=CLINIC).status_code == 200
    imported = client.post("/v1/closures/import-holidays", json={"country": "DE", "subdivision": "BY", "year": 2027})
    assert imported.status_code == 200 and len(imported.json()["items"]) == 12
    return client


@pytest.mark.parametrize(
    ("start_date", "session_day", "call_day"),
    [
        ("2027-03-05", date(2027, 3, 5), date(2027, 3, 8)),  # a Friday: R13's day 3 is Monday, open
        ("2027-03-03", date(2027, 3, 3), date(2027, 3, 8)),  # a Wednesday: day 3 is a Saturday, so Monday
        ("2027-03-24", date(2027, 3, 24), date(2027, 3, 30)),  # Saturday, Sunday, Easter Monday: Tuesday
        ("2027-05-14", date(2027, 5, 14), date(2027, 5, 18)),  # a Friday before Whit Monday: Tuesday
    ],
)
def test_r16_the_call_is_on_an_open_day_and_reminder_handout_feed_agree(
    bavarian_clinic: TestClient, start_date: str, session_day: date, call_day: date
) -> None:
    client = bavarian_clinic
    course = book(client, patient(client), practitioner(client), start_date=start_date, session_count=1)
    assert course["sessions"][0]["start_local"][:10] == session_day.isoformat()
    assert call_days(client, course) == [call_day]


def test_r16_a_whole_course_calls_only_on_open_days(bavarian_clinic: TestClient) -> None:
    client = bavarian_clinic
    # Wednesdays every two weeks from 3 March: day 3 is always a Saturday, once before Easter Monday
    course = book(client, patient(client), practitioner(client), start_date="2027-03-03")
    session_days = [date.fromisoformat(s["start_local"][:10]) for s in course["sessions"]]
    calls = call_days(client, course)
    closed = {
        date.fromisoformat(c["start_date"]) for c in client.get("/v1/closures", params={"limit": 100}).json()["items"]
    }
    assert all(day.weekday() < 5 and day not in closed for day in calls), calls
    assert all(0 < (call - session).days <= 3 + 3 for session, call in zip(session_days, calls, strict=True))
    assert date(2027, 3, 8) in calls


def test_r16_r19_a_closure_moves_the_pending_call_and_lifting_it_brings_it_back(bavarian_clinic: TestClient) -> None:
    client = bavarian_clinic
    course = book(client, patient(client), practitioner(client), start_date="2027-03-24", session_count=1)
    (session,) = course["sessions"]

    def the_call() -> dict[str, Any]:
        found = client.get("/v1/reminders", params={"session_id": session["id"], "kind": "follow_up"}).json()["items"]
        pending: list[dict[str, Any]] = [r for r in found if r["status"] == "pending"]
        assert len(pending) == 1, found
        return pending[0]

    before = the_call()
    assert call_days(client, course) == [date(2027, 3, 30)]

    closure = client.post(
        "/v1/closures", json={"start_date": "2027-03-30", "end_date": "2027-03-30", "reason": "Training"}
    )
    assert closure.status_code == 201
    moved = the_call()
    assert call_days(client, course) == [date(2027, 3, 31)]
    assert moved["idempotency_key"] != before["idempotency_key"]  # a call on another day is another message
    assert client.get(f"/v1/reminders/{before['id']}").json()["status"] == "cancelled"

    assert client.delete(f"/v1/closures/{closure.json()['id']}").status_code == 204
    back = the_call()
    assert call_days(client, course) == [date(2027, 3, 30)]
    assert back["idempotency_key"] == before["idempotency_key"]  # the same message as first planned
    assert client.get(f"/v1/reminders/{moved['id']}").json()["status"] == "cancelled"


def test_r16_closing_a_weekday_moves_the_calls_on_it(bavarian_clinic: TestClient) -> None:
    client = bavarian_clinic
    course = book(client, patient(client), practitioner(client), start_date="2027-03-05", session_count=1)
    assert call_days(client, course) == [date(2027, 3, 8)]  # Monday
    tue_to_fri = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in ("tue", "wed", "thu", "fri")]
    assert client.put("/v1/clinic", json={**CLINIC, "opening_hours": tue_to_fri}).status_code == 200
    assert call_days(client, course) == [date(2027, 3, 9)]  # no Mondays any more: Tuesday
