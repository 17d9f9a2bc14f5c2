"""S4: a revoked key stops at once in the process that revoked it, and within the cache's seconds elsewhere."""

import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from api.web.app import create_app
from tests.conftest import Clock, Database

CACHE_SECONDS = 60.0  # production-like: keys are trusted in memory between checks


@pytest.fixture
def caching(settings: Settings, clean_db: Database, clock: Clock, client: TestClient) -> Iterator[TestClient]:
    """A server process that trusts checked keys for a minute, as production does; admin key as `client`'s."""
    app = create_app(
        settings.model_copy(update={"api_key_cache_seconds": CACHE_SECONDS}), engine=clean_db.engine, clock=clock
    )
    with TestClient(app, raise_server_exceptions=False) as server:
        server.headers["Authorization"] = client.headers["Authorization"]
        yield server


def test_s4_a_revoked_key_is_refused_on_the_very_next_request_to_the_same_process(caching: TestClient) -> None:
    made = caching.post("/v1/api-keys", json={"name": "Front desk PC 3", "role": "frontdesk"}).json()
    desk = {"Authorization": f"Bearer {made['key']}"}
    assert caching.get("/v1/patients", headers=desk).status_code == 200  # checked, and now trusted for a minute
    assert caching.delete(f"/v1/api-keys/{made['id']}").status_code == 204
    refused = caching.get("/v1/patients", headers=desk)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_s4_another_process_refuses_it_within_its_cache_seconds(
    caching: TestClient, settings: Settings, clean_db: Database, clock: Clock
) -> None:
    other_app = create_app(
        settings.model_copy(update={"api_key_cache_seconds": 0.5}), engine=clean_db.engine, clock=clock
    )
    made = caching.post("/v1/api-keys", json={"name": "Front desk PC 4", "role": "frontdesk"}).json()
    desk = {"Authorization": f"Bearer {made['key']}"}
    with TestClient(other_app, raise_server_exceptions=False) as other:
        assert other.get("/v1/patients", headers=desk).status_code == 200  # the other process trusts it now
        assert caching.delete(f"/v1/api-keys/{made['id']}").status_code == 204
        time.sleep(0.6)  # its cache's seconds
        assert other.get("/v1/patients", headers=desk).status_code == 401


def test_s4_the_key_list_shows_each_keys_last_use_to_the_minute(caching: TestClient, clock: Clock) -> None:
    made = caching.post("/v1/api-keys", json={"name": "Front desk PC 5", "role": "frontdesk"}).json()
    assert _last_used(caching, made["id"]) is None
    clock.now = clock.now.replace(hour=14, minute=7, second=42)
    assert caching.get("/v1/patients", headers={"Authorization": f"Bearer {made['key']}"}).status_code == 200
    deadline = time.monotonic() + 5
    while _last_used(caching, made["id"]) is None and time.monotonic() < deadline:
        time.sleep(0.05)  # noted beside the request, not in it
    assert _last_used(caching, made["id"]) == clock.now.replace(second=0)


def _last_used(client: TestClient, key_id: str) -> datetime | None:
    (key,) = [k for k in client.get("/v1/api-keys").json()["items"] if k["id"] == key_id]
    return datetime.fromisoformat(key["last_used_at"]) if key["last_used_at"] else None


def test_s4_a_key_revoked_by_another_process_changes_nothing_there_even_while_that_process_trusts_it(
    caching: TestClient, settings: Settings, clean_db: Database, clock: Clock
) -> None:
    other_app = create_app(
        settings.model_copy(update={"api_key_cache_seconds": CACHE_SECONDS}), engine=clean_db.engine, clock=clock
    )
    made = caching.post("/v1/api-keys", json={"name": "Second admin", "role": "admin"}).json()
    robot = caching.post("/v1/api-keys", json={"name": "Cron", "role": "dispatcher"}).json()
    admin, dispatcher = {"Authorization": f"Bearer {made['key']}"}, {"Authorization": f"Bearer {robot['key']}"}
    with TestClient(other_app, raise_server_exceptions=False) as other:
        assert other.get("/v1/api-keys", headers=admin).status_code == 200  # trusted there for a minute now
        assert other.get("/v1/reminders", headers=dispatcher).status_code == 200
        keys_before = caching.get("/v1/api-keys").json()["total"]
        assert caching.delete(f"/v1/api-keys/{made['id']}").status_code == 204
        assert caching.delete(f"/v1/api-keys/{robot['id']}").status_code == 204

        # the other process still trusts both keys, but every change checks its key in its own transaction
        for refused in (
            other.post("/v1/api-keys", json={"name": "Backdoor", "role": "admin"}, headers=admin),
            other.post("/v1/reminders/dispatch", json={}, headers=dispatcher),
        ):
            assert refused.status_code == 401, refused.text
            assert refused.json()["code"] == "api_key_revoked"
        assert caching.get("/v1/api-keys").json()["total"] == keys_before - 2
        # and having learnt it, that process refuses the keys at the door, for changes and reads alike
        assert other.post("/v1/practitioners", json={"name": "Dr. Nobody"}, headers=admin).status_code == 401
        assert other.get("/v1/api-keys", headers=admin).status_code == 401
        assert other.get("/v1/reminders", headers=dispatcher).status_code == 401
        assert caching.get("/v1/practitioners").json()["total"] == 0
