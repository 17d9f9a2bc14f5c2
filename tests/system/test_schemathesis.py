"""S1/S2/S3: the OpenAPI document is the contract, and no input gives a 500 ("Done when 6").

Schemathesis generates requests for every operation of the real app (built with
`create_app` on the test database, an admin key in the Authorization header): the
examples of the document, its boundary values (coverage phase) and a bounded number
of random inputs per operation, from a fixed seed, so a run is reproducible.

A few ids are seeded first (a practitioner, a patient, a course, a closure, a
protocol, a spare API key). Every generated request whose path holds ids is sent
twice: as generated (unknown ids: 404) and with the seeded ids put in, so the
operations on real resources — reads, changes, actions — are exercised too.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api.settings import Settings
from api.web.app import create_app
from models import Role
from tests.conftest import Clock, Database, make_key

pytestmark = pytest.mark.system

SEED = 20270104
MAX_EXAMPLES = 20
# Every status an operation answers must be documented: problems included (api/web/routes/common.py).
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@dataclass
class SeededApp:
    app: FastAPI
    headers: dict[str, str]
    ids: dict[str, str]


def seed_data(client: TestClient) -> dict[str, str]:
    """One of each resource, by the name of the path parameter that addresses it."""

    def made(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = client.post(path, json=body)
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    practitioner = made("/v1/practitioners", {"name": "Dr. Amara Okafor"})
    patient = made(
        "/v1/patients",
        {
            "mrn": "MRN-004211",
            "given_name": "Maria",
            "family_name": "Keller",
            "date_of_birth": "1971-04-09",
            "phone": "+49 30 12345678",
            "email": "maria.keller@example.org",
            "reminder_channel": "sms",
            "reminder_consent": True,
            "medications": ["Advil 200 mg"],
        },
    )
    course = made(
        "/v1/courses",
        {
            "patient_id": patient["id"],
            "practitioner_id": practitioner["id"],
            "start_date": "2027-03-01",
            "preferred_time": "09:00",
            "condition": "chronic low back pain, sacroiliac joint",
        },
    )
    closure = made("/v1/closures", {"start_date": "2027-12-24", "end_date": "2027-12-26", "reason": "Christmas"})
    protocols = client.get("/v1/protocols").json()["items"]
    spare_key = made("/v1/api-keys", {"name": "spare key", "role": "dispatcher"})
    feed_url = made(f"/v1/patients/{patient['id']}/calendar-token", {})["url"]
    return {
        "practitioner_id": practitioner["id"],
        "patient_id": patient["id"],
        "course_id": course["id"],
        "session_id": course["sessions"][0]["id"],
        "closure_id": closure["id"],
        "protocol_id": protocols[0]["id"],
        # Never the admin key the run authenticates with: revoking it would end the run.
        "key_id": spare_key["id"],
        "token": feed_url.rsplit("/", 1)[1].removesuffix(".ics"),
    }


@pytest.fixture
def seeded_app(clean_db: Database, settings: Settings, clock: Clock) -> Iterator[SeededApp]:
    """The real app on the freshly migrated test database, with one of each resource in it."""
    app = create_app(settings, engine=clean_db.engine, clock=clock)
    admin_key = make_key(clean_db.engine, Role.admin, "schemathesis admin")
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        ids = seed_data(client)
        yield SeededApp(app=app, headers={"Authorization": f"Bearer {admin_key}"}, ids=ids)


# The document does not depend on the database, so it is loaded once, at collection, from an app
# that never starts. (`schemathesis.pytest.from_fixture` would load it per test, but it breaks on
# pytest 9: it sets `Function._nodeid`, which pytest no longer has.)
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        # The coverage phase's boundary values, valid ones only: its invalid ones (≈2000 requests, nearly
        # all refused by request validation with 422) would double the run; fuzzing still sends invalid input.
        "phases": {"coverage": {"generation": {"mode": "positive"}}},
    }
)
schema = schemathesis.openapi.from_dict(create_app(Settings(database_url="sqlite://")).openapi(), config=CONFIG)


# Path parameters that are secrets, not UUIDs: a generated one is swapped for the seeded one all the same.
SECRETS = {"token"}


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@schema.parametrize()
# One seeded database per operation, shared by its generated inputs on purpose: they pile up like a day's traffic.
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_s1_s2_every_operation_conforms_to_its_schema_and_never_answers_500(
    case: schemathesis.Case[Any], seeded_app: SeededApp
) -> None:
    case.call_and_validate(app=seeded_app.app, headers=seeded_app.headers, checks=CHECKS)
    parameters = case.path_parameters or {}
    known = {name: seeded_app.ids[name] for name in parameters if name in seeded_app.ids}
    if known and all(_is_uuid(value) for name, value in parameters.items() if name not in SECRETS):
        case.path_parameters = {**parameters, **known}
        case.call_and_validate(app=seeded_app.app, headers=seeded_app.headers, checks=CHECKS)
