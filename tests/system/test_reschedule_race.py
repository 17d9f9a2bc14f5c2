"""R11 for reschedules: staff racing to move sessions into one practitioner's free time, against a real server.

Every request goes over HTTP to `python -m uvicorn api.main:app` on 127.0.0.1, from one
thread and one connection per request, all released at once by a barrier. The
server's clock is the real one, so the dates are early next year. Exactly one racer
gets the time; every other one gets 409 (a problem naming `practitioner_busy`);
never a 5xx, never an overlap — checked through the API and straight in the
database, on SQLite (writers serialised by `BEGIN IMMEDIATE`) and on PostgreSQL (row
locks plus the exclusion constraint). A dry run racing real reschedules never writes.
"""

import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session as DbSession

from models import Session as SessionRow
from scheduling.lifecycle import ACTIVE
from tests.conftest import Database
from tests.system.conftest import CLINIC_TIMEZONE, LiveApi, assert_problem

pytestmark = pytest.mark.system

ZONE = ZoneInfo(CLINIC_TIMEZONE)

Request = tuple[str, dict[str, Any]]  # a path and its JSON body, POSTed


def next_year_monday() -> date:
    """A Monday in February next year: in the future for the server's real clock."""
    first = date(datetime.now(UTC).year + 1, 2, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def at_local(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), ZONE)


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def race(live_api: LiveApi, requests: list[Request]) -> list[httpx.Response]:
    """POST them all at once, one thread and one open connection each; the answers in request order."""
    return live_api.race([("POST", path, body) for path, body in requests])


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def book_courses(http: httpx.Client, practitioner_id: str, count: int, day: date) -> list[dict[str, Any]]:
    """`count` patients, each with a three-session course from `day`; their first sessions, one time each that day."""
    sessions = []
    for i in range(count):
        patient = created(
            http.post(
                "/v1/patients",
                json={
                    "mrn": f"RESCHED-{uuid.uuid4().hex[:12]}",
                    "given_name": f"Patient{i}",
                    "family_name": "Racer",
                    "date_of_birth": "1970-01-01",
                },
            )
        )
        course = created(
            http.post(
                "/v1/courses",
                json={
                    "patient_id": patient["id"],
                    "practitioner_id": practitioner_id,
                    "start_date": day.isoformat(),
                    "preferred_time": "09:00",
                    "session_count": 3,
                    "condition": "chronic low back pain",
                },
            )
        )
        sessions.append(course["sessions"][0])
    assert len({s["start"] for s in sessions}) == count, "each course has a time of its own"
    return sessions


def setup(live_api: LiveApi, racers: int) -> tuple[str, list[dict[str, Any]], datetime]:
    """A practitioner, `racers` courses from a Monday, and a free slot on the Wednesday after.

    Wednesday keeps R4 (two days after Monday, twelve before session 2) and R3 (session 2
    stays inside its window), so nothing but the practitioner's time decides the race.
    """
    monday = next_year_monday()
    with live_api.client() as http:
        practitioner_id = str(created(http.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}))["id"])
        sessions = book_courses(http, practitioner_id, racers, monday)
    return practitioner_id, sessions, at_local(monday + timedelta(days=2), "11:00")


def move(session: dict[str, Any], start: datetime, **options: Any) -> Request:
    return f"/v1/sessions/{session['id']}/reschedule", {"start": start.isoformat(), **options}


def stored(engine: Engine, practitioner_id: str) -> dict[str, tuple[Any, ...]]:
    """The practitioner's sessions as the database holds them: id → (start, end, status, previous start, reason)."""
    with DbSession(engine) as db:
        rows = db.execute(
            select(SessionRow).where(SessionRow.practitioner_id == uuid.UUID(practitioner_id))  # type: ignore[arg-type]
        ).scalars()
        return {str(r.id): (r.start_at, r.end_at, r.status, r.previous_start_at, r.change_reason) for r in rows}


def assert_no_overlap(spans: list[tuple[datetime, datetime]], what: str) -> None:
    for (start_a, end_a), (start_b, end_b) in pairwise(sorted(spans)):
        assert end_a <= start_b, f"{what}: {start_a}–{end_a} overlaps {start_b}–{end_b}"


def assert_sound(live_api: LiveApi, engine: Engine, practitioner_id: str) -> list[dict[str, Any]]:
    """R5/R11 through the API and in the database: the practitioner's active sessions never overlap."""
    with live_api.client() as http:
        answer = http.get("/v1/sessions", params={"practitioner_id": practitioner_id, "limit": 500})
    assert answer.status_code == 200, answer.text
    listed: list[dict[str, Any]] = answer.json()["items"]
    active = [s for s in listed if s["status"] in ACTIVE]
    assert_no_overlap([(instant(s["start"]), instant(s["end"])) for s in active], "GET /v1/sessions")
    rows = stored(engine, practitioner_id)
    assert_no_overlap([(r[0], r[1]) for r in rows.values() if r[2] in ACTIVE], "database")
    assert {s["id"] for s in listed} == set(rows)
    return listed


@pytest.mark.parametrize("racers", [2, 6])
def test_r11_reschedules_racing_for_one_free_slot_one_gets_it_the_others_409(
    live_api: LiveApi, clean_db: Database, racers: int
) -> None:
    practitioner_id, sessions, slot = setup(live_api, racers)
    before = stored(clean_db.engine, practitioner_id)

    answers = race(live_api, [move(s, slot, reason="patient asked for Wednesday") for s in sessions])

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 1, 409: racers - 1}, [(a.status_code, a.text) for a in answers]
    winner = next(s for s, a in zip(sessions, answers, strict=True) if a.status_code == 200)
    won = next(a for a in answers if a.status_code == 200).json()
    assert instant(won["session"]["start"]) == slot and won["moved"] == []
    for answer in answers:
        if answer.status_code == 409:
            assert assert_problem(answer, 409)["reasons"] == ["practitioner_busy"]

    listed = {s["id"]: s for s in assert_sound(live_api, clean_db.engine, practitioner_id)}
    assert instant(listed[winner["id"]]["start"]) == slot
    after = stored(clean_db.engine, practitioner_id)
    assert {i for i in after if after[i] != before[i]} == {winner["id"]}, "only the winner's session changed"
    assert [i for i, row in after.items() if row[0] == slot] == [winner["id"]]


def test_r8_r11_dry_runs_racing_a_reschedule_never_write(live_api: LiveApi, clean_db: Database) -> None:
    """One real reschedule into the slot; dry runs of the others into it, and of the mover elsewhere, at once."""
    practitioner_id, sessions, slot = setup(live_api, 6)
    mover, others = sessions[0], sessions[1:]
    before = stored(clean_db.engine, practitioner_id)

    answers = race(
        live_api,
        [
            move(mover, slot),
            *(move(s, slot, dry_run=True) for s in others),
            move(mover, slot + timedelta(hours=2), dry_run=True),
        ],
    )

    real, *dry_runs = answers
    assert real.status_code == 200, real.text
    for answer in dry_runs:
        # A dry run that ran first saw the slot free; one that ran after saw it taken. Never a 5xx.
        assert answer.status_code in (200, 409), answer.text
        if answer.status_code == 409:
            assert assert_problem(answer, 409)["reasons"] == ["practitioner_busy"]
    assert dry_runs[-1].status_code == 200, "the mover's own dry run elsewhere fits either way"

    assert_sound(live_api, clean_db.engine, practitioner_id)
    after = stored(clean_db.engine, practitioner_id)
    assert {i for i in after if after[i] != before[i]} == {mover["id"]}, "dry runs wrote nothing"
    assert after[mover["id"]][0] == slot


def test_r11_a_reschedule_racing_a_new_course_for_one_time_never_overlaps(
    live_api: LiveApi, clean_db: Database
) -> None:
    """The reschedule gets the time (the course is planned around it) or 409s (the course got it)."""
    practitioner_id, sessions, slot = setup(live_api, 1)
    with live_api.client() as http:
        patient = created(
            http.post(
                "/v1/patients",
                json={"mrn": f"RESCHED-{uuid.uuid4().hex[:12]}", "given_name": "Ada", "family_name": "Late",
                      "date_of_birth": "1980-05-05"},
            )
        )  # fmt: skip
    booking = (
        "/v1/courses",
        {
            "patient_id": patient["id"],
            "practitioner_id": practitioner_id,
            "start_date": slot.date().isoformat(),
            "preferred_time": slot.strftime("%H:%M"),
            "session_count": 1,
            "condition": "knee",
        },
    )

    rescheduled, booked = race(live_api, [move(sessions[0], slot), booking])

    assert booked.status_code == 201, booked.text
    course_start = instant(booked.json()["sessions"][0]["start"])
    if rescheduled.status_code == 200:
        assert course_start != slot, "the course is planned around the moved session"
    else:
        assert assert_problem(rescheduled, 409)["reasons"] == ["practitioner_busy"]
        assert course_start == slot
    listed = assert_sound(live_api, clean_db.engine, practitioner_id)
    assert sum(1 for s in listed if instant(s["start"]) == slot and s["status"] in ACTIVE) == 1
