"""S2: every problem answer carries a `code` from the one table (api/web/problems.py), with one of its statuses.

Each code is triggered here: by a request a client could send where one can reach it, else by the
error class that produces it, raised inside a route of the real app (a busy database, a defect). A
code added to the table without a trigger here fails the last test.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from api.services.offers import OfferInvalid, OfferTaken
from api.services.openings import SlotHeld
from api.store.admission import AdmissionTimeout
from api.store.errors import Conflict, KeyRevoked, SlotTaken
from api.web.problems import CODES, Refused
from scheduling import IllegalTransition, MinIntervalViolated, NoSlotAvailable, SlotUnavailable
from tests.api.helpers import book, patient, practitioner

RAISED = "/test-raises/{name}"
Answer = Any  # what the test client answers


class _Defect(Exception):
    pass


class _PgExclusion(Exception):
    sqlstate = "23P01"


# Errors no request can be made to cause on demand, raised inside a route of the real app.
ERRORS: dict[str, Callable[[], Exception]] = {
    "conflict": lambda: Conflict("the course is cancelled already"),
    "slot_taken": SlotTaken,
    "no_slot": lambda: NoSlotAvailable(3, date(2032, 3, 1), date(2032, 3, 5)),
    "slot_unavailable": lambda: SlotUnavailable(2, ("closed", "taken")),
    "min_interval": lambda: MinIntervalViolated(2, 1, earliest_date=date(2032, 3, 8), latest_date=None),
    "api_key_revoked": lambda: KeyRevoked(uuid.uuid4()),  # another process revoked it after this one checked
    "illegal_transition": lambda: IllegalTransition("cancelled", "confirm", "a cancelled session stays cancelled"),
    "busy": lambda: AdmissionTimeout(30),
    "planning_defect": lambda: IntegrityError("INSERT …", {}, _PgExclusion()),
    "internal_error": _Defect,
    "out_of_range": lambda: OverflowError("date value out of range"),
    # the inbound SMS route exists only with a provider: tests/api/test_inbound_sms.py posts the real thing
    # the waitlist's races: tests/api/test_waitlist_offers.py and tests/system/test_waitlist_live.py make them
    "slot_held": lambda: SlotHeld(uuid.uuid4(), datetime(2032, 3, 1, 9, tzinfo=UTC)),
    "offer_taken": OfferTaken,
    "offer_invalid": OfferInvalid,
    "bad_signature": lambda: Refused(403, "the Prolo-Signature does not match the body", code="bad_signature"),
}


def _raised(client: TestClient, name: str) -> Answer:
    return client.get(RAISED.format(name=name))


def _duplicate_mrn(client: TestClient) -> Answer:
    patient(client, mrn="MRN-TWICE")
    return client.post(
        "/v1/patients",
        json={"mrn": "MRN-TWICE", "given_name": "Ada", "family_name": "Twice", "date_of_birth": "1970-01-01"},
    )


def _waitlisted_twice(client: TestClient) -> Answer:
    course = book(client, patient(client), practitioner(client))
    entry = {"session_id": course["sessions"][2]["id"]}
    client.post("/v1/waitlist", json=entry)
    return client.post("/v1/waitlist", json=entry)


def _revoked(client: TestClient) -> Answer:
    made = client.post("/v1/api-keys", json={"name": "soon gone", "role": "frontdesk"}).json()
    client.delete(f"/v1/api-keys/{made['id']}")
    return client.post(
        "/v1/practitioners", json={"name": "Dr. Late"}, headers={"Authorization": f"Bearer {made['key']}"}
    )


def _stale_if_match(client: TestClient) -> Answer:
    made = client.post("/v1/practitioners", json={"name": "Dr. Stale"}).json()
    return client.patch(f"/v1/practitioners/{made['id']}", json={"name": "Dr. New"}, headers={"If-Match": '"stale"'})


DEEP = b"[" * 100_000 + b"]" * 100_000  # FastAPI's own parser refuses it (the guard, one holding a NUL)
JSON = {"Content-Type": "application/json"}


def _forbidden(client: TestClient) -> Answer:
    made = client.post("/v1/api-keys", json={"name": "desk", "role": "frontdesk"}).json()
    return client.get("/v1/api-keys", headers={"Authorization": f"Bearer {made['key']}"})


REQUESTS: dict[str, Callable[[TestClient], Answer]] = {
    "role_forbidden": _forbidden,
    "body_too_deep": lambda c: c.post("/v1/practitioners", content=DEEP, headers=JSON),
    "api_key_missing": lambda c: c.get("/v1/patients", headers={"Authorization": ""}),
    "api_key_unknown": lambda c: c.get("/v1/patients", headers={"Authorization": "Bearer prolo_not-a-key"}),
    "not_found": lambda c: c.get(f"/v1/patients/{uuid.uuid4()}"),
    "method_not_allowed": lambda c: c.put("/v1/patients"),
    "duplicate_mrn": _duplicate_mrn,
    "waitlist_entry_exists": _waitlisted_twice,
    "invalid_cursor": lambda c: c.get("/v1/audit-events", params={"after": "0.999999.feedfeedfeedfeed"}),
    "precondition_failed": _stale_if_match,
    "body_too_large": lambda c: c.post("/v1/practitioners", json={"name": "x" * 1_100_000}),
    "invalid_input": lambda c: c.post("/v1/practitioners", json={}),
    "nul_character": lambda c: c.get("/v1/patients", params={"q": "a\u0000"}),
}


@pytest.fixture
def raising(client: TestClient) -> TestClient:
    """The client, with a route that raises each error of ERRORS by name."""

    async def raise_it(name: str) -> Any:
        raise ERRORS[name]()

    client.app.add_api_route(RAISED, raise_it, methods=["GET"])  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize("code", sorted(CODES))
def test_s2_every_problem_carries_its_code_with_one_of_its_statuses(raising: TestClient, code: str) -> None:
    answer = REQUESTS[code](raising) if code in REQUESTS else _raised(raising, code)
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    problem = answer.json()
    assert (problem["code"], answer.status_code in CODES[code].statuses) == (code, True), problem
    assert problem["status"] == answer.status_code


def test_s2_every_code_in_the_table_is_triggered_here() -> None:
    assert set(CODES) == set(REQUESTS) | set(ERRORS)
    assert not set(REQUESTS) & set(ERRORS)


def test_s2_the_readme_lists_every_code_with_its_statuses() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Errors\n", 1)[1].split("\n## ", 1)[0]
    listed = {
        cells[0].strip("` "): tuple(int(s) for s in cells[1].split(","))
        for line in section.splitlines()
        if line.startswith("| `") and (cells := [c.strip() for c in line.strip("|").split("|")])[1] != "status"
    }
    assert listed == {code: known.statuses for code, known in CODES.items()}
