"""Every planning path plans only on days it loaded: sessions pushed to the far end of their reach.

Each scenario pushes sessions as late as the planner may take them: session 1 found
only by the long first-session search (R2's 90 days), then R6 pushes in a row (each
session 24 days after the one before: 14 ± 3, then the 7 days after the window). The
last session then lands beyond where the services' old hand-written horizons
stopped, on a day holding another patient's booking, a day off or a closure. It must
go around it: no overlap, no session on a day off, none on a closure (R5, R11).
"""

import itertools
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import book, course_request, created, patient, practitioner

BERLIN = ZoneInfo("Europe/Berlin")  # the tests' clinic zone
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
START = date(2027, 3, 1)
PUSH = 14 + 3 + 7  # R3 target + tolerance, then R6's week: the latest a session may follow its predecessor
OBSTACLES = ("booking", "day_off", "closure")


def days(n: int) -> timedelta:
    return timedelta(days=n)


class Clinic:
    """The clinic open every day, one practitioner, and every obstacle placed, to check against."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        clinic = client.get("/v1/clinic").json()
        clinic["opening_hours"] = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in WEEK]
        assert client.put("/v1/clinic", json=clinic).status_code == 200
        self.prac = practitioner(client)
        self.days_off: list[tuple[date, date]] = []

    def day_off(self, first: date, last: date) -> None:
        """Whole local days off for the practitioner, last included."""
        body = {
            "start": datetime.combine(first, time(), BERLIN).isoformat(),
            "end": datetime.combine(last + days(1), time(), BERLIN).isoformat(),
            "reason": "leave",
        }
        created(self.client.post(f"/v1/practitioners/{self.prac['id']}/time-off", json=body))
        self.days_off.append((first, last))

    def push_chain(self, first: date, pushes: int) -> date:
        """Block each of the next `pushes` sessions' windows and R6 weeks but their last day; the last one's date."""
        previous = first
        for _ in range(pushes):
            self.day_off(previous + days(11), previous + days(PUSH - 1))
            previous += days(PUSH)
        return previous

    def obstacle(self, kind: str, day: date) -> None:
        if kind == "booking":
            other = book(self.client, patient(self.client), self.prac, start_date=day.isoformat(), session_count=1)
            assert other["sessions"][0]["start_local"] == f"{day}T09:00:00{_offset(day)}"
        elif kind == "day_off":
            self.day_off(day, day)
        else:
            body = {"start_date": day.isoformat(), "end_date": day.isoformat(), "reason": "Staff training"}
            created(self.client.post("/v1/closures", json=body))

    def assert_nothing_double_booked(self) -> None:
        """R5/R11 over everything stored: no two active sessions overlap, none on a closure or a day off."""
        stored = self.client.get(
            "/v1/sessions", params={"practitioner_id": self.prac["id"], "from": "2027-01-01", "to": "2028-12-31"}
        ).json()
        active = [s for s in stored["items"] if s["status"] in ("scheduled", "confirmed", "checked_in")]
        spans = sorted((s["start"], s["end"]) for s in active)
        assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans)), spans
        closed = self.client.get("/v1/closures", params={"limit": 500}).json()["items"]
        for session in active:
            day = date.fromisoformat(session["start_local"][:10])
            assert not any(c["start_date"] <= day.isoformat() <= c["end_date"] for c in closed), session
            assert not any(first <= day <= last for first, last in self.days_off), session


def _offset(day: date) -> str:
    return datetime.combine(day, time(9), BERLIN).isoformat()[-6:]


def local(session: dict[str, Any]) -> str:
    """The session's local date and time, e.g. 2027-09-07T08:15."""
    return str(session["start_local"][:16])


def at(day: date, hh_mm: str) -> str:
    return f"{day}T{hh_mm}"


@pytest.fixture
def clinic(client: TestClient) -> Clinic:
    return Clinic(client)


def far_course(clinic: Clinic, obstacle: str) -> tuple[dict[str, Any], date]:
    """A six-session request whose session 6 aims at a day past the old horizon, holding the obstacle.

    Session 1: days off until START+79, so only the 90-day search finds START+80.
    Sessions 2–5: four R6 pushes in a row, each 24 days after the one before.
    Session 6 aims at START+190; the old arithmetic loaded up to START+183.
    """
    clinic.day_off(START, START + days(79))
    fifth = clinic.push_chain(START + days(80), pushes=4)
    target = fifth + days(14)
    clinic.obstacle(obstacle, target)
    return course_request(patient(clinic.client), clinic.prac), target


def expected_sixth(obstacle: str, target: date) -> str:
    # Around another patient's 09:00: the nearest free slot, ties to the earlier (R3); a day off or a
    # closure on the target: the nearest day in the window, the day before first (R3).
    return at(target, "08:15") if obstacle == "booking" else at(target - days(1), "09:00")


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_booking_goes_around_what_lies_beyond_the_old_horizon(clinic: Clinic, obstacle: str) -> None:
    request, target = far_course(clinic, obstacle)
    course = created(clinic.client.post("/v1/courses", json=request))
    sessions = course["sessions"]
    assert [local(s) for s in sessions[:5]] == [at(START + days(80 + PUSH * k), "09:00") for k in range(5)]
    assert [bool(s["warnings"]) for s in sessions] == [False, True, True, True, True, False]
    assert local(sessions[5]) == expected_sixth(obstacle, target)
    clinic.assert_nothing_double_booked()


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_preview_goes_around_what_lies_beyond_the_old_horizon(clinic: Clinic, obstacle: str) -> None:
    request, target = far_course(clinic, obstacle)
    preview = clinic.client.post("/v1/courses/preview", json=request)
    assert preview.status_code == 200, preview.text
    assert local(preview.json()["sessions"][5]) == expected_sixth(obstacle, target)
    booked = created(clinic.client.post("/v1/courses", json=request))
    assert [local(s) for s in booked["sessions"]] == [local(s) for s in preview.json()["sessions"]]  # R7


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_reschedule_reflow_goes_around_what_lies_beyond_the_old_horizon(clinic: Clinic, obstacle: str) -> None:
    client = clinic.client
    course = book(client, patient(client), clinic.prac)  # 09:00 every 14 days from START
    new_first = START + days(80)  # after every stored session: all five later ones must reflow
    fifth = clinic.push_chain(new_first, pushes=4)
    target = fifth + days(14)
    # Session 6's window target ± 3 is off but for its last day, which holds the obstacle.
    # The old arithmetic loaded up to new_first + 110 = target - 0 closures, busy time to target + 2.
    clinic.day_off(target - days(3), target + days(2))
    clinic.obstacle(obstacle, target + days(3))
    response = client.post(
        f"/v1/sessions/{course['sessions'][0]['id']}/reschedule",
        json={"start": datetime.combine(new_first, time(9), BERLIN).isoformat(), "reason": "patient away"},
    )
    assert response.status_code == 200, response.text
    moved = response.json()["moved"]
    assert [m["number"] for m in moved] == [2, 3, 4, 5, 6]
    assert [local(m) for m in moved[:4]] == [at(new_first + days(PUSH * k), "09:00") for k in range(1, 5)]
    window_end = target + days(3)
    expected = at(window_end, "08:15") if obstacle == "booking" else at(window_end + days(1), "09:00")
    assert local(moved[4]) == expected
    clinic.assert_nothing_double_booked()


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_replacement_goes_around_what_lies_at_the_far_end(clinic: Clinic, obstacle: str) -> None:
    client = clinic.client
    request, _target = far_course(clinic, "closure")
    course = created(client.post("/v1/courses", json=request))
    sixth = date.fromisoformat(course["sessions"][5]["start_local"][:10])
    # The replacement follows session 6 by R3; its window and R6 week are off but for the last two days.
    clinic.day_off(sixth + days(11), sixth + days(PUSH - 2))
    clinic.obstacle(obstacle, sixth + days(PUSH - 1))
    response = client.post(
        f"/v1/sessions/{course['sessions'][2]['id']}/cancel", json={"reason": "flu", "replace": True}
    )
    assert response.status_code == 200, response.text
    replacement = response.json()["replacement"]
    assert replacement["number"] == 7
    last = sixth + days(PUSH - 1)
    assert local(replacement) == (at(last, "08:15") if obstacle == "booking" else at(last + days(1), "09:00"))
    clinic.assert_nothing_double_booked()


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_resume_goes_around_what_lies_beyond_the_old_horizon(clinic: Clinic, obstacle: str) -> None:
    client = clinic.client
    course = book(client, patient(client), clinic.prac)
    assert client.post(f"/v1/courses/{course['id']}/hold", json={"reason": "travel"}).status_code == 200
    resume = date(2027, 6, 1)
    # Six sessions owed: the first found only at the end of the 90-day search, then R6 pushes in a row.
    clinic.day_off(resume, resume + days(88))
    fifth = clinic.push_chain(resume + days(89), pushes=4)
    target = fifth + days(14)
    # Session 6's window is off too: it is pushed onto the obstacle's day, past the old horizon
    # (resume + 200 for closures, + 202 for busy time).
    clinic.day_off(target - days(3), target + days(3))
    clinic.obstacle(obstacle, target + days(4))
    response = client.post(f"/v1/courses/{course['id']}/resume", json={"start_date": resume.isoformat()})
    assert response.status_code == 200, response.text
    owed = [s for s in response.json()["sessions"] if s["status"] == "scheduled"]
    assert [s["number"] for s in owed] == [7, 8, 9, 10, 11, 12]
    assert [local(s) for s in owed[:5]] == [at(resume + days(89 + PUSH * k), "09:00") for k in range(5)]
    first_push = target + days(4)
    assert local(owed[5]) == (at(first_push, "08:15") if obstacle == "booking" else at(first_push + days(1), "09:00"))
    clinic.assert_nothing_double_booked()
