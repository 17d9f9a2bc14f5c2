"""Aftercare through the API (R12–R15): windows follow sessions, restrictions by day, NSAID warnings."""

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import book, patient, practitioner

# R13's default windows, as day offsets from the session's local day (first, last).
DEFAULT_WINDOWS = {"avoid_nsaids": (0, 4), "expect_symptoms": (0, 2), "follow_up": (3, 3), "exercises": (2, 13)}
SESSION_DAY = date(2027, 3, 1)


def in_force(client: TestClient, pat: dict[str, Any], day: date) -> dict[str, Any]:
    response = client.get(f"/v1/patients/{pat['id']}/restrictions", params={"on": day.isoformat()})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("offset", range(-2, 17))
def test_r13_r14_restrictions_on_every_day_around_a_session(client: TestClient, offset: int) -> None:
    pat = patient(client)
    book(client, pat, practitioner(client), session_count=1)
    day = SESSION_DAY + timedelta(days=offset)
    answer = in_force(client, pat, day)
    expected = {code for code, (first, last) in DEFAULT_WINDOWS.items() if first <= offset <= last}
    assert {r["rule_code"] for r in answer["restrictions"]} == expected
    for r in answer["restrictions"]:
        first, last = DEFAULT_WINDOWS[r["rule_code"]]
        assert (r["from"], r["until"]) == (
            (SESSION_DAY + timedelta(first)).isoformat(),
            (SESSION_DAY + timedelta(last)).isoformat(),
        )
    assert answer["on"] == day.isoformat()


def test_r12_aftercare_lists_every_window_of_every_session(client: TestClient) -> None:
    pat = patient(client)
    course = book(client, pat, practitioner(client), session_count=2)
    items = client.get(f"/v1/patients/{pat['id']}/aftercare").json()["items"]
    assert len(items) == 8
    nsaid = [w for w in items if w["rule_code"] == "avoid_nsaids"]
    assert [(w["from"], w["until"]) for w in nsaid] == [("2027-03-01", "2027-03-05"), ("2027-03-15", "2027-03-19")]
    assert nsaid[0]["kind"] == "avoid_medication" and nsaid[0]["medication_class"] == "nsaid"
    assert nsaid[0]["session_id"] == course["sessions"][0]["id"]


def test_r14_windows_vanish_with_cancels(client: TestClient) -> None:
    pat = patient(client)
    course = book(client, pat, practitioner(client), session_count=2)
    client.post(f"/v1/sessions/{course['sessions'][0]['id']}/cancel", json={"reason": "ill"})
    assert in_force(client, pat, SESSION_DAY)["restrictions"] == []
    assert {r["rule_code"] for r in in_force(client, pat, date(2027, 3, 15))["restrictions"]} >= {"avoid_nsaids"}
    client.post(f"/v1/courses/{course['id']}/cancel", json={"reason": "stopped"})
    assert client.get(f"/v1/patients/{pat['id']}/aftercare").json()["items"] == []


def test_r15_nsaid_warning_on_booking_names_drug_and_dates(client: TestClient) -> None:
    course = book(
        client, patient(client, medications=["Advil 200 mg", "metformin"]), practitioner(client), session_count=2
    )
    warning = next(w for w in course["warnings"] if w["code"] == "nsaid_in_medications")
    assert "Advil 200 mg" in warning["message"] and "ibuprofen" in warning["message"]
    assert "2027-03-01" in warning["message"] and "2027-03-05" in warning["message"]
    assert "2027-03-15" in warning["message"]


def test_r15_no_warning_for_paracetamol(client: TestClient) -> None:
    pat = patient(client, medications=["Paracetamol 500 mg", "Tylenol"])
    course = book(client, pat, practitioner(client), session_count=1)
    assert [w for w in course["warnings"] if w["code"] == "nsaid_in_medications"] == []
    assert in_force(client, pat, SESSION_DAY)["warnings"] == []


def test_r15_restrictions_warn_while_the_nsaid_window_is_in_force(client: TestClient) -> None:
    pat = patient(client, medications=["naproxen sodium 220 mg"])
    book(client, pat, practitioner(client), session_count=1)
    warnings = in_force(client, pat, date(2027, 3, 2))["warnings"]
    assert [w["code"] for w in warnings] == ["nsaid_in_medications"]
    assert "naproxen" in warnings[0]["message"] and "2027-03-05" in warnings[0]["message"]
    assert in_force(client, pat, date(2027, 3, 6))["warnings"] == []


def test_restrictions_need_a_valid_date_and_a_known_patient(client: TestClient) -> None:
    pat = patient(client)
    assert client.get(f"/v1/patients/{pat['id']}/restrictions").status_code == 422
    assert client.get(f"/v1/patients/{pat['id']}/restrictions", params={"on": "2027-13-01"}).status_code == 422
    ghost = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/v1/patients/{ghost}/restrictions", params={"on": "2027-03-01"}).status_code == 404
