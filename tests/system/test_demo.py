"""`prolo demo`: a newcomer sees a filled clinic at once, every session placed by the real planner."""

import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.demo import KNEE_PROTOCOL, fill_demo
from api.settings import Settings
from api.store.errors import Conflict
from tests.conftest import DEFAULT_NOW, Database

pytestmark = pytest.mark.system

ACTIVE = {"scheduled", "confirmed", "checked_in"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BERLIN = ZoneInfo("Europe/Berlin")
# now → the day view the demo reports: today, or after a weekend or holiday the next day the clinic opens.
DAY_VIEWS = {
    "a Monday": (DEFAULT_NOW, date(2027, 1, 4)),
    "a Thursday after hours": (datetime(2027, 1, 7, 19, 45, tzinfo=UTC), date(2027, 1, 7)),
    "a Saturday": (datetime(2027, 1, 9, 10, 0, tzinfo=UTC), date(2027, 1, 11)),
    "Good Friday, then Easter Monday": (datetime(2027, 3, 26, 9, 0, tzinfo=UTC), date(2027, 3, 30)),
    "Sunday night in Berlin, Saturday in UTC": (datetime(2027, 1, 9, 23, 30, tzinfo=UTC), date(2027, 1, 11)),
}


def _all(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list."""
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(path, params={**params, "limit": 500, "offset": len(items)})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if len(items) >= page.json()["total"]:
            return items


def _rows(db: Database) -> dict[str, list[str]]:
    """Every row of every table, comparable before and after; not when a key was last used (noted beside
    each request, a minute at a time), which no demo writes."""
    with db.engine.connect() as conn:
        return {
            t.name: sorted(repr(row) for row in conn.execute(select(*(c for c in t.c if c.name != "last_used_at"))))
            for t in db.tables().sorted_tables
        }


def _day_view_date(summary: str) -> date:
    found = re.search(r"GET /v1/sessions\?date=(\d{4}-\d{2}-\d{2})", summary)
    assert found, summary
    return date.fromisoformat(found.group(1))


@pytest.mark.parametrize(("now", "expected_day"), DAY_VIEWS.values(), ids=DAY_VIEWS.keys())
def test_demo_fills_a_clinic_whose_day_view_is_busy(
    client: TestClient, clean_db: Database, settings: Settings, now: datetime, expected_day: date
) -> None:
    summary = fill_demo(engine=clean_db.engine, settings=settings, now=now)

    assert client.get("/v1/practitioners").json()["total"] == 2
    patients = _all(client, "/v1/patients")
    assert len(patients) == 12
    assert any("Advil 200 mg" in p["medications"] for p in patients)
    assert {p["reminder_channel"] for p in patients} == {"email", "sms", "outbox", "none"}
    courses = _all(client, "/v1/courses")
    assert {"planned", "cancelled"} <= {c["status"] for c in courses}
    assert any(c["session_count"] == 5 and c["interval_days"] == 21 for c in courses)
    clinic = client.get("/v1/clinic").json()
    assert clinic["timezone"] == "Europe/Berlin"

    day = _day_view_date(summary)
    assert day == expected_day
    assert (f"Today, {day:%A} {day}," if day == now.astimezone(BERLIN).date() else "the clinic is closed") in summary
    assert client.get("/v1/closures", params={"from": str(day), "to": str(day)}).json()["items"] == []
    day_view = _all(client, "/v1/sessions", date=day)
    assert len([s for s in day_view if s["status"] in ACTIVE]) >= 3
    assert f"has {len(day_view)} sessions" in summary


def test_demo_sessions_keep_the_planner_rules(client: TestClient, clean_db: Database, settings: Settings) -> None:
    fill_demo(engine=clean_db.engine, settings=settings, now=DEFAULT_NOW)
    clinic = client.get("/v1/clinic").json()
    closed = {c["start_date"] for c in client.get("/v1/closures").json()["items"]}
    sessions = [s for s in _all(client, "/v1/sessions") if s["status"] in ACTIVE]
    assert sessions

    for practitioner in _all(client, "/v1/practitioners"):
        own = sorted((s for s in sessions if s["practitioner_id"] == practitioner["id"]), key=lambda s: s["start"])
        for first, second in pairwise(own):
            assert datetime.fromisoformat(first["end"]) <= datetime.fromisoformat(second["start"]), (first, second)
        hours = practitioner["working_hours"] or clinic["opening_hours"]
        for s in own:  # R5: inside opening hours ∩ working hours, off closures
            start = datetime.fromisoformat(s["start_local"])
            end = start + (datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"]))
            assert start.date().isoformat() not in closed
            for week in (clinic["opening_hours"], hours):
                assert any(
                    h["weekday"] == WEEKDAYS[start.weekday()]
                    and time.fromisoformat(h["start"]) <= start.time()
                    and end.time() <= time.fromisoformat(h["end"])
                    for h in week
                ), s

    local_days = Counter((s["patient_id"], s["start_local"][:10]) for s in sessions)
    assert max(local_days.values()) == 1  # R5: never two sessions of one patient on one day
    for course in _all(client, "/v1/courses"):
        days = sorted(date.fromisoformat(s["start_local"][:10]) for s in course["sessions"] if s["status"] in ACTIVE)
        assert all((b - a).days >= course["min_interval_days"] for a, b in pairwise(days))  # R4


def test_demo_refuses_a_database_that_holds_patients_and_writes_nothing(clean_db: Database, settings: Settings) -> None:
    fill_demo(engine=clean_db.engine, settings=settings, now=DEFAULT_NOW)
    before = _rows(clean_db)

    answer = fill_demo(engine=clean_db.engine, settings=settings, now=DEFAULT_NOW + timedelta(days=30))

    assert answer.startswith("Refused:") and "12 patients" in answer
    assert _rows(clean_db) == before


def test_a_demo_failing_half_way_leaves_nothing_behind(
    client: TestClient, clean_db: Database, settings: Settings
) -> None:
    # A protocol by the demo's name makes its fill fail after the clinic and holidays were written.
    made = client.post("/v1/protocols", json={"name": KNEE_PROTOCOL, "injectate": "dextrose 15%"})
    assert made.status_code == 201, made.text
    before = _rows(clean_db)

    with pytest.raises(Conflict, match="exists already"):
        fill_demo(engine=clean_db.engine, settings=settings, now=DEFAULT_NOW)

    assert _rows(clean_db) == before
