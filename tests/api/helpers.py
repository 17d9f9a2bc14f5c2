"""Small builders for API tests: each makes one resource through the real API and returns its JSON.

They take any client that posts: the in-process TestClient, or an HTTP client of a live server.
"""

import itertools
from typing import Any, Protocol


class Poster(Protocol):
    def post(self, url: str, *, json: Any = None) -> Any: ...


_mrns = itertools.count(1)


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def practitioner(client: Poster, **fields: Any) -> dict[str, Any]:
    return created(client.post("/v1/practitioners", json={"name": "Dr. Amara Okafor", **fields}))


def patient(client: Poster, **fields: Any) -> dict[str, Any]:
    body = {
        "mrn": f"MRN-{next(_mrns):05d}",
        "given_name": "Maria",
        "family_name": "Keller",
        "date_of_birth": "1971-04-09",
        **fields,
    }
    return created(client.post("/v1/patients", json=body))


def course_request(pat: dict[str, Any], prac: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "patient_id": pat["id"],
        "practitioner_id": prac["id"],
        "start_date": "2027-03-01",
        "preferred_time": "09:00",
        "condition": "chronic low back pain",
        **fields,
    }


def book(client: Poster, pat: dict[str, Any], prac: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return created(client.post("/v1/courses", json=course_request(pat, prac, **fields)))


def local_times(course: dict[str, Any]) -> list[str]:
    return [s["start_local"] for s in course["sessions"]]


# R35/R38 turned off: the clinic's reminders as they were before confirm requests and same-day riders
OLD_REMINDERS = {"confirm_request_offset_minutes": None, "one_message_per_day": False}


def clinic_settings(client: Any, **values: Any) -> dict[str, Any]:
    """PUT the clinic's settings with `values` changed; the answer's body."""
    answer = client.put("/v1/clinic", json={**client.get("/v1/clinic").json(), **values})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body
