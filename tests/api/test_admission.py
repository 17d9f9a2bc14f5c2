"""Turns at the database (api/admission.py): a request that gets none in time is told so; nothing is written."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.admission import Admission
from tests.api.helpers import patient
from tests.system.conftest import assert_problem

WAIT_SECONDS = 0.2
PATIENT = {"mrn": "MRN-BUSY", "given_name": "Maria", "family_name": "Keller", "date_of_birth": "1971-04-09"}


@pytest.fixture
def admission(client: TestClient) -> Iterator[Admission]:
    """The app's turns, with one writer, two slots and a short wait."""
    app = client.app
    kept = app.state.admission  # type: ignore[attr-defined]
    app.state.admission = Admission(slots=2, writers=1, wait_seconds=WAIT_SECONDS)  # type: ignore[attr-defined]
    yield app.state.admission  # type: ignore[attr-defined]
    app.state.admission = kept  # type: ignore[attr-defined]


def test_a_write_that_gets_no_turn_is_503_with_retry_after_and_stores_nothing(
    client: TestClient, admission: Admission
) -> None:
    assert client.portal is not None
    with client.portal.wrap_async_context_manager(admission.write()):  # another writer holds the turn
        refused = client.post("/v1/patients", json=PATIENT)
        read_meanwhile = client.get("/v1/patients")

    body = assert_problem(refused, 503)
    assert "busy" in body["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    assert read_meanwhile.status_code == 200  # a writer in the way holds up no reader
    assert client.get("/v1/patients", params={"q": "MRN-BUSY"}).json()["total"] == 0
    assert client.post("/v1/patients", json=PATIENT).status_code == 201  # the turn is free again


def test_a_booking_that_gets_no_turn_is_503(client: TestClient, admission: Admission) -> None:
    pat = patient(client)
    prac = client.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}).json()
    request = {"patient_id": pat["id"], "practitioner_id": prac["id"], "start_date": "2027-03-01", "condition": "knee"}
    assert client.portal is not None
    with client.portal.wrap_async_context_manager(admission.write()):
        assert_problem(client.post("/v1/courses", json=request), 503)
    assert client.get("/v1/courses", params={"patient_id": pat["id"]}).json()["total"] == 0


def test_a_read_that_gets_no_slot_is_503(client: TestClient, admission: Admission) -> None:
    assert client.portal is not None
    with (
        client.portal.wrap_async_context_manager(admission.read()),
        client.portal.wrap_async_context_manager(admission.read()),
    ):
        assert_problem(client.get("/v1/patients"), 503)
        assert_problem(client.get("/v1/sessions", params={"date": "2027-03-01"}), 503)
    assert client.get("/v1/patients").status_code == 200
