"""The audit trail (S7): one event per changed row, with who, what, before and after; nothing rewrites it."""

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock, Database

RECORD = {
    "injections": [{"site": "left SI joint", "injectate": "dextrose 15%", "volume_ml": 6}],
    "pain_before": 6,
    "adverse_events": [],
}


FEED_WAIT_SECONDS = 10


def stored_events(database: Database) -> int:
    with database.engine.connect() as conn:
        count: int = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
        return count


def feed(client: TestClient, database: Database, **params: str) -> list[dict[str, Any]]:
    """Every event the feed lists for these filters, once it has caught up with what is stored.

    On PostgreSQL the feed holds back events until every transaction older than theirs has
    ended, on the whole server (another test's, here): the feed is followed, not read once.
    """
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        items: list[dict[str, Any]] = client.get("/v1/audit-events", params={**params, "limit": "500"}).json()["items"]
        everything = client.get("/v1/audit-events", params={"limit": "500"}).json()["items"]
        stored = stored_events(database)
        assert stored <= 500, "these tests store a few events: one page holds them all"
        if len(everything) == stored:
            return items
        assert time.monotonic() < deadline, f"the feed held back {stored - len(everything)} events for too long"
        time.sleep(0.02)


class Trail:
    """Follows the audit feed the way front-desk software would, one step of the course at a time."""

    def __init__(self, client: TestClient, database: Database) -> None:
        self.client, self.database = client, database
        self.cursor: str | None = None
        self.seen = 0
        self.new_events()  # what setting up the test wrote

    def new_events(self) -> list[dict[str, Any]]:
        """The events after the cursor, up to every event stored now (the feed may hold them back a moment)."""
        found: list[dict[str, Any]] = []
        stored, deadline = stored_events(self.database), time.monotonic() + FEED_WAIT_SECONDS
        while self.seen < stored:
            params: dict[str, str | int] = {"limit": 500, **({"after": self.cursor} if self.cursor else {})}
            page = self.client.get("/v1/audit-events", params=params).json()
            found += page["items"]
            self.seen += len(page["items"])
            self.cursor = page["next_cursor"]
            if not page["items"]:
                assert time.monotonic() < deadline, f"the feed held back {stored - self.seen} events for too long"
                time.sleep(0.02)
        assert self.seen == stored, "the feed listed events twice"
        return found


def sessions_of(client: TestClient, course_id: str) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in client.get(f"/v1/courses/{course_id}").json()["sessions"]}


def by_entity(events: list[dict[str, Any]], entity_type: str) -> dict[str, dict[str, Any]]:
    found = [e for e in events if e["entity_type"] == entity_type]
    counts = Counter(e["entity_id"] for e in found)
    assert max(counts.values(), default=1) == 1, f"one event per changed {entity_type}: {counts}"
    return {e["entity_id"]: e for e in found}


def assert_events_match_the_changes(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], events: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Exactly the sessions whose stored row changed have one event each, made or changed as the API shows."""
    session_events = by_entity(events, "session")
    changed = {i for i in after if before.get(i) != after[i]}
    assert set(session_events) == changed
    for session_id, event in session_events.items():
        assert event["after"]["status"] == after[session_id]["status"]
        assert datetime.fromisoformat(event["after"]["start_at"]) == datetime.fromisoformat(after[session_id]["start"])
        if session_id in before:
            assert event["before"]["status"] == before[session_id]["status"]
            was = datetime.fromisoformat(event["before"]["start_at"])
            assert was == datetime.fromisoformat(before[session_id]["start"])
        else:
            assert event["before"] is None
    return session_events


def test_s7_a_whole_course_leaves_one_event_per_change_with_before_and_after(
    client: TestClient, clock: Clock, clean_db: Database
) -> None:
    trail = Trail(client, clean_db)
    me = client.get("/v1/api-keys").json()["items"][0]
    prac, pat = practitioner(client), patient(client, medications=["ibuprofen"])
    trail.new_events()

    # book: the course and its six sessions made, and their reminders
    course = book(client, pat, prac)
    events = trail.new_events()
    assert {e["action"] for e in events} == {"book_course"}
    assert all(e["actor"] == {"id": me["id"], "name": me["name"], "role": "admin"} for e in events)
    (made,) = by_entity(events, "course").values()
    assert (made["entity_id"], made["before"], made["after"]["status"]) == (course["id"], None, "planned")
    now = sessions_of(client, course["id"])
    assert_events_match_the_changes({}, now, events)
    reminders = by_entity(events, "reminder")
    assert reminders and all(e["before"] is None for e in reminders.values())
    stored = client.get("/v1/reminders", params={"patient_id": pat["id"], "limit": 500}).json()
    assert set(reminders) == {r["id"] for r in stored["items"]}

    # reschedule session 2 with reflow: session 2 and each session the reflow moved
    was = now
    second = course["sessions"][1]["id"]
    client.post(f"/v1/sessions/{second}/reschedule", json={"start": "2027-03-24T09:00:00+01:00", "reason": "away"})
    events, now = trail.new_events(), sessions_of(client, course["id"])
    moved = assert_events_match_the_changes(was, now, events)
    assert len(moved) == 5
    assert moved[second]["after"]["change_reason"] == "away"
    assert {e["after"]["change_reason"] for i, e in moved.items() if i != second} == {"reflow after session 2 moved"}
    assert {e["action"] for e in events} == {"reschedule"}

    # cancel session 3 with a replacement: one cancelled, one made
    was, third = now, course["sessions"][2]["id"]
    client.post(f"/v1/sessions/{third}/cancel", json={"reason": "flu", "replace": True})
    events, now = trail.new_events(), sessions_of(client, course["id"])
    changes = assert_events_match_the_changes(was, now, events)
    assert changes[third]["before"]["status"] == "scheduled" and changes[third]["after"]["status"] == "cancelled"
    assert [e["after"]["number"] for e in changes.values() if e["before"] is None] == [7]

    # check in and complete session 1: its status, its record, and the course becoming active
    first = course["sessions"][0]
    clock.now = datetime.fromisoformat(first["start"]).astimezone(UTC)
    was = now
    client.post(f"/v1/sessions/{first['id']}/check-in")
    events, now = trail.new_events(), sessions_of(client, course["id"])
    checked = assert_events_match_the_changes(was, now, events)
    assert set(checked) == {first["id"]} and checked[first["id"]]["after"]["status"] == "checked_in"
    assert any(w["code"] == "nsaid_in_medications" for w in checked[first["id"]]["after"]["warnings"])
    was = now
    client.post(f"/v1/sessions/{first['id']}/complete", json=RECORD)
    events, now = trail.new_events(), sessions_of(client, course["id"])
    done = assert_events_match_the_changes(was, now, events)
    assert done[first["id"]]["before"]["record"] is None
    assert done[first["id"]]["after"]["record"]["injections"] == RECORD["injections"]
    (course_event,) = by_entity(events, "course").values()
    assert (course_event["before"]["status"], course_event["after"]["status"]) == ("planned", "active")

    # hold: the course, and every future session cancelled
    was = now
    client.post(f"/v1/courses/{course['id']}/hold", json={"reason": "travel"})
    events, now = trail.new_events(), sessions_of(client, course["id"])
    held = assert_events_match_the_changes(was, now, events)
    assert held and {e["after"]["status"] for e in held.values()} == {"cancelled"}
    (course_event,) = by_entity(events, "course").values()
    assert (course_event["before"]["status"], course_event["after"]["status"]) == ("active", "on_hold")
    assert course_event["after"]["status_reason"] == "travel"
    reminder_events = list(by_entity(events, "reminder").values())
    # the patient hears of the hold (R37); every other message about what was held stops
    assert [e["after"]["kind"] for e in reminder_events if e["before"] is None] == ["change_notice"]
    assert all(e["after"]["status"] == "cancelled" for e in reminder_events if e["before"] is not None)

    # resume: the sessions still owed, made again
    was = now
    client.post(f"/v1/courses/{course['id']}/resume", json={"start_date": "2027-06-07"})
    events, now = trail.new_events(), sessions_of(client, course["id"])
    resumed = assert_events_match_the_changes(was, now, events)
    assert resumed and all(e["before"] is None for e in resumed.values())
    (course_event,) = by_entity(events, "course").values()
    assert (course_event["before"]["status"], course_event["after"]["status"]) == ("on_hold", "active")


def test_s7_key_management_and_clinic_settings_are_audited_without_secrets(
    client: TestClient, clean_db: Database
) -> None:
    trail = Trail(client, clean_db)
    made = client.post("/v1/api-keys", json={"name": "Front desk PC 2", "role": "frontdesk"}).json()
    client.delete(f"/v1/api-keys/{made['id']}")
    clinic = client.get("/v1/clinic").json()
    client.put("/v1/clinic", json={**clinic, "name": "Isar Prolotherapy"})
    events = trail.new_events()
    keys = [e for e in events if e["entity_type"] == "api_key"]
    assert [(e["action"], e["before"] is None) for e in keys] == [("create_key", True), ("revoke_key", False)]
    assert keys[1]["after"]["revoked_at"] is not None
    assert all("key_hash" not in (e["after"] or {}) and made["key"] not in str(e) for e in keys)
    (clinic_event,) = [e for e in events if e["entity_type"] == "clinic"]
    assert (clinic_event["before"]["name"], clinic_event["after"]["name"]) == (clinic["name"], "Isar Prolotherapy")


def test_s7_events_are_filtered_by_entity_actor_and_time(client: TestClient, clock: Clock, clean_db: Database) -> None:
    pat = patient(client)
    events = feed(client, clean_db, entity_type="patient", entity_id=pat["id"])
    assert [e["action"] for e in events] == ["create_patient"]
    me = events[0]["actor"]
    assert feed(client, clean_db, actor=me["id"])
    assert feed(client, clean_db, actor="nobody") == []
    later = clock.now.replace(year=2030).isoformat()
    assert feed(client, clean_db, **{"from": later}) == []
    assert [e["entity_id"] for e in feed(client, clean_db, entity_type="patient")] == [pat["id"]]
    assert client.get("/v1/audit-events", params={"after": "not-a-cursor"}).status_code == 422
    if clean_db.engine.dialect.name == "sqlite":  # every txid is 0 there: a PostgreSQL cursor is not one of ours
        assert client.get("/v1/audit-events", params={"after": "4711.1"}).status_code == 422


def test_s7_only_admins_read_the_trail(anon: TestClient, clean_db: Database) -> None:
    from models import Role
    from tests.conftest import make_key

    for role in (Role.clinician, Role.frontdesk, Role.dispatcher):
        headers = {"Authorization": f"Bearer {make_key(clean_db.engine, role)}"}
        assert anon.get("/v1/audit-events", headers=headers).status_code == 403


def test_s7_no_route_changes_or_deletes_an_event(client: TestClient, clean_db: Database) -> None:
    patient(client)
    (first, *_) = feed(client, clean_db)
    operations = client.get("/openapi.json").json()["paths"]
    audit_paths = {path: set(methods) for path, methods in operations.items() if path.startswith("/v1/audit-events")}
    assert audit_paths == {"/v1/audit-events": {"get"}}
    for method in ("put", "patch", "delete", "post"):
        for path in ("/v1/audit-events", f"/v1/audit-events/{first['id']}"):
            assert client.request(method, path, json={}).status_code in (404, 405), (method, path)
    assert feed(client, clean_db)[0] == first


_COPY = "SELECT id, txid, at, 'forger', 'admin', 'forged', entity_type, entity_id FROM audit_event WHERE true"
_INTO = "audit_event (id, txid, at, actor_name, actor_role, action, entity_type, entity_id)"
REWRITES = {
    "update": "UPDATE audit_event SET action = 'forged'",
    "delete": "DELETE FROM audit_event",
    "replace": f"REPLACE INTO {_INTO} {_COPY}",  # SQLite's; it skips delete triggers (no recursive_triggers)
    "insert or replace": f"INSERT OR REPLACE INTO {_INTO} {_COPY}",  # SQLite's
    "upsert": f"INSERT INTO {_INTO} {_COPY} ON CONFLICT (id) DO UPDATE SET action = 'forged'",
    "truncate": "TRUNCATE audit_event",  # PostgreSQL's (SQLite's is a DELETE without WHERE)
}
# A form one dialect does not have is refused by its parser: the trail is no more rewritable for it.
NOT_SQL_THERE = {("postgresql", "replace"), ("postgresql", "insert or replace"), ("sqlite", "truncate")}


@pytest.mark.parametrize("form", REWRITES)
def test_s7_the_database_itself_refuses_to_rewrite_the_trail(client: TestClient, clean_db: Database, form: str) -> None:
    patient(client)
    dialect = clean_db.engine.dialect.name
    refusal = "syntax error" if (dialect, form) in NOT_SQL_THERE else "append-only"
    with pytest.raises(DBAPIError, match=refusal), clean_db.engine.begin() as conn:
        conn.execute(text(REWRITES[form]))
    (made,) = feed(client, clean_db, entity_type="patient")
    assert made["action"] == "create_patient" and made["actor"]["name"] != "forger"
    assert all(e["action"] != "forged" for e in feed(client, clean_db))


def test_s7_a_change_still_unflushed_at_commit_gets_its_event(clean_db: Database) -> None:
    """SQLAlchemy runs before_commit before commit's last flush: the trail must not miss what that flush stores."""
    from api.store import actors, audit
    from api.store.unit_of_work import SESSIONS
    from models import Practitioner

    with SESSIONS(bind=clean_db.engine) as db:
        audit.begin(db, actor=actors.COMMAND_LINE, action="test")
        made = Practitioner(name="Dr. Unflushed", working_hours=None)
        made_id = str(made.id)
        db.add(made)
        db.commit()
    with clean_db.engine.connect() as conn:
        found = conn.execute(
            text("SELECT action FROM audit_event WHERE entity_type = 'practitioner' AND entity_id = :id"),
            {"id": made_id},
        ).all()
    assert [row.action for row in found] == ["test"]


def test_s7_the_default_protocol_made_by_the_migrations_has_its_creation_event(
    client: TestClient, clean_db: Database
) -> None:
    (default,) = [p for p in client.get("/v1/protocols").json()["items"] if p["is_default"]]
    events = feed(client, clean_db, entity_type="protocol", entity_id=default["id"])
    assert [(e["action"], e["before"]) for e in events] == [("create_default_protocol", None)]
    assert events[0]["actor"] == {"id": None, "name": "prolo database migration", "role": "migration"}
    made = events[0]["after"]
    assert {name: made[name] for name in default if name != "rules"} == {
        name: value for name, value in default.items() if name != "rules"
    }
    assert [rule["code"] for rule in made["rules"]] == [rule["code"] for rule in default["rules"]]
