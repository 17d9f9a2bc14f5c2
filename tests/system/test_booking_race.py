"""R11: bookings racing for one practitioner's time, against a real server process.

Every booking here goes over HTTP to `python -m uvicorn api.main:app` on 127.0.0.1,
from one thread per request, all released at once. The server's clock is the real
one, so the dates are in the next calendar year. The same tests run on SQLite
(writers serialised by `BEGIN IMMEDIATE`) and on PostgreSQL (row locks plus an
exclusion constraint) — R11 demands both.
"""

import threading
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DbSession
from sqlmodel import col

from api.store.db import write_session
from api.web.problems import integrity_problem
from models import Course, Practitioner
from models import Session as SessionRow
from scheduling.lifecycle import ACTIVE
from tests.conftest import Database
from tests.system.conftest import CLINIC_TIMEZONE, LiveApi, assert_problem

pytestmark = pytest.mark.system

ZONE = ZoneInfo(CLINIC_TIMEZONE)
RACERS = 12


def next_year_monday(month: int = 2) -> date:
    """A Monday early next year: in the future for the server's real clock (which these tests cannot set)."""
    first = date(datetime.now(UTC).year + 1, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def local(value: str) -> datetime:
    """An API instant in the clinic's zone."""
    return datetime.fromisoformat(value).astimezone(ZONE)


def at_local(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), ZONE)


def race(live_api: LiveApi, requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """Send the requests at once, one thread and one connection each; the answers in request order."""
    return live_api.race(requests)


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def add_practitioner(http: httpx.Client, name: str = "Dr. Amara Okafor", **extra: Any) -> str:
    return str(created(http.post("/v1/practitioners", json={"name": name, **extra}))["id"])


def add_patients(http: httpx.Client, count: int) -> list[str]:
    return [
        str(
            created(
                http.post(
                    "/v1/patients",
                    json={
                        "mrn": f"RACE-{uuid.uuid4().hex[:12]}",
                        "given_name": f"Patient{i}",
                        "family_name": "Racer",
                        "date_of_birth": "1970-01-01",
                    },
                )
            )["id"]
        )
        for i in range(count)
    ]


def course_request(patient_id: str, practitioner_id: str, start: date, session_count: int) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "practitioner_id": practitioner_id,
        "start_date": start.isoformat(),
        "preferred_time": "09:00",
        "session_count": session_count,
        "condition": "chronic low back pain, sacroiliac joint",
    }


def stored_sessions(engine: Engine, practitioner_id: str) -> list[SessionRow]:
    """The practitioner's sessions as the database holds them, by start."""
    with DbSession(engine) as db:
        return list(
            db.execute(
                select(SessionRow)
                .where(SessionRow.practitioner_id == uuid.UUID(practitioner_id))  # type: ignore[arg-type]
                .order_by(SessionRow.start_at)  # type: ignore[arg-type]
            ).scalars()
        )


def assert_no_overlap(spans: list[tuple[datetime, datetime]], what: str) -> None:
    ordered = sorted(spans)
    for (start_a, end_a), (start_b, end_b) in pairwise(ordered):
        assert end_a <= start_b, f"{what}: {start_a}–{end_a} overlaps {start_b}–{end_b}"


def assert_stored_sessions_sound(engine: Engine, practitioner_id: str) -> list[SessionRow]:
    """R5/R11 straight from the database: no overlap of the practitioner's active sessions, no patient twice a day."""
    rows = [row for row in stored_sessions(engine, practitioner_id) if row.status in ACTIVE]
    assert_no_overlap([(row.start_at, row.end_at) for row in rows], "database")
    days = Counter((row.patient_id, row.start_at.astimezone(ZONE).date()) for row in rows)
    assert all(n == 1 for n in days.values()), f"a patient has two sessions on one day: {days.most_common(3)}"
    return rows


def listed_sessions(http: httpx.Client, practitioner_id: str, first: date, last: date) -> list[dict[str, Any]]:
    answer = http.get(
        "/v1/sessions",
        params={"practitioner_id": practitioner_id, "from": first.isoformat(), "to": last.isoformat(), "limit": 500},
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["items"]), "all sessions fit on one page of 500"
    items: list[dict[str, Any]] = page["items"]
    return items


def test_r11_concurrent_course_bookings_get_one_time_each_never_an_overlap(
    live_api: LiveApi, clean_db: Database
) -> None:
    start = next_year_monday()
    with live_api.client() as http:
        practitioner_id = add_practitioner(http)
        patient_ids = add_patients(http, RACERS)

    answers = race(
        live_api,
        [("POST", "/v1/courses", course_request(p, practitioner_id, start, 6)) for p in patient_ids],
    )

    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, [(a.status_code, a.text) for a in answers if a.status_code not in (201, 409)]
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409)
    courses = [answer.json() for answer in answers if answer.status_code == 201]
    assert courses, "at least the first booking must succeed"
    # A new course that lost the race is planned around the winner (R11): on an empty
    # day of a practitioner there is room for all of them.
    assert statuses[201] == RACERS, statuses

    winners_at_nine = [
        course
        for course in courses
        if (first := local(course["sessions"][0]["start"])).date() == start and first.time() == time(9, 0)
    ]
    assert len(winners_at_nine) == 1, "exactly one course gets session 1 at 09:00 on the start date"
    for course in courses:
        assert [s["number"] for s in course["sessions"]] == [1, 2, 3, 4, 5, 6]
        assert all(s["status"] == "scheduled" for s in course["sessions"])

    booked = {s["id"]: s for course in courses for s in course["sessions"]}
    with live_api.client() as http:
        listed = listed_sessions(http, practitioner_id, start, start + timedelta(days=180))
    assert {s["id"] for s in listed} == set(booked)
    active = [s for s in listed if s["status"] in ACTIVE]
    assert_no_overlap([(local(s["start"]), local(s["end"])) for s in active], "GET /v1/sessions")
    per_patient_day = Counter((s["patient_id"], local(s["start"]).date()) for s in active)
    assert max(per_patient_day.values()) == 1

    rows = assert_stored_sessions_sound(clean_db.engine, practitioner_id)
    assert {str(row.id) for row in rows} == set(booked)


@pytest.mark.parametrize("racers", [2, 6])
def test_r11_r6_racing_for_the_only_slot_of_a_window_one_books_the_others_get_409(
    live_api: LiveApi, clean_db: Database, racers: int
) -> None:
    """A calendar with one free slot in session 2's whole window (tolerance ± the week after).

    Monday D and Tuesday D+1 are free, and Monday D+14 — nothing else up to D+45: the clinic
    opens for one 45-minute slot a day, it is closed D+2…D+11 and D+16…D+45, and the
    practitioner is off on D+15. The winner gets D and D+14; every other booking plans
    session 1 on D+1, finds session 2's window D+12…D+18 (and the week after) full, and is
    refused as a whole.
    """
    day = next_year_monday()
    with live_api.client() as http:
        clinic = http.put(
            "/v1/clinic",
            json={
                "name": "One-slot clinic",
                "timezone": CLINIC_TIMEZONE,
                "opening_hours": [
                    {"weekday": w, "start": "09:00", "end": "09:45"} for w in ("mon", "tue", "wed", "thu", "fri")
                ],
            },
        )
        assert clinic.status_code == 200, clinic.text
        for first, last, reason in ((2, 11, "training"), (16, 45, "renovation")):
            closure = {
                "start_date": (day + timedelta(days=first)).isoformat(),
                "end_date": (day + timedelta(days=last)).isoformat(),
                "reason": reason,
            }
            created(http.post("/v1/closures", json=closure))
        practitioner_id = add_practitioner(http)
        day_off = day + timedelta(days=15)
        created(
            http.post(
                f"/v1/practitioners/{practitioner_id}/time-off",
                json={
                    "start": at_local(day_off, "00:00").isoformat(),
                    "end": at_local(day_off + timedelta(days=1), "00:00").isoformat(),
                    "reason": "conference",
                },
            )
        )
        free = http.get(
            f"/v1/practitioners/{practitioner_id}/free-slots",
            params={"from": day.isoformat(), "to": (day + timedelta(days=45)).isoformat(), "duration_minutes": 45},
        )
        assert free.status_code == 200, free.text
        expected_free = [at_local(day + timedelta(days=n), "09:00") for n in (0, 1, 14)]
        assert [local(slot["start"]) for slot in free.json()["items"]] == expected_free, "the calendar is as designed"
        patient_ids = add_patients(http, racers)

    answers = race(
        live_api,
        [("POST", "/v1/courses", course_request(p, practitioner_id, day, 2)) for p in patient_ids],
    )

    assert sorted(answer.status_code for answer in answers) == [201] + [409] * (racers - 1), [
        (a.status_code, a.text) for a in answers
    ]
    winner = next(answer.json() for answer in answers if answer.status_code == 201)
    assert [local(s["start"]) for s in winner["sessions"]] == [expected_free[0], expected_free[2]]
    for answer in answers:
        if answer.status_code == 409:
            problem = assert_problem(answer, 409)
            assert problem["session_number"] == 2
            assert problem["window_start"] == (day + timedelta(days=12)).isoformat()
            assert problem["window_end"] == (day + timedelta(days=18)).isoformat()

    rows = assert_stored_sessions_sound(clean_db.engine, practitioner_id)
    assert {str(row.id) for row in rows} == {s["id"] for s in winner["sessions"]}, "a refused course stores nothing"
    with DbSession(clean_db.engine) as db:
        stored_courses = db.execute(
            select(func.count()).select_from(Course).where(Course.practitioner_id == uuid.UUID(practitioner_id))  # type: ignore[arg-type]
        ).scalar_one()
    assert stored_courses == 1


def test_r11_r9_a_cancelled_courses_time_can_be_booked_again(live_api: LiveApi, clean_db: Database) -> None:
    start = next_year_monday()
    with live_api.client() as http:
        practitioner_id = add_practitioner(http)
        first_patient, second_patient, third_patient = add_patients(http, 3)
        first = created(http.post("/v1/courses", json=course_request(first_patient, practitioner_id, start, 6)))
        times = [local(s["start"]) for s in first["sessions"]]
        assert times[0] == at_local(start, "09:00")

        # While the first course holds them, its times are not to be had.
        blocked = created(http.post("/v1/courses", json=course_request(second_patient, practitioner_id, start, 1)))
        assert local(blocked["sessions"][0]["start"]) != times[0]

        cancelled = http.post(f"/v1/courses/{first['id']}/cancel", json={"reason": "patient moved away"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert {s["status"] for s in cancelled.json()["sessions"]} == {"cancelled"}

        again = created(http.post("/v1/courses", json=course_request(third_patient, practitioner_id, start, 6)))
        assert [local(s["start"]) for s in again["sessions"]] == times

    rows = assert_stored_sessions_sound(clean_db.engine, practitioner_id)
    assert len(rows) == 1 + 6  # the blocked course's session and the new course; the cancelled ones are inactive


def test_r11_a_booking_waits_for_another_writer_while_reads_go_on(live_api: LiveApi, clean_db: Database) -> None:
    """Another process mid-write (the reminder cron, a second server): the booking waits, then books;
    reads are answered meanwhile. SQLite: that process holds the database's write lock;
    PostgreSQL: it holds the practitioner's row."""
    start = next_year_monday()
    with live_api.client() as http:
        practitioner_id = add_practitioner(http)
        (patient_id,) = add_patients(http, 1)
    engine = clean_db.engine
    booked: list[httpx.Response] = []
    with write_session(engine) as other:  # SQLite: BEGIN IMMEDIATE, the database's write lock
        # PostgreSQL: the practitioner's row, which every booking for them locks first
        other.execute(select(Practitioner).where(col(Practitioner.id) == uuid.UUID(practitioner_id)).with_for_update())

        def book() -> None:
            with live_api.client() as http:
                booked.append(http.post("/v1/courses", json=course_request(patient_id, practitioner_id, start, 6)))

        booking = threading.Thread(target=book)
        booking.start()
        booking.join(timeout=1.0)
        assert booking.is_alive(), "the booking did not wait for the other writer"
        with live_api.client() as http:  # the server still answers while its booking waits
            for _ in range(3):
                started = monotonic()
                assert http.get("/v1/sessions", params={"date": start.isoformat()}).status_code == 200
                assert monotonic() - started < 0.5
        other.rollback()
    booking.join(timeout=30)
    assert len(booked) == 1
    assert local(created(booked[0])["sessions"][0]["start"]) == at_local(start, "09:00")


# ---------------------------------------------------------------------------
# PostgreSQL: the exclusion constraint itself, below the application.


def _insert_booking(engine: Engine, practitioner_id: uuid.UUID, start: datetime, minutes: int = 45) -> uuid.UUID:
    """A patient, a course and its session 1, inserted with plain SQL; the session's id."""
    patient_id, course_id, session_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patient (id, mrn, given_name, family_name, given_name_key, family_name_key,"
                " date_of_birth, reminder_channel, reminder_consent, medications, allergies, archived)"
                " VALUES (:id, :mrn, 'Ada', 'Direct', 'ada', 'direct', '1970-01-01', 'none', false, '[]', '[]', false)"
            ),
            {"id": patient_id, "mrn": f"SQL-{patient_id.hex[:12]}"},
        )
        conn.execute(
            text(
                "INSERT INTO course (id, patient_id, practitioner_id, protocol_id, status, condition, needs_review,"
                " start_date, session_count, interval_days, interval_tolerance_days, min_interval_days,"
                " session_minutes, injectate, rules, warnings, created_at)"
                " SELECT :id, :patient_id, :practitioner_id, id, 'planned', 'knee', false, :start_date,"
                " 1, 14, 3, 7, :minutes, injectate, rules, '[]', now() FROM protocol WHERE is_default"
            ),
            {
                "id": course_id,
                "patient_id": patient_id,
                "practitioner_id": practitioner_id,
                "start_date": start.date(),
                "minutes": minutes,
            },
        )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO session (id, course_id, patient_id, practitioner_id, number, start_at, end_at,"
                " status, warnings) VALUES (:id, :course_id, :patient_id, :practitioner_id, 1, :start, :end,"
                " 'scheduled', '[]')"
            ),
            {
                "id": session_id,
                "course_id": course_id,
                "patient_id": patient_id,
                "practitioner_id": practitioner_id,
                "start": start,
                "end": start + timedelta(minutes=minutes),
            },
        )
    return session_id


def _add_practitioner_sql(engine: Engine) -> uuid.UUID:
    practitioner_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO practitioner (id, name) VALUES (:id, 'Dr. SQL')"), {"id": practitioner_id})
    return practitioner_id


def test_r11_postgresql_exclusion_constraint_refuses_overlapping_active_sessions(clean_db: Database) -> None:
    if clean_db.engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's; SQLite serialises writers with BEGIN IMMEDIATE")
    engine = clean_db.engine
    practitioner_id, other_practitioner_id = _add_practitioner_sql(engine), _add_practitioner_sql(engine)
    nine = at_local(next_year_monday(), "09:00")
    first = _insert_booking(engine, practitioner_id, nine)

    for start in (nine, nine + timedelta(minutes=30), nine - timedelta(minutes=15)):
        with pytest.raises(IntegrityError, match="ex_session_practitioner_overlap") as refused:
            _insert_booking(engine, practitioner_id, start)
        # Writers lock the practitioner before they plan, so an overlap reaching the constraint is
        # Prolo's own defect: answered as one (500, logged), never blamed on "someone else".
        answer = integrity_problem(None, refused.value)
        assert answer.status_code == 500 and answer.media_type == "application/problem+json"
        assert b"defect in Prolo" in answer.body and b"someone else changed" not in answer.body
    # Touching is not overlapping ('[)' ranges), and another practitioner is free at the same time.
    _insert_booking(engine, practitioner_id, nine + timedelta(minutes=45))
    _insert_booking(engine, other_practitioner_id, nine)

    # Once the first session is cancelled its time is free; making it active again is refused.
    with engine.begin() as conn:
        conn.execute(text("UPDATE session SET status = 'cancelled' WHERE id = :id"), {"id": first})
    overlapping = _insert_booking(engine, practitioner_id, nine)
    with pytest.raises(IntegrityError, match="ex_session_practitioner_overlap"), engine.begin() as conn:
        conn.execute(text("UPDATE session SET status = 'scheduled' WHERE id = :id"), {"id": first})

    with engine.connect() as conn:
        statuses: dict[uuid.UUID, str] = dict(
            conn.execute(
                text("SELECT id, status FROM session WHERE id IN (:a, :b)"), {"a": first, "b": overlapping}
            ).all()
        )
    assert statuses == {first: "cancelled", overlapping: "scheduled"}
