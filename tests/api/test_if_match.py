"""S6: an `If-Match` is never ignored. Every route that changes something either checks it against its
target's ETag, or, where the target has none, refuses it with 412 `precondition_failed`.

The routes come from the OpenAPI document: a new one that is not in the table below fails the test
until someone decides which of the two it does.
"""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.helpers import book, course_request, patient, practitioner
from tests.conftest import Database

Ids = dict[str, Any]
Body = Callable[[Ids], dict[str, Any] | None]
STALE = '"stale"'
CHANGES = ("post", "put", "patch", "delete")
RECORD = {"injections": [{"site": "knee", "injectate": "dextrose 15%", "volume_ml": 5}], "pain_before": 6}

# (method, path) → (a valid body, the path whose ETag If-Match names; None: the target has no ETag)
ROUTES: dict[tuple[str, str], tuple[Body, str | None]] = {
    ("put", "/v1/clinic"): (lambda i: i["clinic"], "/v1/clinic"),
    ("post", "/v1/closures"): (
        lambda i: {"start_date": "2027-12-24", "end_date": "2027-12-24", "reason": "Xmas"},
        None,
    ),
    ("delete", "/v1/closures/{closure_id}"): (lambda i: None, None),
    ("post", "/v1/closures/import-holidays"): (lambda i: {"country": "DE", "year": 2027}, None),
    ("post", "/v1/practitioners"): (lambda i: {"name": "Dr. Lee"}, None),
    ("patch", "/v1/practitioners/{practitioner_id}"): (
        lambda i: {"name": "Dr. Lee"},
        "/v1/practitioners/{practitioner_id}",
    ),
    ("post", "/v1/practitioners/{practitioner_id}/time-off"): (
        lambda i: {"start": "2027-06-01T08:00:00+02:00", "end": "2027-06-01T12:00:00+02:00", "reason": "Conference"},
        "/v1/practitioners/{practitioner_id}",
    ),
    ("post", "/v1/practitioners/{practitioner_id}/calendar-token"): (
        lambda i: None,
        "/v1/practitioners/{practitioner_id}",
    ),
    ("post", "/v1/patients"): (
        lambda i: {"mrn": "MRN-NEW", "given_name": "A", "family_name": "B", "date_of_birth": "1980-01-01"},
        None,
    ),
    ("patch", "/v1/patients/{patient_id}"): (lambda i: {"given_name": "Mia"}, "/v1/patients/{patient_id}"),
    ("post", "/v1/patients/{patient_id}/archive"): (lambda i: None, "/v1/patients/{patient_id}"),
    ("post", "/v1/patients/{patient_id}/calendar-token"): (lambda i: None, "/v1/patients/{patient_id}"),
    ("post", "/v1/protocols"): (lambda i: {"name": "Knee", "injectate": "dextrose 15%"}, None),
    ("patch", "/v1/protocols/{protocol_id}"): (lambda i: {"session_count": 5}, "/v1/protocols/{protocol_id}"),
    ("post", "/v1/courses/preview"): (lambda i: course_request(i["pat"], i["prac"], start_date="2027-06-01"), None),
    ("post", "/v1/courses"): (lambda i: course_request(i["pat"], i["prac"], start_date="2027-06-01"), None),
    ("post", "/v1/courses/{course_id}/cancel"): (lambda i: {"reason": "stopped"}, "/v1/courses/{course_id}"),
    ("post", "/v1/courses/{course_id}/hold"): (lambda i: {"reason": "travelling"}, "/v1/courses/{course_id}"),
    ("post", "/v1/courses/{course_id}/resume"): (lambda i: {"start_date": "2027-06-01"}, "/v1/courses/{course_id}"),
    ("post", "/v1/sessions/{session_id}/confirm"): (lambda i: None, "/v1/sessions/{session_id}"),
    ("post", "/v1/sessions/{session_id}/check-in"): (lambda i: None, "/v1/sessions/{session_id}"),
    ("post", "/v1/sessions/{session_id}/complete"): (lambda i: RECORD, "/v1/sessions/{session_id}"),
    ("post", "/v1/sessions/{session_id}/no-show"): (lambda i: None, "/v1/sessions/{session_id}"),
    ("post", "/v1/sessions/{session_id}/cancel"): (lambda i: {"reason": "ill"}, "/v1/sessions/{session_id}"),
    ("post", "/v1/sessions/{session_id}/reschedule"): (
        lambda i: {"start": "2027-03-16T09:00:00+01:00"},
        "/v1/sessions/{session_id}",
    ),
    ("post", "/v1/sessions/{session_id}/link"): (lambda i: None, None),
    ("post", "/v1/links/{link_id}/revoke"): (lambda i: None, None),
    ("post", "/v1/patients/{patient_id}/links/revoke"): (lambda i: None, None),
    ("post", "/v1/reminders/dispatch"): (lambda i: {}, None),
    ("post", "/v1/reminders/{reminder_id}/ack"): (lambda i: None, "/v1/reminders/{reminder_id}"),
    ("post", "/v1/api-keys"): (lambda i: {"name": "Front desk PC 9", "role": "frontdesk"}, None),
    ("delete", "/v1/api-keys/{key_id}"): (lambda i: None, "/v1/api-keys/{key_id}"),
    ("post", "/v1/sms-opt-outs"): (lambda i: {"number": "+493012345678", "source_note": "by phone"}, None),
    ("delete", "/v1/sms-opt-outs/{number}"): (lambda i: None, None),
    ("post", "/v1/waitlist"): (lambda i: {"session_id": i["session_id"]}, None),
    ("patch", "/v1/waitlist/{entry_id}"): (lambda i: {"note": "mornings"}, "/v1/waitlist/{entry_id}"),
    ("post", "/v1/waitlist/{entry_id}/close"): (lambda i: {"reason": "done"}, "/v1/waitlist/{entry_id}"),
    ("post", "/v1/waitlist/openings"): (
        lambda i: {
            "practitioner_id": i["practitioner_id"],
            "start": "2027-06-02T09:00:00Z",
            "end": "2027-06-02T10:00:00Z",
        },
        None,
    ),
    ("post", "/v1/waitlist/openings/{opening_id}/offers"): (
        lambda i: {"entry_ids": [i["entry_id"]]},
        "/v1/waitlist/openings/{opening_id}",
    ),
    ("post", "/v1/waitlist/offers/{offer_id}/accept"): (lambda i: None, "/v1/waitlist/offers/{offer_id}"),
    ("post", "/v1/waitlist/openings/{opening_id}/withdraw"): (
        lambda i: {"reason": "kept"},
        "/v1/waitlist/openings/{opening_id}",
    ),
}


@pytest.fixture
def ids(client: TestClient) -> Ids:
    pat, prac = (
        patient(client, email="maria@example.org", reminder_channel="email", reminder_consent=True),
        practitioner(client),
    )
    course = book(client, pat, prac, session_count=2)
    closure = client.post(
        "/v1/closures", json={"start_date": "2027-08-02", "end_date": "2027-08-02", "reason": "Audit"}
    )
    key = client.post("/v1/api-keys", json={"name": "Front desk PC 2", "role": "frontdesk"})
    reminder = client.get("/v1/reminders", params={"limit": 1}).json()["items"][0]
    protocol = client.get("/v1/protocols").json()["items"][0]
    entry = client.post("/v1/waitlist", json={"session_id": course["sessions"][1]["id"]}).json()
    free = {"practitioner_id": prac["id"], "start": "2027-03-12T09:00:00+01:00", "end": "2027-03-12T09:45:00+01:00"}
    opening = client.post("/v1/waitlist/openings", json=free).json()
    offer = client.post(f"/v1/waitlist/openings/{opening['id']}/offers", json={"entry_ids": [entry["id"]]})
    assert offer.status_code == 201, offer.text
    return {
        "entry_id": entry["id"],
        "offer_id": offer.json()[0]["id"],
        "opening_id": opening["id"],
        "pat": pat,
        "prac": prac,
        "clinic": client.get("/v1/clinic").json(),
        "patient_id": pat["id"],
        "practitioner_id": prac["id"],
        "protocol_id": protocol["id"],
        "course_id": course["id"],
        "session_id": course["sessions"][0]["id"],
        "reminder_id": reminder["id"],
        "closure_id": closure.json()["id"],
        "key_id": key.json()["id"],
        "link_id": client.post(f"/v1/sessions/{course['sessions'][0]['id']}/link").json()["link_id"],
        "number": "+493012345678?source_note=asked+again",  # the note is a required query parameter
    }


def events(database: Database) -> int:
    with database.engine.connect() as conn:
        count: int = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
        return count


def send(client: TestClient, ids: Ids, method: str, path: str, if_match: str) -> Any:
    body = ROUTES[(method, path)][0](ids)
    return client.request(method, path.format(**ids), json=body, headers={"If-Match": if_match})


def test_s6_every_change_refuses_a_stale_if_match_with_412_and_changes_nothing(
    client: TestClient, ids: Ids, clean_db: Database
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    listed = {(method, path) for path, operations in paths.items() for method in operations if method in CHANGES}
    assert listed == set(ROUTES), "a route that takes If-Match must check it or refuse it: add it to ROUTES"
    before = events(clean_db)
    for method, path in sorted(ROUTES):
        answer = send(client, ids, method, path, STALE)
        assert answer.status_code == 412, f"{method.upper()} {path}: {answer.status_code} {answer.text}"
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "precondition_failed", answer.json()
        has_etag = ROUTES[(method, path)][1] is not None
        assert ("current_etag" in answer.json()) == has_etag, f"{method.upper()} {path}"
    assert events(clean_db) == before, "a refused change stored something"


CHECKED = sorted(route for route, (_, etag_path) in ROUTES.items() if etag_path is not None)


@pytest.mark.parametrize(("method", "path"), CHECKED, ids=[f"{m.upper()} {p}" for m, p in CHECKED])
def test_s6_a_change_whose_target_has_an_etag_goes_ahead_with_the_current_one(
    client: TestClient, ids: Ids, method: str, path: str
) -> None:
    etag_path = ROUTES[(method, path)][1]
    assert etag_path is not None
    etag = client.get(etag_path.format(**ids)).headers["etag"]
    answer = send(client, ids, method, path, etag)
    # the precondition held: the change runs (2xx), or its own rules answer (409 for a state it may not leave)
    assert answer.status_code in (200, 201, 204, 409), f"{answer.status_code} {answer.text}"
