"""S2: input no database column can hold is refused at the door, the same on SQLite and PostgreSQL."""

from fastapi.testclient import TestClient

from tests.api.helpers import patient


def test_s2_nul_characters_are_422_and_nothing_is_stored(client: TestClient) -> None:
    body = {"mrn": "MRN-NUL", "given_name": "Ma\u0000ria", "family_name": "Keller", "date_of_birth": "1971-04-09"}
    response = client.post("/v1/patients", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/patients", params={"q": "MRN-NUL"}).json()["total"] == 0
    assert client.get("/v1/patients", params={"q": "a\u0000"}).status_code == 422


def test_s2_a_literal_backslash_u_is_ordinary_text(client: TestClient) -> None:
    pat = patient(client, given_name="C:\\u0000 is not a NUL")
    assert pat["given_name"] == "C:\\u0000 is not a NUL"


def test_s2_oversized_bodies_are_413(client: TestClient) -> None:
    huge = {"name": "x" * 1_100_000}
    response = client.post("/v1/practitioners", json=huge)
    assert response.status_code == 413
    assert client.get("/v1/practitioners").json()["total"] == 0


def test_s2_dates_at_the_calendars_ends_are_422_not_500(client: TestClient) -> None:
    assert client.get("/v1/sessions", params={"to": "9999-12-31"}).status_code == 422
    assert client.get("/v1/sessions", params={"date": "0001-01-01"}).status_code == 422
    closure = {"start_date": "9999-12-30", "end_date": "9999-12-31", "reason": "x"}
    assert client.post("/v1/closures", json=closure).status_code == 422
