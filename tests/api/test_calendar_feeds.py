"""Calendar feeds (S9) as a calendar app reads them: sessions, aftercare days, moves, cancellations, polling.

The clinic is in Berlin; the course runs Mondays at 09:00 from 1 March 2027, across the
change to summer time on 28 March, so sessions 1–2 are at 08:00Z and 3–6 at 07:00Z (R1).
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models import Role
from tests.api.calendar_reading import ICALENDAR, Item, days_of, read_feed, sessions_of
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock, Database, make_key, new_id

SESSION_DAYS = [date(2027, 3, 1), date(2027, 3, 15), date(2027, 3, 29), date(2027, 4, 12), date(2027, 4, 26)]
SESSION_DAYS.append(date(2027, 5, 10))
# R13's default windows as (first, last) day offsets from the session's local day, last day included.
R13_WINDOWS = {"avoid_nsaids": (0, 4), "expect_symptoms": (0, 2), "follow_up": (3, 3), "exercises": (2, 13)}


@pytest.fixture
def course(client: TestClient) -> dict[str, Any]:
    answer = client.put(
        "/v1/clinic", json={"name": "Isar Prolotherapy", "timezone": "Europe/Berlin", "phone": "+49 89 1234567"}
    )
    assert answer.status_code == 200, answer.text
    return book(client, patient(client), practitioner(client))


def patient_feed(client: TestClient, course: dict[str, Any]) -> dict[str, Item]:
    answer = client.get(f"/v1/patients/{course['patient_id']}/calendar.ics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == ICALENDAR
    return read_feed(answer.content)


def session_event(items: dict[str, Item], session: dict[str, Any]) -> Item:
    (found,) = [i for i in items.values() if not i.all_day and session["id"] in i.uid]
    return found


def test_s9_r1_a_timed_event_per_session_at_the_right_utc_instants_across_dst(
    client: TestClient, course: dict[str, Any]
) -> None:
    sessions = sessions_of(patient_feed(client, course))
    assert [(s.start, s.end - s.start) for s in sessions] == [  # type: ignore[operator]
        (datetime(2027, 3, 1, 8, tzinfo=UTC), timedelta(minutes=45)),
        (datetime(2027, 3, 15, 8, tzinfo=UTC), timedelta(minutes=45)),
        (datetime(2027, 3, 29, 7, tzinfo=UTC), timedelta(minutes=45)),  # summer time from 28 March: 09:00 is 07:00Z
        (datetime(2027, 4, 12, 7, tzinfo=UTC), timedelta(minutes=45)),
        (datetime(2027, 4, 26, 7, tzinfo=UTC), timedelta(minutes=45)),
        (datetime(2027, 5, 10, 7, tzinfo=UTC), timedelta(minutes=45)),
    ]
    assert [s.start for s in sessions] == [datetime.fromisoformat(s["start"]) for s in course["sessions"]]
    assert {s.status for s in sessions} == {"CONFIRMED"}
    assert sessions[0].summary == "Session 1 at Isar Prolotherapy"
    assert "+49 89 1234567" in sessions[0].description


def test_s9_r13_aftercare_windows_are_all_day_events_on_exactly_the_specs_dates(
    client: TestClient, course: dict[str, Any]
) -> None:
    days = days_of(patient_feed(client, course))
    expected = sorted(
        (day + timedelta(first), day + timedelta(last + 1), code)  # DTEND: the day after the last one
        for day in SESSION_DAYS
        for code, (first, last) in R13_WINDOWS.items()
    )
    assert sorted((d.start, d.end, d.uid.split("-")[-1].split("@")[0]) for d in days) == expected
    nsaid = [d for d in days if "avoid_nsaids" in d.uid]
    assert nsaid[0].summary == "No anti-inflammatory painkillers (NSAIDs)"
    assert (nsaid[0].start, nsaid[0].end) == (date(2027, 3, 1), date(2027, 3, 6))  # 1–5 March


def test_s9_uids_stay_and_sequence_rises_on_a_reschedule_and_its_reflow(
    client: TestClient, course: dict[str, Any]
) -> None:
    before = patient_feed(client, course)
    moved = client.post(
        f"/v1/sessions/{course['sessions'][1]['id']}/reschedule", json={"start": "2027-03-24T09:00:00+01:00"}
    )
    assert moved.status_code == 200, moved.text
    reflowed = {m["id"] for m in moved.json()["moved"]}
    assert len(reflowed) == 4  # sessions 3–6 follow session 2
    after = patient_feed(client, course)
    assert after.keys() == before.keys()  # same UIDs: apps update the events, never duplicate them
    for session in course["sessions"]:
        old, new = session_event(before, session), session_event(after, session)
        if session["id"] == course["sessions"][1]["id"] or session["id"] in reflowed:
            assert new.sequence > old.sequence and new.start != old.start
        else:
            assert (new.sequence, new.start) == (old.sequence, old.start)
    assert session_event(after, course["sessions"][1]).start == datetime(2027, 3, 24, 8, tzinfo=UTC)
    nsaid_days = {i.uid: i for i in days_of(after) if course["sessions"][1]["id"] in i.uid and "nsaid" in i.uid}
    (window,) = nsaid_days.values()
    assert (window.start, window.end) == (date(2027, 3, 24), date(2027, 3, 29))
    assert window.sequence == session_event(after, course["sessions"][1]).sequence > before[window.uid].sequence


def test_s9_a_dry_run_changes_no_sequence(client: TestClient, course: dict[str, Any]) -> None:
    before = patient_feed(client, course)
    body = {"start": "2027-03-24T09:00:00+01:00", "dry_run": True}
    assert client.post(f"/v1/sessions/{course['sessions'][1]['id']}/reschedule", json=body).status_code == 200
    assert patient_feed(client, course) == before


def test_s9_a_cancelled_session_stays_in_the_feed_as_cancelled_without_its_aftercare(
    client: TestClient, course: dict[str, Any]
) -> None:
    second = course["sessions"][1]
    before = session_event(patient_feed(client, course), second)
    assert client.post(f"/v1/sessions/{second['id']}/cancel", json={"reason": "flu"}).status_code == 200
    after = patient_feed(client, course)
    cancelled = session_event(after, second)
    assert cancelled.status == "CANCELLED" and cancelled.start == before.start
    assert cancelled.sequence > before.sequence
    assert cancelled.summary.startswith("Cancelled: ")
    assert not [d for d in days_of(after) if second["id"] in d.uid]  # R14: no injection, no aftercare
    assert len(sessions_of(after)) == 6


@pytest.mark.parametrize("change", ["no_show", "hold", "course_cancel", "confirm"])
def test_s9_every_status_change_raises_the_sequence(
    client: TestClient, clock: Clock, course: dict[str, Any], change: str
) -> None:
    first, later = course["sessions"][0], course["sessions"][1:]
    before = patient_feed(client, course)
    clock.now = datetime(2027, 3, 1, 10, tzinfo=UTC)  # session 1 is over, the others to come
    path = {
        "no_show": f"/v1/sessions/{first['id']}/no-show",
        "hold": f"/v1/courses/{course['id']}/hold",
        "course_cancel": f"/v1/courses/{course['id']}/cancel",
        "confirm": f"/v1/sessions/{later[0]['id']}/confirm",
    }[change]
    answer = client.post(path, json={"reason": "patient moved away"})
    assert answer.status_code == 200, answer.text
    after = patient_feed(client, course)
    changed = [first] if change == "no_show" else later[:1] if change == "confirm" else later
    for session in course["sessions"]:
        rose = session_event(after, session).sequence > session_event(before, session).sequence
        assert rose == (session in changed), session["number"]
    if change in ("hold", "course_cancel"):
        assert {session_event(after, s).status for s in later} == {"CANCELLED"}


def test_s9_if_none_match_answers_304_until_the_feed_changes(client: TestClient, course: dict[str, Any]) -> None:
    path = f"/v1/patients/{course['patient_id']}/calendar.ics"
    first = client.get(path)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    assert client.get(path).headers["etag"] == etag  # the same feed, the same bytes
    for given in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = client.get(path, headers={"If-None-Match": given})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == etag
    assert client.get(path, headers={"If-None-Match": '"something else"'}).status_code == 200
    client.post(f"/v1/sessions/{course['sessions'][5]['id']}/cancel", json={"reason": "away"})
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_s9_a_practitioner_feed_holds_their_sessions_of_every_patient(
    client: TestClient, course: dict[str, Any]
) -> None:
    other = book(client, patient(client, given_name="Jonas", family_name="Brandt"), {"id": course["practitioner_id"]})
    answer = client.get(f"/v1/practitioners/{course['practitioner_id']}/calendar.ics")
    assert answer.status_code == 200 and answer.headers["content-type"] == ICALENDAR
    sessions = sessions_of(read_feed(answer.content))
    assert len(sessions) == 12
    assert {s.start for s in sessions} == {
        datetime.fromisoformat(s["start"]) for s in course["sessions"] + other["sessions"]
    }
    assert {s.summary for s in sessions if "Brandt" in s.summary} == {
        f"Session {n} · Jonas Brandt" for n in range(1, 7)
    }
    assert "chronic low back pain" in sessions[0].description  # staff, with a key, see the condition


def test_s9_feeds_need_a_staff_key_and_known_ids(client: TestClient, clean_db: Database) -> None:
    pat, prac = patient(client), practitioner(client)
    dispatcher = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.dispatcher)}"}
    for path in (f"/v1/patients/{pat['id']}/calendar.ics", f"/v1/practitioners/{prac['id']}/calendar.ics"):
        assert client.get(path, headers=dispatcher).status_code == 403
    assert client.get(f"/v1/patients/{new_id()}/calendar.ics").status_code == 404
    assert client.get(f"/v1/practitioners/{new_id()}/calendar.ics").status_code == 404
    empty = read_feed(client.get(f"/v1/patients/{pat['id']}/calendar.ics").content)
    assert empty == {}  # a patient with no course yet: a valid, empty calendar
