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


# Session 3's window after session 2 on Monday 15 March is 26 March .. 1 April; a practitioner away all of it
# gets session 3 on Friday 2 April, the first day after it, with R6's warning.
AWAY_FOR_THIRD = {"start": "2027-03-26T00:00:00+01:00", "end": "2027-04-02T00:00:00+02:00", "reason": "Holiday"}


def book_third_outside(client: Poster, pat: dict[str, Any] | None = None) -> dict[str, Any]:
    """A six-session course (Mondays 09:00 from 1 March 2027) whose session 3 was booked after its window (R6)."""
    prac = practitioner(client)
    assert client.post(f"/v1/practitioners/{prac['id']}/time-off", json=AWAY_FOR_THIRD).status_code == 201
    booked = book(client, pat or patient(client), prac)
    assert booked["sessions"][2]["start_local"] == "2027-04-02T09:00:00+02:00"
    assert window_codes(booked) == (["outside_window"], ["outside_window"])
    return booked


def window_codes(course: dict[str, Any], number: int = 3) -> tuple[list[str], list[str]]:
    """The warning codes session `number` shows, and those its course lists for it ("session n: …")."""
    session = course["sessions"][number - 1]
    on_course = [w["code"] for w in course["warnings"] if w["message"].startswith(f"session {number}: ")]
    return [w["code"] for w in session["warnings"]], on_course
