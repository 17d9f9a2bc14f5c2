"""Swagger UI is the staff's screen: every operation has a tag, a summary, a description, and body examples."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from api.web.app import create_app
from tests.conftest import Database


def _has_examples(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("examples") or schema.get("example"):
        return True
    return any(p.get("examples") or p.get("example") for p in schema.get("properties", {}).values())


def test_every_operation_is_documented_for_staff(anon: TestClient) -> None:
    spec = anon.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    assert len(operations) >= 25
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("tags"), where
        assert op.get("summary"), where
        assert op.get("description"), where
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            assert body.get("examples") or _has_examples(body["schema"], components), where


# S9: calendar apps cannot send a key; the secret in the URL is the key.
OPEN_V1_PATHS = {"/v1/calendar/{token}.ics"}


def test_v1_operations_require_a_key_in_the_spec(anon: TestClient) -> None:
    spec = anon.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            secured = bool(op.get("security"))
            assert secured == (path.startswith("/v1") and path not in OPEN_V1_PATHS), f"{method} {path}"


@pytest.mark.parametrize("persist", [False, True])
def test_swagger_ui_keeps_the_key_across_reloads_only_when_the_clinic_asks(
    settings: Settings, clean_db: Database, persist: bool
) -> None:
    configured = settings.model_copy(update={"docs_persist_authorization": persist})
    with TestClient(create_app(configured, engine=clean_db.engine)) as client:
        page = client.get("/docs").text
    assert f'"persistAuthorization": {str(persist).lower()}' in page
