"""The aftercare handout's page and the clinic phone it prints (S11); the printed sheet is in tests/system."""

from fastapi.testclient import TestClient

from models import Role
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Database, make_key, new_id

CLINIC = {"name": "Isar Prolotherapy", "timezone": "Europe/Berlin"}


def test_s11_the_clinic_phone_is_stored_in_e164_and_optional(client: TestClient) -> None:
    assert client.get("/v1/clinic").json()["phone"] is None
    answer = client.put("/v1/clinic", json={**CLINIC, "phone": "+49 89 1234567"})
    assert answer.status_code == 200 and answer.json()["phone"] == "+49891234567"
    assert client.get("/v1/clinic").json()["phone"] == "+49891234567"
    bad = client.put("/v1/clinic", json={**CLINIC, "phone": "089 1234567"})  # no country code
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "phone"
    assert client.get("/v1/clinic").json()["phone"] == "+49891234567"
    assert client.put("/v1/clinic", json=CLINIC).json()["phone"] is None  # PUT replaces every setting


def test_s11_the_handout_is_html_for_staff_with_a_known_course(client: TestClient, clean_db: Database) -> None:
    course = book(client, patient(client), practitioner(client))
    page = client.get(f"/v1/courses/{course['id']}/handout")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    assert "size: a4" in client.get(f"/v1/courses/{course['id']}/handout", params={"paper": "a4"}).text
    assert "size: letter" in client.get(f"/v1/courses/{course['id']}/handout", params={"paper": "letter"}).text
    assert client.get(f"/v1/courses/{course['id']}/handout", params={"paper": "a3"}).status_code == 422
    assert client.get(f"/v1/courses/{new_id()}/handout").status_code == 404
    dispatcher = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.dispatcher)}"}
    assert client.get(f"/v1/courses/{course['id']}/handout", headers=dispatcher).status_code == 403


def test_s11_without_a_phone_the_handout_still_says_when_to_call(client: TestClient) -> None:
    client.put("/v1/clinic", json=CLINIC)
    course = book(client, patient(client), practitioner(client))
    page = client.get(f"/v1/courses/{course['id']}/handout").text
    assert "Call us at once if you have" in page and "Questions? Call us" not in page
