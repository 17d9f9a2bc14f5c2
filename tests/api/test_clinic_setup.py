"""Clinic settings, closures and holidays, practitioners, time off, free slots, protocols (R5, R13, S1, S2)."""

from fastapi.testclient import TestClient

from tests.api.helpers import book, patient, practitioner


def test_clinic_defaults_and_settings_round_trip(client: TestClient) -> None:
    clinic = client.get("/v1/clinic").json()
    assert clinic["timezone"] == "Europe/Berlin" and clinic["slot_minutes"] == 15
    assert clinic["reminder_offsets_minutes"] == [2880, 120] and clinic["quiet_hours"] == {
        "start": "21:00",
        "end": "08:00",
    }
    assert clinic["opening_hours"][0] == {"weekday": "mon", "start": "08:00", "end": "17:00"}
    clinic["opening_hours"] = [
        {"weekday": "mon", "start": "08:00", "end": "12:00"},
        {"weekday": "mon", "start": "13:00", "end": "18:00"},
    ]
    clinic["slot_minutes"] = 30
    assert client.put("/v1/clinic", json=clinic).json()["slot_minutes"] == 30
    assert client.get("/v1/clinic").json()["opening_hours"][1]["start"] == "13:00"


def test_clinic_rejects_unknown_zones_and_overlapping_hours(client: TestClient) -> None:
    clinic = client.get("/v1/clinic").json()
    assert client.put("/v1/clinic", json={**clinic, "timezone": "Mars/Olympus"}).status_code == 422
    overlapping = [
        {"weekday": "mon", "start": "08:00", "end": "12:00"},
        {"weekday": "mon", "start": "11:00", "end": "13:00"},
    ]
    assert client.put("/v1/clinic", json={**clinic, "opening_hours": overlapping}).status_code == 422
    assert (
        client.put(
            "/v1/clinic", json={**clinic, "opening_hours": [{"weekday": "mon", "start": "12:00", "end": "08:00"}]}
        ).status_code
        == 422
    )
    assert client.get("/v1/clinic").json()["timezone"] == "Europe/Berlin"


def test_r5_lunch_break_in_opening_hours_is_avoided(client: TestClient) -> None:
    clinic = client.get("/v1/clinic").json()
    clinic["opening_hours"] = [
        {"weekday": "mon", "start": "08:00", "end": "12:00"},
        {"weekday": "mon", "start": "13:00", "end": "17:00"},
    ]
    client.put("/v1/clinic", json=clinic)
    course = book(client, patient(client), practitioner(client), preferred_time="11:45", session_count=1)
    # 11:45 + 45 min would run into the lunch break: the nearest fitting slot is 11:15 (30 min) vs 13:00 (75 min).
    assert course["sessions"][0]["start_local"] == "2027-03-01T11:15:00+01:00"


def test_closures_create_list_delete(client: TestClient) -> None:
    made = client.post(
        "/v1/closures", json={"start_date": "2027-12-24", "end_date": "2027-12-31", "reason": "Winter break"}
    )
    assert made.status_code == 201
    page = client.get("/v1/closures", params={"from": "2027-12-30", "to": "2028-01-05"}).json()
    assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)  # S3: lists are paginated
    listed = page["items"]
    assert [c["reason"] for c in listed] == ["Winter break"]
    assert client.get("/v1/closures", params={"from": "2028-01-01"}).json()["items"] == []
    assert client.delete(f"/v1/closures/{made.json()['id']}").status_code == 204
    assert client.delete(f"/v1/closures/{made.json()['id']}").status_code == 404
    bad = client.post("/v1/closures", json={"start_date": "2027-12-31", "end_date": "2027-12-24", "reason": "x"})
    assert bad.status_code == 422


def test_import_holidays_twice_makes_none_twice(client: TestClient) -> None:
    first = client.post("/v1/closures/import-holidays", json={"country": "DE", "subdivision": "BY", "year": 2027})
    assert first.status_code == 200
    reasons = {c["reason"] for c in first.json()["items"]}
    assert {"New Year's Day", "Epiphany", "Christmas Day"} <= reasons
    second = client.post("/v1/closures/import-holidays", json={"country": "DE", "subdivision": "BY", "year": 2027})
    assert second.json()["items"] == []
    assert len(client.get("/v1/closures", params={"from": "2027-01-01", "to": "2027-12-31"}).json()["items"]) == len(
        first.json()["items"]
    )
    unknown = client.post("/v1/closures/import-holidays", json={"country": "ZZ", "year": 2027})
    assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"


def test_practitioner_set_up_and_free_slots(client: TestClient) -> None:
    prac = practitioner(client, working_hours=[{"weekday": "mon", "start": "09:00", "end": "11:00"}])
    assert client.get(f"/v1/practitioners/{prac['id']}").json()["working_hours"][0]["start"] == "09:00"
    free = client.get(
        f"/v1/practitioners/{prac['id']}/free-slots", params={"from": "2027-03-01", "to": "2027-03-02"}
    ).json()["items"]
    assert [s["start_local"][11:16] for s in free] == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15"]
    book(client, patient(client), prac, preferred_time="09:30", session_count=1)
    free = client.get(
        f"/v1/practitioners/{prac['id']}/free-slots", params={"from": "2027-03-01", "to": "2027-03-01"}
    ).json()["items"]
    assert [s["start_local"][11:16] for s in free] == ["10:15"]
    renamed = client.patch(f"/v1/practitioners/{prac['id']}", json={"name": "Dr. Okafor-Lang"}).json()
    assert renamed["name"] == "Dr. Okafor-Lang" and renamed["working_hours"] == prac["working_hours"]
    assert client.get("/v1/practitioners").json()["total"] == 1


def test_practitioners_are_found_by_exact_name_ignoring_case(client: TestClient) -> None:
    okafor = practitioner(client)
    practitioner(client, name="Dr. Amara Okafor-Lang")
    found = client.get("/v1/practitioners", params={"name": "dr. amara okafor"}).json()
    assert (found["total"], [p["id"] for p in found["items"]]) == (1, [okafor["id"]])  # not the prefix's namesake
    assert client.get("/v1/practitioners", params={"name": "Dr. Nobody"}).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }
    assert client.get("/v1/practitioners").json()["total"] == 2
    assert client.get("/v1/practitioners", params={"name": "x" * 201}).status_code == 422


def test_s1_naive_datetimes_are_rejected(client: TestClient) -> None:
    prac = practitioner(client)
    naive = {"start": "2027-03-01T08:00:00", "end": "2027-03-01T12:00:00", "reason": "x"}
    response = client.post(f"/v1/practitioners/{prac['id']}/time-off", json=naive)
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} >= {("body", "start"), ("body", "end")}


def test_free_slot_ranges_are_bounded(client: TestClient) -> None:
    prac = practitioner(client)
    path = f"/v1/practitioners/{prac['id']}/free-slots"
    assert client.get(path, params={"from": "2027-01-01", "to": "2027-12-31"}).status_code == 422
    assert client.get(path, params={"from": "2027-03-02", "to": "2027-03-01"}).status_code == 422


def test_r13_default_protocol_and_its_aftercare_rules(client: TestClient) -> None:
    protocols = client.get("/v1/protocols").json()["items"]
    default = protocols[0]
    assert default["is_default"] is True
    assert (
        default["session_count"],
        default["interval_days"],
        default["interval_tolerance_days"],
        default["min_interval_days"],
    ) == (6, 14, 3, 7)
    rules = {
        r["code"]: (r["kind"], r["start_offset_days"], r["duration_days"], r.get("medication_class"))
        for r in default["rules"]
    }
    assert rules == {
        "avoid_nsaids": ("avoid_medication", 0, 5, "nsaid"),
        "expect_symptoms": ("expect_symptoms", 0, 3, None),
        "follow_up": ("follow_up", 3, 1, None),
        "exercises": ("exercise", 2, 12, None),
    }


def test_protocols_create_validate_and_name_is_unique(client: TestClient) -> None:
    body = {"name": "Knee — 5 × every 21 days", "session_count": 5, "interval_days": 21, "injectate": "dextrose 12.5%"}
    made = client.post("/v1/protocols", json=body)
    assert made.status_code == 201 and made.json()["min_interval_days"] == 7
    assert client.post("/v1/protocols", json=body).status_code == 409
    assert client.post("/v1/protocols", json={**body, "name": "x", "min_interval_days": 30}).status_code == 422
    rule = {
        "code": "no_ice",
        "kind": "avoid_medication",
        "start_offset_days": 0,
        "duration_days": 2,
        "instruction": "No ice",
    }
    assert client.post("/v1/protocols", json={**body, "name": "y", "rules": [rule]}).status_code == 422
    bad_patch = client.patch(f"/v1/protocols/{made.json()['id']}", json={"interval_tolerance_days": 21})
    assert bad_patch.status_code == 422
    course = book(client, patient(client), practitioner(client), protocol_id=made.json()["id"])
    assert len(course["sessions"]) == 5
    assert course["sessions"][1]["start_local"].startswith("2027-03-22")
