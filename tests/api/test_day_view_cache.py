"""The day view's answer cache forgets only what a write changed (api/store/freshness.py).

Each test counts the answers the server computed rather than served from memory, so
an answer kept too long (a stale poll) and an answer forgotten for nothing (a slower
screen) both fail it.
"""

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from api.settings import Settings
from api.store.freshness import AnswerCache
from api.web.app import create_app
from models import Role, Session
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Database, make_key

DAY_1, DAY_2, DAY_3 = "2027-03-01", "2027-03-02", "2027-03-03"


def _views(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        "day 1": {"date": DAY_1},
        "day 2": {"date": DAY_2},
        "day 1, A": {"date": DAY_1, "practitioner_id": a["id"]},
        "day 1, B": {"date": DAY_1, "practitioner_id": b["id"]},
        "day 2, A": {"date": DAY_2, "practitioner_id": a["id"]},
        "day 2, B": {"date": DAY_2, "practitioner_id": b["id"]},
        "days 1-2": {"from": DAY_1, "to": DAY_2},
    }


class Polls:
    """Polls every view once; says which were computed again."""

    def __init__(self, client: TestClient, views: dict[str, dict[str, str]]) -> None:
        self.client, self.views = client, views
        self.cache: AnswerCache = client.app.state.day_view_cache  # type: ignore[attr-defined]
        self.answers: dict[str, bytes] = {}

    def computed(self) -> set[str]:
        assert self.client.portal is not None
        assert self.client.portal.call(self.cache.settle), "every commit so far applied"
        again = set()
        for name, params in self.views.items():
            before = self.cache.computed
            answer = self.client.get("/v1/sessions", params=params)
            assert answer.status_code == 200, answer.text
            if self.cache.computed != before:
                again.add(name)
            elif name in self.answers:
                assert answer.content == self.answers[name], f"{name}: served from memory, yet different"
            self.answers[name] = answer.content
        return again

    def starts(self, name: str) -> list[str]:
        return [
            item["start_local"] for item in self.client.get("/v1/sessions", params=self.views[name]).json()["items"]
        ]


def _booked(client: TestClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    a, b = practitioner(client, name="Dr. A"), practitioner(client, name="Dr. B")
    sessions = {}
    for prac, label in ((a, "A"), (b, "B")):
        for day in (DAY_1, DAY_2):
            course = book(client, patient(client), prac, session_count=1, start_date=day)
            sessions[f"{label} {day}"] = course["sessions"][0]
    return a, b, sessions


def test_a_write_recomputes_only_the_days_and_practitioners_it_touched(client: TestClient) -> None:
    a, b, sessions = _booked(client)
    polls = Polls(client, _views(a, b))
    assert polls.computed() == set(polls.views), "the first poll of each view computes it"
    assert polls.computed() == set(), "nothing changed: every answer comes from memory"

    moved = sessions[f"A {DAY_1}"]
    later = moved["start_local"].replace("T09:00", "T11:00")
    assert client.post(f"/v1/sessions/{moved['id']}/reschedule", json={"start": later}).status_code == 200
    assert polls.computed() == {"day 1", "day 1, A", "days 1-2"}
    assert later in polls.starts("day 1, A")

    # to another day: the day it left and the day it reached, for its practitioner, nothing else
    polls.views["day 3, A"] = {"date": DAY_3, "practitioner_id": a["id"]}
    assert polls.computed() == {"day 3, A"}
    elsewhere = later.replace(DAY_1, DAY_3)
    assert client.post(f"/v1/sessions/{moved['id']}/reschedule", json={"start": elsewhere}).status_code == 200
    assert polls.computed() == {"day 1", "day 1, A", "days 1-2", "day 3, A"}
    assert polls.starts("day 1, A") == [] and polls.starts("day 3, A") == [elsewhere]

    # a change of status is a change of the day too; the other practitioner's day stays
    other = sessions[f"B {DAY_2}"]
    assert client.post(f"/v1/sessions/{other['id']}/confirm").status_code == 200
    assert polls.computed() == {"day 2", "day 2, B", "days 1-2"}

    # patients, practitioners and closures are not part of the day view
    patient(client)
    practitioner(client, name="Dr. C")
    closed = {"start_date": "2027-03-10", "end_date": "2027-03-10", "reason": "training"}
    assert client.post("/v1/closures", json=closed).status_code == 201
    assert polls.computed() == set()

    # the clinic's zone places every session's local time: everything is computed again
    clinic = client.get("/v1/clinic").json()
    assert client.put("/v1/clinic", json={**clinic, "name": "Isar Prolotherapy"}).status_code == 200
    assert polls.computed() == set(polls.views)


def test_a_write_outside_the_server_is_seen_and_forgets_only_its_day(client: TestClient, clean_db: Database) -> None:
    a, b, sessions = _booked(client)
    polls = Polls(client, _views(a, b))
    polls.computed()
    confirmed = update(Session).where(col(Session.id) == uuid.UUID(sessions[f"B {DAY_1}"]["id"]))
    with clean_db.engine.begin() as conn:  # a script of the clinic's, on a connection of its own
        conn.execute(confirmed.values(status="confirmed"))
    assert polls.computed() == {"day 1", "day 1, B", "days 1-2"}
    assert [s["status"] for s in client.get("/v1/sessions", params=polls.views["day 1, B"]).json()["items"]] == [
        "confirmed"
    ]


def test_a_poll_answered_before_routing_is_the_routes_answer(settings: Settings, clean_db: Database) -> None:
    # keys checked in the last few seconds (as in production): a cached poll skips routing (api/web/day_view.py)
    app = create_app(settings.model_copy(update={"api_key_cache_seconds": 60}), engine=clean_db.engine)
    staff, dispatcher = make_key(clean_db.engine, Role.admin), make_key(clean_db.engine, Role.dispatcher)
    with TestClient(app, headers={"X-API-Key": staff}) as client:
        a, _, sessions = _booked(client)
        cache: AnswerCache = app.state.day_view_cache
        polls = {
            "date": {"date": DAY_1},
            "practitioner": {"date": DAY_1, "practitioner_id": a["id"], "limit": "1", "offset": "0"},
            "range": {"from": DAY_1, "to": DAY_2},  # not a plain poll: always the whole way
        }
        first = {name: client.get("/v1/sessions", params=params) for name, params in polls.items()}
        computed = cache.computed
        for name, params in polls.items():
            again = client.get("/v1/sessions", params=params)
            assert (again.status_code, again.content) == (200, first[name].content), name
            assert again.headers["content-type"] == "application/json" == first[name].headers["content-type"]
            assert again.headers["cache-control"] == "no-store"
            bearer = client.get(
                "/v1/sessions", params=params, headers={"X-API-Key": "", "Authorization": f"Bearer {staff}"}
            )
            assert bearer.content == first[name].content
        assert cache.computed == computed, "every poll again came from memory"
        assert client.get("/v1/sessions", params=polls["date"], headers={"X-API-Key": dispatcher}).status_code == 403
        assert client.get("/v1/sessions", params=polls["date"], headers={"X-API-Key": "nope"}).status_code == 401
        assert client.get("/v1/sessions", params={"date": "2027-02-30"}).status_code == 422
        assert client.get("/v1/sessions", params={**polls["date"], "limit": "0"}).status_code == 422
        moved = sessions[f"A {DAY_1}"]
        assert client.post(f"/v1/sessions/{moved['id']}/confirm").status_code == 200
        statuses = [s["status"] for s in client.get("/v1/sessions", params=polls["practitioner"]).json()["items"]]
        assert statuses == ["confirmed"]
