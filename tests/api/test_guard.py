"""S2: input no database column can hold is refused at the door, the same on SQLite and PostgreSQL."""

import logging

import pytest
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


DEEP = 100_000
HOSTILE_NESTING = {
    "lists around a NUL": b"[" * DEEP + b'"\\u0000"' + b"]" * DEEP,
    "objects around a NUL": b'{"a":' * DEEP + b'"\\u0000"' + b"}" * DEEP,
    "lists just inside the parser's limit, around a NUL": b"[" * 990 + b'"\\u0000"' + b"]" * 990,
    "lists without a NUL": b"[" * DEEP + b"]" * DEEP,
}


@pytest.mark.parametrize("body", HOSTILE_NESTING.values(), ids=HOSTILE_NESTING)
def test_s2_a_body_nested_too_deeply_is_400_with_no_traceback_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.INFO)
    for key in ("", client.headers["Authorization"]):  # unauthenticated, and with an admin's key
        headers = {"Content-Type": "application/json", "Authorization": key}
        answer = client.post("/v1/practitioners", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json().get("code") == "body_too_deep" or b"\\u0000" not in body  # FastAPI's own parser answers it
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info], caplog.text
    assert client.get("/v1/practitioners").json()["total"] == 0
