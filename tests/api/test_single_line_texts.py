"""S2: names, reasons and other one-line texts refuse line breaks and control characters (422), and nothing is
stored; a longer text (a rule's instruction, a note) keeps its lines."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import book, course_request, patient, practitioner

Ids = dict[str, Any]
BREAKS = ["Isar\nProlotherapy", "Isar\r\nProlotherapy", "Isar\tProlotherapy", "Isar\u2028Prolotherapy", "Isar\x1b[2J"]
PATIENT = {"mrn": "MRN-X", "given_name": "Maria", "family_name": "Keller", "date_of_birth": "1971-04-09"}
RULE = {"code": "avoid_blood_thinners", "kind": "avoid_medication", "start_offset_days": 0, "duration_days": 3}


@pytest.fixture
def ids(client: TestClient) -> Ids:
    pat, prac = patient(client), practitioner(client)
    course = book(client, pat, prac, session_count=2)
    clinic = client.get("/v1/clinic").json()
    return {"patient": pat, "practitioner": prac, "course": course, "session": course["sessions"][1], "clinic": clinic}


# (label, method, path, body with the text at TEXT, the field's place in the problem's errors)
Request = tuple[str, str, Callable[[Ids], str], Callable[[Ids, str], dict[str, Any]], list[str | int]]
REQUESTS: list[Request] = [
    ("clinic name", "PUT", lambda i: "/v1/clinic", lambda i, t: {**i["clinic"], "name": t}, ["name"]),
    ("practitioner name", "POST", lambda i: "/v1/practitioners", lambda i, t: {"name": t}, ["name"]),
    (
        "practitioner name changed",
        "PATCH",
        lambda i: f"/v1/practitioners/{i['practitioner']['id']}",
        lambda i, t: {"name": t},
        ["name"],
    ),
    (
        "time off reason",
        "POST",
        lambda i: f"/v1/practitioners/{i['practitioner']['id']}/time-off",
        lambda i, t: {"start": "2027-06-01T08:00:00+02:00", "end": "2027-06-01T12:00:00+02:00", "reason": t},
        ["reason"],
    ),
    ("patient given name", "POST", lambda i: "/v1/patients", lambda i, t: {**PATIENT, "given_name": t}, ["given_name"]),
    (
        "patient family name",
        "POST",
        lambda i: "/v1/patients",
        lambda i, t: {**PATIENT, "family_name": t},
        ["family_name"],
    ),
    ("patient MRN", "POST", lambda i: "/v1/patients", lambda i, t: {**PATIENT, "mrn": t}, ["mrn"]),
    (
        "a medication",
        "POST",
        lambda i: "/v1/patients",
        lambda i, t: {**PATIENT, "medications": ["metformin", t]},
        ["medications", 1],
    ),
    (
        "patient name changed",
        "PATCH",
        lambda i: f"/v1/patients/{i['patient']['id']}",
        lambda i, t: {"given_name": t},
        ["given_name"],
    ),
    ("protocol name", "POST", lambda i: "/v1/protocols", lambda i, t: {"name": t, "injectate": "dextrose"}, ["name"]),
    ("injectate", "POST", lambda i: "/v1/protocols", lambda i, t: {"name": "Knee", "injectate": t}, ["injectate"]),
    (
        "a rule's medication class",
        "POST",
        lambda i: "/v1/protocols",
        lambda i, t: {
            "name": "Knee",
            "injectate": "dextrose",
            "rules": [{**RULE, "instruction": "x", "medication_class": t}],
        },
        [],
    ),
    (
        "condition",
        "POST",
        lambda i: "/v1/courses",
        lambda i, t: course_request(i["patient"], i["practitioner"], start_date="2027-09-01", condition=t),
        ["condition"],
    ),
    (
        "course cancel reason",
        "POST",
        lambda i: f"/v1/courses/{i['course']['id']}/cancel",
        lambda i, t: {"reason": t},
        ["reason"],
    ),
    (
        "course hold reason",
        "POST",
        lambda i: f"/v1/courses/{i['course']['id']}/hold",
        lambda i, t: {"reason": t},
        ["reason"],
    ),
    (
        "session cancel reason",
        "POST",
        lambda i: f"/v1/sessions/{i['session']['id']}/cancel",
        lambda i, t: {"reason": t},
        ["reason"],
    ),
    (
        "reschedule reason",
        "POST",
        lambda i: f"/v1/sessions/{i['session']['id']}/reschedule",
        lambda i, t: {"start": "2027-03-16T09:00:00+01:00", "reason": t},
        ["reason"],
    ),
    (
        "closure reason",
        "POST",
        lambda i: "/v1/closures",
        lambda i, t: {"start_date": "2027-12-24", "end_date": "2027-12-24", "reason": t},
        ["reason"],
    ),
    ("API key name", "POST", lambda i: "/v1/api-keys", lambda i, t: {"name": t, "role": "frontdesk"}, ["name"]),
]


def stored(client: TestClient, ids: Ids) -> list[Any]:
    """What the requests above could change, as the API shows it."""
    return [
        client.get("/v1/clinic").json(),
        client.get("/v1/practitioners").json(),
        client.get("/v1/patients").json(),
        client.get("/v1/protocols").json(),
        client.get("/v1/courses").json(),
        client.get("/v1/closures").json(),
        client.get("/v1/api-keys").json()["total"],
    ]


# each request gets one kind of break, in turn: every field and every kind are tried, in a short run
CASES = [(*request, BREAKS[n % len(BREAKS)]) for n, request in enumerate(REQUESTS)]


@pytest.mark.parametrize(("label", "method", "path", "body", "where", "text"), CASES, ids=[r[0] for r in REQUESTS])
def test_s2_one_line_texts_refuse_control_characters_and_store_nothing(
    client: TestClient,
    ids: Ids,
    label: str,
    method: str,
    path: Callable[[Ids], str],
    body: Callable[[Ids, str], dict[str, Any]],
    where: list[str | int],
    text: str,
) -> None:
    before = stored(client, ids)
    answer = client.request(method, path(ids), json=body(ids, text))
    assert answer.status_code == 422, f"{label}: {answer.status_code} {answer.text}"
    assert answer.headers["content-type"] == "application/problem+json"
    assert any(error["loc"][1:] == where for error in answer.json()["errors"]) or not where, answer.json()
    assert stored(client, ids) == before


def test_s2_longer_texts_keep_their_lines(client: TestClient) -> None:
    rule = {**RULE, "medication_class": "blood_thinners", "instruction": "No aspirin.\nNo warfarin changes."}
    made = client.post("/v1/protocols", json={"name": "Knee", "injectate": "dextrose", "rules": [rule]})
    assert made.status_code == 201, made.text
    assert made.json()["rules"][0]["instruction"] == "No aspirin.\nNo warfarin changes."
    assert patient(client, given_name="Zoë-Léa", family_name="O'Brien Müller")["given_name"] == "Zoë-Léa"
