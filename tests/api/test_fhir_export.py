"""FHIR R4 export (S10): a course as a Bundle an EHR accepts, validated resource by resource.

`fhir.resources` (8.x, pydantic 2) ships FHIR R5, R4B (4.3.0) and STU3 models, no 4.0.1.
The export uses only elements R4 and R4B define alike, so it is checked with the R4B
models: the Bundle, and then every entry with its own resource's model, because the
Bundle's model takes any resource in an entry without looking inside.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from models import Role
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock, Database, make_key, new_id

FHIR_JSON = "application/fhir+json"
# fhir.resources checks structure, types and formats, not the codes of required bindings: these are
# FHIR R4's required value sets for every code the export writes, by (resource type, path).
_REQUEST_STATUS = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
REQUIRED_CODES = {
    ("Bundle", "type"): {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    },
    ("Appointment", "status"): {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    },
    ("Appointment", "participant.status"): {"accepted", "declined", "tentative", "needs-action"},
    ("Appointment", "participant.required"): {"required", "optional", "information-only"},
    ("CarePlan", "status"): _REQUEST_STATUS,
    ("CarePlan", "intent"): {"proposal", "plan", "order", "option"},
    ("CarePlan", "activity.detail.status"): {
        "not-started",
        "scheduled",
        "in-progress",
        "on-hold",
        "completed",
        "cancelled",
        "stopped",
        "unknown",
        "entered-in-error",
    },
    ("CarePlan", "activity.detail.kind"): {
        "Appointment",
        "CommunicationRequest",
        "DeviceRequest",
        "MedicationRequest",
        "NutritionOrder",
        "Task",
        "ServiceRequest",
        "VisionPrescription",
    },
    ("CommunicationRequest", "status"): _REQUEST_STATUS,
    ("CommunicationRequest", "priority"): {"routine", "urgent", "asap", "stat"},
    ("Patient", "telecom.system"): {"phone", "fax", "email", "pager", "url", "sms", "other"},
    ("Patient", "name.use"): {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"},
    ("Organization", "telecom.system"): {"phone", "fax", "email", "pager", "url", "sms", "other"},
}


def references(value: Any) -> Iterator[str]:
    """Every `reference` anywhere in a resource."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


@pytest.fixture
def bundle(client: TestClient, clock: Clock) -> dict[str, Any]:
    """A course with a completed, a cancelled and a no-show session, for a patient who takes Advil."""
    client.put("/v1/clinic", json={"name": "Isar Prolotherapy", "timezone": "Europe/Berlin", "phone": "+49 89 1234567"})
    pat = patient(
        client,
        phone="+49 151 23456789",
        email="maria.keller@example.org",
        reminder_channel="sms",
        reminder_consent=True,
        medications=["Advil 200 mg", "metformin"],
    )
    course = book(client, pat, practitioner(client))
    first, second, third = course["sessions"][:3]
    fifth = course["sessions"][4]  # the patient would like it earlier, not before 14 April (R39)
    waiting = client.post("/v1/waitlist", json={"session_id": fifth["id"], "earliest_date": "2027-04-14"})
    assert waiting.status_code == 201, waiting.text
    clock.now = datetime(2027, 3, 1, 8, 5, tzinfo=UTC)
    assert client.post(f"/v1/sessions/{first['id']}/check-in").status_code == 200
    record = {"injections": [{"site": "left SI joint", "injectate": "dextrose 15%", "volume_ml": 6}], "pain_before": 6}
    assert client.post(f"/v1/sessions/{first['id']}/complete", json={**record, "adverse_events": []}).status_code == 200
    assert client.post(f"/v1/sessions/{second['id']}/cancel", json={"reason": "travelling"}).status_code == 200
    clock.now = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)  # session 3 began at 07:00Z
    assert client.post(f"/v1/sessions/{third['id']}/no-show").status_code == 200
    answer = client.get(f"/v1/courses/{course['id']}/fhir")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == FHIR_JSON
    body: dict[str, Any] = answer.json()
    return {"course": course, "patient": pat, "fhir": body}


def values_at(value: Any, path: list[str]) -> Iterator[Any]:
    """Every value at a dotted path, through lists."""
    if isinstance(value, list):
        for item in value:
            yield from values_at(item, path)
    elif not path:
        yield value
    elif isinstance(value, dict) and path[0] in value:
        yield from values_at(value[path[0]], path[1:])


def of_type(body: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == resource_type]


def test_s10_the_bundle_and_every_resource_in_it_are_valid_fhir(bundle: dict[str, Any]) -> None:
    body = bundle["fhir"]
    Bundle.model_validate(body)
    for entry in body["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    for (resource_type, path), codes in REQUIRED_CODES.items():
        resources = [body] if resource_type == "Bundle" else of_type(body, resource_type)
        found = [v for r in resources for v in values_at(r, path.split("."))]
        assert found and set(found) <= codes, (resource_type, path, set(found) - codes)
    assert body["type"] == "collection"
    assert sorted({e["resource"]["resourceType"] for e in body["entry"]}) == [
        "Appointment",
        "CarePlan",
        "CommunicationRequest",
        "Organization",
        "Patient",
        "Practitioner",
    ]


def test_s10_every_reference_resolves_to_an_entry_by_its_urn_uuid(bundle: dict[str, Any]) -> None:
    entries = bundle["fhir"]["entry"]
    full_urls = [e["fullUrl"] for e in entries]
    assert len(set(full_urls)) == len(full_urls)
    assert all(url == f"urn:uuid:{e['resource']['id']}" for url, e in zip(full_urls, entries, strict=True))
    found = {ref for e in entries for ref in references(e["resource"])}
    assert found and found <= set(full_urls)


def test_s10_sessions_are_appointments_with_the_stated_status_mapping(bundle: dict[str, Any]) -> None:
    body, course = bundle["fhir"], bundle["course"]
    appointments = {a["id"]: a for a in of_type(body, "Appointment")}
    assert [appointments[s["id"]]["status"] for s in course["sessions"]] == [
        "fulfilled",
        "cancelled",
        "noshow",
        "booked",
        "booked",
        "booked",
    ]
    (patient_resource,) = of_type(body, "Patient")
    (practitioner_resource,) = of_type(body, "Practitioner")
    for session in course["sessions"]:
        appointment = appointments[session["id"]]
        assert appointment["start"] == session["start"] and appointment["end"] == session["end"]
        actors = {p["actor"]["reference"] for p in appointment["participant"]}
        assert actors == {f"urn:uuid:{patient_resource['id']}", f"urn:uuid:{practitioner_resource['id']}"}
    assert appointments[course["sessions"][1]["id"]]["cancelationReason"] == {"text": "travelling"}
    assert "Fri 5 Mar" in appointments[course["sessions"][0]["id"]]["patientInstruction"]
    assert patient_resource["identifier"][0]["value"] == bundle["patient"]["mrn"]


def test_s10_a_waiting_entry_is_its_appointments_requested_period(bundle: dict[str, Any]) -> None:
    fifth = bundle["course"]["sessions"][4]
    by_id = {a["id"]: a for a in of_type(bundle["fhir"], "Appointment")}
    # from the earliest date the patient gave (local midnight, Berlin in summer time) until the session's start
    assert by_id[fifth["id"]]["requestedPeriod"] == [{"start": "2027-04-13T22:00:00Z", "end": "2027-04-26T07:00:00Z"}]
    assert [a for a in by_id.values() if "requestedPeriod" in a] == [by_id[fifth["id"]]]


def test_s10_the_course_is_a_careplan_avoiding_nsaids_after_every_session(bundle: dict[str, Any]) -> None:
    body, course = bundle["fhir"], bundle["course"]
    (plan,) = of_type(body, "CarePlan")
    assert (plan["intent"], plan["status"], plan["id"]) == ("plan", "active", course["id"])
    details = [a["detail"] for a in plan["activity"] if "detail" in a]
    nsaid = [d for d in details if d.get("doNotPerform")]
    assert len(nsaid) == 6  # one per session
    days = [date.fromisoformat(s["start_local"][:10]) for s in course["sessions"]]
    assert [(d["scheduledPeriod"]["start"], d["scheduledPeriod"]["end"]) for d in nsaid] == [
        (day.isoformat(), (day + timedelta(days=4)).isoformat()) for day in days
    ]
    assert {d["kind"] for d in nsaid} == {"MedicationRequest"}
    assert all("Advil 200 mg (contains ibuprofen)" in d["description"] for d in nsaid)
    # the session 1 window is over, sessions 2 and 3 had no injection, 4-6 are still to come (on 29 March)
    assert [d["status"] for d in nsaid] == [
        "completed",
        "cancelled",
        "cancelled",
        "scheduled",
        "scheduled",
        "scheduled",
    ]
    others = [d for d in details if not d.get("doNotPerform")]
    assert len(others) == 18  # expected symptoms, exercises and the follow-up call after each session
    assert {d["code"]["text"] for d in others} == {
        "Some soreness is normal",
        "Do your exercises",
        "The clinic calls to check on you",
    }
    sessions_in_plan = [a["reference"]["reference"] for a in plan["activity"] if "reference" in a]
    assert sessions_in_plan == [f"urn:uuid:{s['id']}" for s in course["sessions"]]


def test_s10_reminders_are_communication_requests(client: TestClient, bundle: dict[str, Any]) -> None:
    requests = of_type(bundle["fhir"], "CommunicationRequest")
    reminders = client.get("/v1/reminders", params={"patient_id": bundle["patient"]["id"], "limit": 500}).json()
    assert len(requests) == reminders["total"] > 0
    by_id = {r["id"]: r for r in reminders["items"]}
    for request in requests:
        reminder = by_id[request["id"]]
        assert request["occurrenceDateTime"] == reminder["due_at"]
        assert request["about"] == [{"reference": f"urn:uuid:{reminder['session_id']}"}]
        expected = {"sent": "completed", "pending": "active", "cancelled": "revoked", "skipped": "revoked"}
        assert request["status"] == expected.get(reminder["status"], request["status"])
    assert {r["status"] for r in requests} >= {"active", "revoked"}


def test_s10_export_needs_a_staff_key_and_a_known_course(client: TestClient, clean_db: Database) -> None:
    course = book(client, patient(client), practitioner(client))
    dispatcher = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.dispatcher)}"}
    assert client.get(f"/v1/courses/{course['id']}/fhir", headers=dispatcher).status_code == 403
    missing = client.get(f"/v1/courses/{new_id()}/fhir")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_s10_every_state_prolo_knows_has_its_fhir_status() -> None:
    from api.fhir.resources import APPOINTMENT_STATUS, CAREPLAN_STATUS, REQUEST_STATUS
    from scheduling.lifecycle import CourseStatus, SessionStatus
    from scheduling.reminders import ReminderStatus

    assert set(APPOINTMENT_STATUS) == set(SessionStatus)
    assert set(CAREPLAN_STATUS) == set(CourseStatus)
    assert set(REQUEST_STATUS) == set(ReminderStatus)
