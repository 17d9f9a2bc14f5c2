"""S4 and S8: health checks need no key; every /v1 call needs one, with the right role."""

import pytest
from fastapi.testclient import TestClient

from models import Role
from tests.conftest import Database, make_key


def test_s8_healthz_and_readyz_answer_without_a_key(anon: TestClient) -> None:
    assert anon.get("/healthz").json() == {"status": "ok"}
    assert anon.get("/readyz").json() == {"status": "ok"}


def test_s4_no_key_is_401_problem(anon: TestClient) -> None:
    response = anon.get("/v1/patients")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_s4_unknown_key_is_401(anon: TestClient) -> None:
    response = anon.get("/v1/patients", headers={"X-API-Key": "prolo_not-a-real-key"})
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_s4_key_works_as_bearer_or_x_api_key(anon: TestClient, clean_db: Database, header: str) -> None:
    key = make_key(clean_db.engine, Role.frontdesk)
    value = f"Bearer {key}" if header == "Authorization" else key
    assert anon.get("/v1/patients", headers={header: value}).status_code == 200


@pytest.mark.parametrize(
    ("role", "method", "path", "allowed"),
    [
        (Role.frontdesk, "get", "/v1/clinic", True),
        (Role.frontdesk, "put", "/v1/clinic", False),
        (Role.clinician, "post", "/v1/practitioners", False),
        (Role.dispatcher, "get", "/v1/patients", False),
        (Role.dispatcher, "get", "/v1/clinic", False),
        (Role.frontdesk, "get", "/v1/api-keys", False),
        (Role.clinician, "post", "/v1/protocols", True),
        (Role.frontdesk, "post", "/v1/protocols", False),
    ],
)
def test_s4_roles(anon: TestClient, clean_db: Database, role: Role, method: str, path: str, allowed: bool) -> None:
    key = make_key(clean_db.engine, role)
    response = anon.request(method, path, headers={"X-API-Key": key}, json={})
    if allowed:
        assert response.status_code not in (401, 403)
    else:
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"


def test_s4_keys_are_stored_hashed_and_shown_once(client: TestClient, clean_db: Database) -> None:
    made = client.post("/v1/api-keys", json={"name": "desk 2", "role": "frontdesk"})
    assert made.status_code == 201
    key = made.json()["key"]
    assert len(key) >= 40  # ≥ 128 bits of randomness after the prefix
    listed = client.get("/v1/api-keys").json()["items"]
    assert all("key" not in item for item in listed)
    with clean_db.engine.connect() as conn:
        from sqlalchemy import text

        stored = [row[0] for row in conn.execute(text("SELECT key_hash FROM api_key"))]
    assert key not in stored
    assert client.get("/v1/patients", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_s4_revoked_key_stops_working(client: TestClient) -> None:
    made = client.post("/v1/api-keys", json={"name": "old", "role": "frontdesk"}).json()
    assert client.delete(f"/v1/api-keys/{made['id']}").status_code == 204
    assert client.get("/v1/patients", headers={"Authorization": f"Bearer {made['key']}"}).status_code == 401


def test_docs_served_offline(anon: TestClient) -> None:
    page = anon.get("/docs").text
    assert "cdn" not in page.lower() and "https://" not in page
    for asset in ("/static-offline-docs/swagger-ui-bundle.js", "/static-offline-docs/swagger-ui.css"):
        assert asset in page
        assert anon.get(asset).status_code == 200
    schemes = anon.get("/openapi.json").json()["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schemes)
