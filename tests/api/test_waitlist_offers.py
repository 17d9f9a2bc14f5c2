"""R40–R45 through the API: a dispatch pass settles openings, staff mode raises one staff item, auto mode
offers a batch and holds the time, the first accept wins, the next batch follows an unanswered one, and
an opening lapses when its time is gone.

A freed Friday: the course the waitlist is about has session 3 on Mon 29 Mar 2027 at 09:00 (sessions every
14 days from Mon 1 Mar); Fri 26 Mar 09:00 is inside its R3 window, so moving it there moves nothing else.
"""

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models import Role
from tests.api.helpers import book, clinic_settings, course_request, created, patient, practitioner, window_codes
from tests.conftest import Clock, Database, make_key

FRIDAY = {"start": "2027-03-26T09:00:00+01:00", "end": "2027-03-26T09:45:00+01:00"}
REACHABLE = {"email": "maria@example.org", "reminder_channel": "email", "reminder_consent": True}


@pytest.fixture
def prac(client: TestClient) -> dict[str, Any]:
    return practitioner(client)


def waiting(client: TestClient, prac: dict[str, Any], at: str = "09:00", **entry: Any) -> dict[str, Any]:
    """A course from Mon 1 Mar at `at`, and an entry for its session 3 (Mon 29 Mar)."""
    course = book(client, patient(client, **REACHABLE), prac, preferred_time=at)
    return created(client.post("/v1/waitlist", json={"session_id": course["sessions"][2]["id"], **entry}))


def freed(client: TestClient, prac: dict[str, Any]) -> dict[str, Any]:
    return created(client.post("/v1/waitlist/openings", json={"practitioner_id": prac["id"], **FRIDAY}))


def dispatch(client: TestClient, database: Database) -> dict[str, Any]:
    key = make_key(database.engine, Role.dispatcher)
    answer = client.post("/v1/reminders/dispatch", json={}, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    summary: dict[str, Any] = answer.json()
    return summary


def later(clock: Clock, **delta: float) -> None:
    clock.now = clock.now + timedelta(**delta)


def opening_of(client: TestClient, opening: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/v1/waitlist/openings/{opening['id']}").json()
    return found


def offers(client: TestClient, opening: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/waitlist/offers", params={"opening_id": opening["id"]}).json()[
        "items"
    ]
    return items


def test_r40_an_opening_settles_ten_minutes_then_staff_mode_raises_one_staff_item(
    client: TestClient, clean_db: Database, clock: Clock, prac: dict[str, Any]
) -> None:
    entry = waiting(client, prac)
    opening = freed(client, prac)
    assert dispatch(client, clean_db)["openings_settled"] == 0  # still settling: reshuffles are not offered
    assert opening_of(client, opening)["status"] == "settling"
    later(clock, minutes=10)
    summary = dispatch(client, clean_db)
    assert (summary["openings_settled"], summary["offers_made"]) == (1, 0)
    assert opening_of(client, opening)["status"] == "offering"
    items = client.get("/v1/reminders", params={"kind": "waitlist_opening"}).json()["items"]
    assert [(i["status"], i["reason"]) for i in items] == [("ready", "waitlist_opening")]
    assert str(entry["id"]) in items[0]["body"]
    assert offers(client, opening) == []  # staff offer or phone
    later(clock, minutes=5)
    dispatch(client, clean_db)
    assert len(client.get("/v1/reminders", params={"kind": "waitlist_opening"}).json()["items"]) == 1  # one item


def test_r43_auto_offers_holds_the_time_and_the_first_accept_wins(
    client: TestClient, clean_db: Database, clock: Clock, prac: dict[str, Any]
) -> None:
    clinic_settings(client, waitlist={"mode": "auto", "batch_size": 3})
    first, second = waiting(client, prac, "09:00"), waiting(client, prac, "10:00")
    other = book(client, patient(client), prac, start_date="2027-03-02", preferred_time="09:00")
    opening = freed(client, prac)
    later(clock, minutes=10)
    summary = dispatch(client, clean_db)
    assert (summary["openings_settled"], summary["offers_made"]) == (1, 2)
    held = opening_of(client, opening)
    assert held["hold_until"] is not None
    made = offers(client, opening)
    assert sorted(o["entry_id"] for o in made) == sorted([first["id"], second["id"]])
    sent = client.get("/v1/reminders", params={"kind": "waitlist_offer"}).json()["items"]
    assert sorted(r["offer_id"] for r in sent) == sorted(o["id"] for o in made)  # sent by the same pass
    assert {r["status"] for r in sent} == {"sent"}
    # the held span is busy for every planner: a staff reschedule into it is refused with the hold
    move = client.post(f"/v1/sessions/{other['sessions'][1]['id']}/reschedule", json={"start": FRIDAY["start"]})
    assert (move.status_code, move.json()["code"], move.json()["opening_id"]) == (409, "slot_held", opening["id"])
    slots = client.get(
        f"/v1/practitioners/{prac['id']}/free-slots", params={"from": "2027-03-26", "to": "2027-03-26"}
    ).json()
    assert not any(s["start"].startswith("2027-03-26T08:00") for s in slots["items"])
    mine = next(o for o in made if o["entry_id"] == first["id"])
    won = client.post(f"/v1/waitlist/offers/{mine['id']}/accept")
    assert won.status_code == 200, won.text
    assert (won.json()["session"]["start_local"], won.json()["moved"]) == ("2027-03-26T09:00:00+01:00", [])
    theirs = next(o for o in made if o["entry_id"] == second["id"])
    late = client.post(f"/v1/waitlist/offers/{theirs['id']}/accept")
    assert (late.status_code, late.json()["code"]) == (409, "offer_taken")
    assert opening_of(client, opening)["status"] == "filled"
    assert client.get(f"/v1/waitlist/{first['id']}").json()["status"] == "fulfilled"
    assert client.get(f"/v1/waitlist/{second['id']}").json()["status"] == "waiting"
    statuses = {o["entry_id"]: o["status"] for o in offers(client, opening)}
    assert statuses == {first["id"]: "accepted", second["id"]: "taken"}
    # session 3's old time (Mon 29 Mar 09:00) is freed in turn
    assert any(
        o["start_local"] == "2027-03-29T09:00:00+02:00" for o in client.get("/v1/waitlist/openings").json()["items"]
    )


def test_r43_a_hold_ends_at_hold_until_without_waiting_for_the_next_pass(
    client: TestClient, clean_db: Database, clock: Clock, prac: dict[str, Any]
) -> None:
    clinic_settings(client, waitlist={"mode": "auto", "batch_size": 1, "hold_minutes": 15})
    waiting(client, prac)
    other = book(client, patient(client), prac, start_date="2027-03-02", preferred_time="09:00")
    opening = freed(client, prac)
    later(clock, minutes=10)
    dispatch(client, clean_db)
    hold_until = datetime.fromisoformat(opening_of(client, opening)["hold_until"])
    (offer,) = offers(client, opening)
    session = other["sessions"][1]

    def free_on_friday() -> bool:
        slots = client.get(
            f"/v1/practitioners/{prac['id']}/free-slots", params={"from": "2027-03-26", "to": "2027-03-26"}
        ).json()["items"]
        return any(datetime.fromisoformat(s["start"]) == datetime.fromisoformat(FRIDAY["start"]) for s in slots)

    def move_into_the_span() -> Any:
        return client.post(f"/v1/sessions/{session['id']}/reschedule", json={"start": FRIDAY["start"]})

    def preview_on_friday() -> str:
        asked = course_request(patient(client), prac, start_date="2027-03-26", session_count=1)
        answer = client.post("/v1/courses/preview", json=asked)
        assert answer.status_code == 200, answer.text
        first_start: str = answer.json()["sessions"][0]["start_local"]
        return first_start

    clock.now = hold_until - timedelta(minutes=1)  # still held
    move = move_into_the_span()
    assert (move.status_code, move.json()["code"], move.json()["opening_id"]) == (409, "slot_held", opening["id"])
    assert not free_on_friday()
    assert preview_on_friday() != FRIDAY["start"]  # planned around the hold
    clock.now = hold_until + timedelta(minutes=1)  # the hold has ended; no dispatch pass since
    late = client.post(f"/v1/waitlist/offers/{offer['id']}/accept")
    assert (late.status_code, late.json()["code"]) == (409, "conflict")  # it expired with the hold: time kept
    assert free_on_friday()
    assert preview_on_friday() == FRIDAY["start"]
    moved = move_into_the_span()
    assert moved.status_code == 200, moved.text
    assert moved.json()["session"]["start_local"] == FRIDAY["start"]
    summary = dispatch(client, clean_db)  # the pass still ends the batch: the time is gone, so the opening lapses
    assert summary["openings_lapsed"] == 1
    assert (opening_of(client, opening)["status"], opening_of(client, opening)["end_reason"]) == ("lapsed", "taken")
    assert [o["status"] for o in offers(client, opening)] == ["expired"]


def test_r45_the_next_batch_follows_an_unanswered_one_then_the_opening_lapses(
    client: TestClient, clean_db: Database, clock: Clock, prac: dict[str, Any]
) -> None:
    clinic_settings(client, waitlist={"mode": "auto", "batch_size": 1, "hold_minutes": 15})
    first, second = waiting(client, prac, "09:00"), waiting(client, prac, "10:00")
    opening = freed(client, prac)
    later(clock, minutes=10)
    dispatch(client, clean_db)
    assert [o["entry_id"] for o in offers(client, opening)] == [first["id"]]  # first come
    later(clock, minutes=14)
    assert dispatch(client, clean_db)["offers_made"] == 0  # still held
    later(clock, minutes=1)
    assert dispatch(client, clean_db)["offers_made"] == 1
    statuses = {o["entry_id"]: o["status"] for o in offers(client, opening)}
    assert statuses == {first["id"]: "expired", second["id"]: "open"}
    later(clock, minutes=15)
    summary = dispatch(client, clean_db)
    assert summary["openings_lapsed"] == 1  # nobody left who was not offered it
    assert (opening_of(client, opening)["status"], opening_of(client, opening)["hold_until"]) == ("lapsed", None)


def test_r42_candidates_urgent_first_then_fewer_recent_offers_then_first_come(
    client: TestClient, prac: dict[str, Any]
) -> None:
    early = waiting(client, prac, "10:00")
    late = waiting(client, prac, "11:00")
    urgent = waiting(client, prac, "12:00", priority="urgent")
    opening = freed(client, prac)
    found = client.get(f"/v1/waitlist/openings/{opening['id']}/candidates").json()
    assert [c["entry_id"] for c in found] == [urgent["id"], early["id"], late["id"]]
    assert [c["rank"] for c in found] == [1, 2, 3]
    # an offer of another opening counts against `early` now
    other = created(
        client.post(
            "/v1/waitlist/openings",
            json={
                "practitioner_id": prac["id"],
                "start": "2027-03-26T10:00:00+01:00",
                "end": "2027-03-26T10:45:00+01:00",
            },
        )
    )
    made = client.post(f"/v1/waitlist/openings/{other['id']}/offers", json={"entry_ids": [early["id"]]})
    assert made.status_code == 201, made.text
    client.post(f"/v1/waitlist/openings/{other['id']}/withdraw", json={"reason": "kept"})
    found = client.get(f"/v1/waitlist/openings/{opening['id']}/candidates").json()
    assert [c["entry_id"] for c in found] == [urgent["id"], late["id"], early["id"]]


def test_r40_an_opening_lapses_when_its_time_is_too_near_or_taken(
    client: TestClient, clean_db: Database, clock: Clock, prac: dict[str, Any]
) -> None:
    waiting(client, prac)
    near, taken = freed(client, prac), None
    taken = created(
        client.post(
            "/v1/waitlist/openings",
            json={
                "practitioner_id": prac["id"],
                "start": "2027-03-31T09:00:00+02:00",
                "end": "2027-03-31T09:45:00+02:00",
            },
        )
    )
    book(client, patient(client), prac, start_date="2027-03-31", preferred_time="09:00", session_count=1)
    clock.now = datetime.fromisoformat("2027-03-26T06:01:00+01:00")  # 2 h 59 min before: too near (180 min)
    summary = dispatch(client, clean_db)
    assert summary["openings_lapsed"] == 2
    assert [opening_of(client, o)["end_reason"] for o in (near, taken)] == ["too_near", "taken"]


def test_r44_an_accepted_offer_that_brings_a_later_session_into_its_window_clears_its_warning(
    client: TestClient, clean_db: Database, clock: Clock, prac: dict[str, Any]
) -> None:
    # Staff put session 3 on Wed 24 March, 9 days after session 2 (15 March): before its window (26 March ..
    # 1 April), flagged (R3). Session 2 then takes a freed Fri 12 March from the waitlist: session 3's window
    # is 23 .. 29 March now, and session 3 stays where it is, inside it.
    clinic_settings(client, waitlist={"mode": "auto", "batch_size": 3})
    course = book(client, patient(client, **REACHABLE), prac)
    third = course["sessions"][2]
    staff = {"start": "2027-03-24T09:00:00+01:00", "reflow": False}
    assert client.post(f"/v1/sessions/{third['id']}/reschedule", json=staff).status_code == 200
    assert window_codes(client.get(f"/v1/courses/{course['id']}").json()) == (["outside_window"], ["outside_window"])
    created(client.post("/v1/waitlist", json={"session_id": course["sessions"][1]["id"]}))
    friday = {"start": "2027-03-12T09:00:00+01:00", "end": "2027-03-12T09:45:00+01:00"}
    opening = created(client.post("/v1/waitlist/openings", json={"practitioner_id": prac["id"], **friday}))
    later(clock, minutes=10)
    assert dispatch(client, clean_db)["offers_made"] == 1
    [offer] = offers(client, opening)
    accepted = client.post(f"/v1/waitlist/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["session"]["start_local"], accepted.json()["moved"]) == ("2027-03-12T09:00:00+01:00", [])
    now = client.get(f"/v1/courses/{course['id']}").json()
    assert now["sessions"][2]["start_local"] == "2027-03-24T09:00:00+01:00"
    assert window_codes(now) == ([], [])
