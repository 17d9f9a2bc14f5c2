"""Safe retries (S5): a POST sent again under its Idempotency-Key has its effect once and gets the first answer."""

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import course_request, patient, practitioner
from tests.conftest import Clock

PATIENT = {"mrn": "MRN-RETRY", "given_name": "Maria", "family_name": "Keller", "date_of_birth": "1971-04-09"}


def post(client: TestClient, path: str, body: dict[str, Any], key: str) -> Any:
    return client.post(path, json=body, headers={"Idempotency-Key": key})


def courses_of(client: TestClient, patient_id: str) -> int:
    total: int = client.get("/v1/courses", params={"patient_id": patient_id}).json()["total"]
    return total


def test_s5_a_retried_booking_books_once_and_gets_the_first_answer(client: TestClient) -> None:
    request = course_request(patient(client), practitioner(client))
    first = post(client, "/v1/courses", request, "booking-7f3a")
    again = post(client, "/v1/courses", request, "booking-7f3a")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content  # the very answer: same course id, same sessions
    assert again.headers["Location"] == first.headers["Location"] == f"/v1/courses/{first.json()['id']}"
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert courses_of(client, request["patient_id"]) == 1
    sessions = client.get("/v1/sessions", params={"patient_id": request["patient_id"]}).json()
    assert sessions["total"] == 6


def test_s5_a_retried_registration_registers_once(client: TestClient) -> None:
    first = post(client, "/v1/patients", PATIENT, "register-1")
    again = post(client, "/v1/patients", PATIENT, "register-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert client.get("/v1/patients", params={"q": "MRN-RETRY"}).json()["total"] == 1
    # without a key the same body is a new request: the MRN is taken now
    assert client.post("/v1/patients", json=PATIENT).status_code == 409


def test_s5_the_same_key_with_another_body_is_422_and_changes_nothing(client: TestClient) -> None:
    assert post(client, "/v1/patients", PATIENT, "register-2").status_code == 201
    other = post(client, "/v1/patients", {**PATIENT, "mrn": "MRN-OTHER"}, "register-2")
    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert client.get("/v1/patients", params={"q": "MRN-OTHER"}).json()["total"] == 0


def test_s5_a_key_belongs_to_its_api_key(client: TestClient, clean_db: Any) -> None:
    from models import Role
    from tests.conftest import make_key

    assert post(client, "/v1/patients", PATIENT, "shared-key").status_code == 201
    other_desk = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.frontdesk, 'desk 2')}"}
    second = client.post(
        "/v1/patients", json={**PATIENT, "mrn": "MRN-DESK2"}, headers={**other_desk, "Idempotency-Key": "shared-key"}
    )
    assert second.status_code == 201 and second.json()["mrn"] == "MRN-DESK2"


def test_s5_a_key_reused_after_24_hours_is_a_new_request(client: TestClient, clock: Clock) -> None:
    assert post(client, "/v1/patients", PATIENT, "daily").status_code == 201
    clock.now += timedelta(hours=23, minutes=59)
    assert post(client, "/v1/patients", PATIENT, "daily").headers["Idempotent-Replayed"] == "true"
    clock.now += timedelta(minutes=2)
    # after 24 hours the key is forgotten: the same request runs again (and meets the MRN it made)
    assert post(client, "/v1/patients", PATIENT, "daily").status_code == 409
    fresh = post(client, "/v1/patients", {**PATIENT, "mrn": "MRN-NEXT-DAY"}, "daily")
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers


def test_s5_a_key_past_24_hours_not_yet_purged_is_taken_over_by_the_new_request(
    client: TestClient, clock: Clock
) -> None:
    assert post(client, "/v1/patients", PATIENT, "daily").status_code == 201
    clock.now += timedelta(hours=23, minutes=59, seconds=30)
    # another keyed request purges expired keys now ("daily" is not expired yet); the next purge is a minute away
    assert post(client, "/v1/patients", {**PATIENT, "mrn": "MRN-OTHER"}, "other").status_code == 201
    clock.now += timedelta(seconds=40)
    again = post(client, "/v1/patients", {**PATIENT, "mrn": "MRN-NEXT-DAY"}, "daily")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert post(client, "/v1/patients", {**PATIENT, "mrn": "MRN-NEXT-DAY"}, "daily").headers["Idempotent-Replayed"]


def test_s5_a_request_that_failed_stored_nothing_and_runs_again(client: TestClient) -> None:
    prac = practitioner(client)
    request = course_request({"id": str(uuid.uuid4())}, prac)
    assert post(client, "/v1/courses", request, "fails-first").status_code == 404
    assert post(client, "/v1/courses", request, "fails-first").status_code == 404  # run again, not replayed


def test_s5_an_api_key_is_shown_once_its_retry_is_409_naming_what_was_made(client: TestClient) -> None:
    body = {"name": "Front desk PC 2", "role": "frontdesk"}
    first = post(client, "/v1/api-keys", body, "new-key-1")
    assert first.status_code == 201 and first.json()["key"].startswith("prolo_")
    again = post(client, "/v1/api-keys", body, "new-key-1")
    assert again.status_code == 409
    assert first.json()["id"] in again.json()["made"] and first.json()["key"] not in again.text
    names = [k["name"] for k in client.get("/v1/api-keys").json()["items"]]
    assert names.count("Front desk PC 2") == 1


def test_s5_a_feed_url_is_shown_once_its_retry_is_409(client: TestClient) -> None:
    pat = patient(client)
    first = client.post(f"/v1/patients/{pat['id']}/calendar-token", headers={"Idempotency-Key": "feed-1"})
    again = client.post(f"/v1/patients/{pat['id']}/calendar-token", headers={"Idempotency-Key": "feed-1"})
    assert first.status_code == 201 and again.status_code == 409
    assert first.json()["url"] not in again.text
    token = first.json()["url"].rsplit("/", 1)[1]
    assert client.get(f"/v1/calendar/{token}").status_code == 200  # the retry made no new URL


def test_s5_a_malformed_key_is_422(client: TestClient) -> None:
    bad_keys: list[str | bytes] = ["", "x" * 256, "tab\there", "na\xefve".encode("latin-1")]
    for bad in bad_keys:
        answer = client.post("/v1/patients", json=PATIENT, headers={"Idempotency-Key": bad})  # type: ignore[arg-type]
        assert answer.status_code == 422, bad
    assert client.get("/v1/patients", params={"q": "MRN-RETRY"}).json()["total"] == 0
