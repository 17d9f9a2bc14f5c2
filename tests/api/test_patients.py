"""Patients: E.164 phones, validated emails, unique MRNs, search, archive (SPEC Domain, S2, S3)."""

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import patient


def test_phone_is_normalised_to_e164_and_email_validated(client: TestClient) -> None:
    pat = patient(client, phone="+49 (30) 1234-5678", email="maria.keller@example.org")
    assert pat["phone"] == "+493012345678"
    assert pat["archived"] is False and pat["reminder_channel"] == "none"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "030 1234"),
        ("phone", "+49 1"),
        ("email", "not-an-email"),
        ("date_of_birth", "2999-01-01"),
        ("reminder_channel", "fax"),
        ("mrn", ""),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client: TestClient, field: str, value: str) -> None:
    body = {"mrn": "MRN-X", "given_name": "A", "family_name": "B", "date_of_birth": "1980-01-01", field: value}
    response = client.post("/v1/patients", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert ["body", field] in [e["loc"][:2] for e in response.json()["errors"]]


def test_duplicate_mrn_is_409_on_create_and_on_change(client: TestClient) -> None:
    first = patient(client, mrn="MRN-1")
    second = patient(client, mrn="MRN-2")
    response = client.post(
        "/v1/patients", json={"mrn": "MRN-1", "given_name": "X", "family_name": "Y", "date_of_birth": "1990-01-01"}
    )
    assert response.status_code == 409 and response.json()["mrn"] == "MRN-1"
    assert client.patch(f"/v1/patients/{second['id']}", json={"mrn": "MRN-1"}).status_code == 409
    assert client.get(f"/v1/patients/{first['id']}").json()["mrn"] == "MRN-1"
    assert client.get(f"/v1/patients/{second['id']}").json()["mrn"] == "MRN-2"


def test_search_by_name_prefix_mrn_and_phone(client: TestClient) -> None:
    keller = patient(client, given_name="Maria", family_name="Keller", mrn="A-100", phone="+4930123456")
    patient(client, given_name="Jonas", family_name="Becker", mrn="A-200")
    patient(client, given_name="Kemal", family_name="Yilmaz", mrn="A-300")

    def found(q: str) -> list[str]:
        return [p["family_name"] for p in client.get("/v1/patients", params={"q": q}).json()["items"]]

    assert found("kel") == ["Keller"]
    assert found("KE") == ["Keller", "Yilmaz"]  # family and given names, case-insensitive
    assert found("A-200") == ["Becker"]
    assert found("+49 30 123456") == ["Keller"]
    assert found("%") == []  # wildcards are literal
    assert client.get("/v1/patients").json()["total"] == 3
    assert client.get(f"/v1/patients/{keller['id']}").json()["mrn"] == "A-100"


def test_patch_changes_only_given_fields(client: TestClient) -> None:
    pat = patient(client, phone="+4930123456", medications=["metformin"])
    changed = client.patch(f"/v1/patients/{pat['id']}", json={"medications": ["Advil 200 mg"], "phone": None}).json()
    assert changed["medications"] == ["Advil 200 mg"] and changed["phone"] is None
    assert changed["given_name"] == pat["given_name"]


def test_archived_patients_are_kept_but_hidden_from_search(client: TestClient) -> None:
    pat = patient(client, family_name="Archer")
    archived = client.post(f"/v1/patients/{pat['id']}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert client.get("/v1/patients", params={"q": "arch"}).json()["total"] == 0
    assert client.get("/v1/patients", params={"q": "arch", "include_archived": True}).json()["total"] == 1
    assert client.get(f"/v1/patients/{pat['id']}").status_code == 200
