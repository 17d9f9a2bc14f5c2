"""S7: the audit trail is complete. Every table it records can be rebuilt from the feed's `after` values alone.

The test fills a clinic with `prolo demo`, drives every write route the OpenAPI document lists and every
form the patients' pages post to (a route it has no driver for fails it: add one to DRIVERS, a few lines),
runs a dispatch pass from the command line, then follows the feed from the beginning, applies each event's
`after` to its row (`null`: the row is gone) and compares the result with the database, row for row and
column for column. The only columns left out are those the trail leaves out on purpose, read from
`api.store.audit.NOT_RECORDED`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlmodel import SQLModel, col

from api.demo import fill_demo
from api.notify import channels_from
from api.notify.sms import signature
from api.services.dispatch import ACTION, dispatch
from api.settings import Settings
from api.store import actors
from api.store.audit import UNAUDITED_TABLES, not_recorded
from api.store.db import to_json
from api.store.unit_of_work import steps
from api.web.routes import patient_pages
from models import Reminder
from tests.api.helpers import course_request
from tests.api.patient_page_reading import CHOICE
from tests.conftest import Clock, Database

pytestmark = pytest.mark.system

CHANGES = ("post", "put", "patch", "delete")
GATEWAY_SECRET = "audit-gateway-secret-0123456789abcdef"
TEXTER, OPTED = "+493012345671", "+493012345670"
RECORD = {"injections": [{"site": "left SI joint", "injectate": "dextrose 15%", "volume_ml": 6}], "pain_before": 6}


@pytest.fixture
def settings(clean_db: Database) -> Settings:
    """Patients' texts arrive (R29), so their webhook is one of the write routes driven."""
    return Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        api_key_cache_seconds=0,
        inbound_sms_provider="prolo",
        sms_webhook_secret=GATEWAY_SECRET,
        public_url="https://prolo.example.org",  # messages carry links: an offer's is how its patient accepts it
    )


@dataclass
class Drive:
    """What the drivers share: the client, the clock, and what earlier drivers made (by name)."""

    client: TestClient
    clock: Clock
    db: Database
    made: dict[str, Any] = field(default_factory=dict)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        answer = (
            self.client.request(method, path, params=body, json=None)
            if method == "get"
            else (self.client.request(method, path, json=body))
        )
        assert answer.status_code < 300, f"{method.upper()} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def at(self, when: datetime) -> None:
        self.clock.now = max(self.clock.now, when)  # time only moves forward


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _book(d: Drive, name: str, **fields: Any) -> dict[str, Any]:
    body = course_request(d.made["patient"], d.made["practitioner"], start_date="2027-02-01", **fields)
    course: dict[str, Any] = d.ok("post", "/v1/courses", body)
    d.made[name] = course
    return course


def _reschedule(d: Drive) -> None:
    """Move the second session of a course a day or more later (a day the clinic is open, free)."""
    second = d.made["moved"]["sessions"][1]
    for days in range(1, 8):
        start = (_local(second["start_local"]) + timedelta(days=days)).isoformat()
        answer = d.client.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": start, "reason": "away"})
        if answer.status_code == 200:
            return
    pytest.fail(f"no day in the week after {second['start_local']} took session 2: {answer.text}")


def _check_in_complete(d: Drive) -> None:
    first = d.made["lived"]["sessions"][0]
    d.at(_instant(first["start"]) - timedelta(minutes=30))
    d.ok("post", f"/v1/sessions/{first['id']}/check-in")


def _complete(d: Drive) -> None:
    first = d.made["lived"]["sessions"][0]
    d.ok("post", f"/v1/sessions/{first['id']}/complete", RECORD)


def _no_show(d: Drive) -> None:
    second = d.made["lived"]["sessions"][1]
    d.at(_instant(second["start"]) + timedelta(hours=1))
    d.ok("post", f"/v1/sessions/{second['id']}/no-show")


def _dispatch(d: Drive) -> None:
    """A pass when the next staff follow-up call is due: it goes to the outbox, ready to acknowledge."""
    calls = d.ok("get", "/v1/reminders", {"status": "pending", "kind": "follow_up", "limit": 500})["items"]
    due = min(t for c in calls if c["channel"] == "outbox" and (t := _instant(c["due_at"])) > d.clock.now)
    d.at(due + timedelta(minutes=1))
    d.ok("post", "/v1/reminders/dispatch", {})
    ready = d.client.get("/v1/reminders", params={"status": "ready", "limit": 1}).json()["items"]
    assert ready, "a dispatch pass made no outbox reminder ready"
    d.made["ready"] = ready[0]


def _link(d: Drive) -> None:
    """A session's link, which the patient then uses (the link is the actor, R28)."""
    session = d.made["moved"]["sessions"][2]
    d.made["link"] = d.ok("post", f"/v1/sessions/{session['id']}/link")
    d.made["page"] = "/p/" + d.made["link"]["url"].split("/p/", 1)[1]


def _on_page(d: Drive, action: str, form: dict[str, str] | None = None) -> None:
    answer = d.client.post(f"{d.made['page']}/{action}", data=form)
    assert answer.status_code == 200, answer.text  # the page again, after its redirect


def _move_on_page(d: Drive) -> None:
    """The patient moves the session to the first time its page offers (R26, R27)."""
    [choice, *_] = CHOICE.findall(d.client.get(d.made["page"]).text)
    _on_page(d, "reschedule", {"choice": choice})


def _accept_on_page(d: Drive) -> None:
    """Session 4 of the waiting course waits too; the Friday before it is offered, and its patient accepts on
    the offer's page (R44), through the link its message carries."""
    fourth = d.made["wl_course"]["sessions"][3]
    entry = d.ok("post", "/v1/waitlist", {"session_id": fourth["id"]})
    start = _local(fourth["start_local"]) - timedelta(days=3)
    span = {"start": start.isoformat(), "end": (start + timedelta(minutes=45)).isoformat()}
    opening = d.ok("post", "/v1/waitlist/openings", {"practitioner_id": d.made["wl_practitioner"]["id"], **span})
    [offer] = d.ok("post", f"/v1/waitlist/openings/{opening['id']}/offers", {"entry_ids": [entry["id"]]})
    with d.db.engine.connect() as conn:  # the message as stored: the API shows no patient's text
        query = select(col(Reminder.offer_id), col(Reminder.body)).where(col(Reminder.kind) == "waitlist_offer")
        bodies = conn.execute(query).all()
    [body] = [body for offer_id, body in bodies if str(offer_id) == offer["id"]]
    page = "/p/" + body.split("/p/", 1)[1][:22]
    assert d.client.post(f"{page}/accept").status_code == 200  # the page again, after its redirect


def _patient(d: Drive) -> None:
    body = {"mrn": "MRN-AUDIT", "given_name": "Maria", "family_name": "Keller", "date_of_birth": "1971-04-09"}
    d.made["patient"] = d.ok("post", "/v1/patients", {**body, "email": "maria@example.org", "reminder_consent": True})


def _text_stop(d: Drive) -> None:
    """A patient's STOP as the clinic's gateway posts it (R29, R33): the message is the actor."""
    raw = orjson.dumps({"message_id": "m-audit-1", "from": TEXTER, "to": "+493099999999", "body": "STOP"})
    headers = {"Content-Type": "application/json", "Prolo-Signature": signature(GATEWAY_SECRET, raw)}
    answer = d.client.post("/v1/inbound/sms", content=raw, headers=headers)
    assert answer.status_code < 300, answer.text


def _wait(d: Drive) -> None:
    """A course of its own (its patient reachable by email), whose session 3 waits for an earlier time (R39)."""
    prac = d.ok("post", "/v1/practitioners", {"name": "Dr. Lena Vogel"})
    body = {"mrn": "MRN-WAIT", "given_name": "Jonas", "family_name": "Brandt", "date_of_birth": "1968-02-11"}
    pat = d.ok(
        "post",
        "/v1/patients",
        {**body, "email": "jonas@example.org", "reminder_channel": "email", "reminder_consent": True},
    )
    course = d.ok("post", "/v1/courses", course_request(pat, prac, start_date="2027-06-07"))
    d.made.update(wl_practitioner=prac, wl_course=course)
    d.made["entry"] = d.ok("post", "/v1/waitlist", {"session_id": course["sessions"][2]["id"], "priority": "urgent"})


def _open(d: Drive) -> None:
    """Free time by hand on the Friday before session 3 (inside its R3 window), and a second hour to withdraw."""
    third = _local(d.made["wl_course"]["sessions"][2]["start_local"])
    friday = third - timedelta(days=3)
    for name, hour in (("opening", 0), ("spare", 1)):
        start = friday + timedelta(hours=hour)
        span = {"start": start.isoformat(), "end": (start + timedelta(minutes=45)).isoformat()}
        d.made[name] = d.ok(
            "post", "/v1/waitlist/openings", {"practitioner_id": d.made["wl_practitioner"]["id"], **span}
        )


def _offer(d: Drive) -> None:
    opening = d.made["opening"]["id"]
    [d.made["offer"]] = d.ok("post", f"/v1/waitlist/openings/{opening}/offers", {"entry_ids": [d.made["entry"]["id"]]})


def _wait_again(d: Drive) -> None:
    """After the accepted offers, session 5 waits too; then the patient keeps its date (closed)."""
    fifth = d.made["wl_course"]["sessions"][4]["id"]
    entry = d.ok("post", "/v1/waitlist", {"session_id": fifth})
    d.ok("post", f"/v1/waitlist/{entry['id']}/close", {"reason": "keeps the date"})


Driver = Callable[[Drive], Any]

# (method, path) → what drives it, in this order (later drivers use what earlier ones made).
DRIVERS: dict[tuple[str, str], Driver] = {
    ("put", "/v1/clinic"): lambda d: d.ok(
        "put", "/v1/clinic", {**d.ok("get", "/v1/clinic", {}), "phone": "+49 30 90182711"}
    ),
    ("post", "/v1/closures"): lambda d: d.made.update(
        closure=d.ok("post", "/v1/closures", {"start_date": "2027-08-02", "end_date": "2027-08-02", "reason": "Audit"})
    ),
    ("delete", "/v1/closures/{closure_id}"): lambda d: d.ok("delete", f"/v1/closures/{d.made['closure']['id']}"),
    ("post", "/v1/closures/import-holidays"): lambda d: d.ok(
        "post", "/v1/closures/import-holidays", {"country": "AT", "year": 2027}
    ),
    ("post", "/v1/practitioners"): lambda d: d.made.update(
        practitioner=d.ok("post", "/v1/practitioners", {"name": "Dr. Ilse Audit"})
    ),
    ("patch", "/v1/practitioners/{practitioner_id}"): lambda d: d.ok(
        "patch", f"/v1/practitioners/{d.made['practitioner']['id']}", {"name": "Dr. Ilse Audit-Berg"}
    ),
    ("post", "/v1/practitioners/{practitioner_id}/time-off"): lambda d: d.ok(
        "post",
        f"/v1/practitioners/{d.made['practitioner']['id']}/time-off",
        {"start": "2027-06-01T08:00:00+02:00", "end": "2027-06-01T12:00:00+02:00", "reason": "Conference"},
    ),
    ("post", "/v1/practitioners/{practitioner_id}/calendar-token"): lambda d: [
        d.ok("post", f"/v1/practitioners/{d.made['practitioner']['id']}/calendar-token") for _ in range(2)
    ],  # twice: the second stops the first
    ("post", "/v1/patients"): _patient,
    ("patch", "/v1/patients/{patient_id}"): lambda d: d.ok(
        "patch", f"/v1/patients/{d.made['patient']['id']}", {"phone": "+49 170 1234567", "given_name": "Mia"}
    ),
    ("post", "/v1/patients/{patient_id}/calendar-token"): lambda d: d.ok(
        "post", f"/v1/patients/{d.made['patient']['id']}/calendar-token"
    ),
    ("post", "/v1/protocols"): lambda d: d.made.update(
        protocol=d.ok("post", "/v1/protocols", {"name": "Knee (audit)", "injectate": "dextrose 15%"})
    ),
    ("patch", "/v1/protocols/{protocol_id}"): lambda d: d.ok(
        "patch", f"/v1/protocols/{d.made['protocol']['id']}", {"session_count": 5}
    ),
    ("post", "/v1/courses/preview"): lambda d: d.ok(
        "post", "/v1/courses/preview", course_request(d.made["patient"], d.made["practitioner"])
    ),
    ("post", "/v1/courses"): lambda d: [
        _book(d, "lived", session_count=3),
        _book(d, "moved", session_count=3, preferred_time="11:00"),
        _book(d, "held", session_count=2, preferred_time="14:00", protocol_id=d.made["protocol"]["id"]),
        _book(d, "stopped", session_count=2, preferred_time="16:00"),
    ],
    ("post", "/v1/courses/{course_id}/cancel"): lambda d: d.ok(
        "post", f"/v1/courses/{d.made['stopped']['id']}/cancel", {"reason": "moved away"}
    ),
    ("post", "/v1/courses/{course_id}/hold"): lambda d: d.ok(
        "post", f"/v1/courses/{d.made['held']['id']}/hold", {"reason": "travelling"}
    ),
    ("post", "/v1/courses/{course_id}/resume"): lambda d: d.ok(
        "post", f"/v1/courses/{d.made['held']['id']}/resume", {"start_date": "2027-05-03"}
    ),
    ("post", "/v1/sessions/{session_id}/reschedule"): _reschedule,
    ("post", "/v1/sessions/{session_id}/confirm"): lambda d: d.ok(
        "post", f"/v1/sessions/{d.made['lived']['sessions'][0]['id']}/confirm"
    ),
    ("post", "/v1/sessions/{session_id}/check-in"): _check_in_complete,
    ("post", "/v1/sessions/{session_id}/complete"): _complete,
    ("post", "/v1/sessions/{session_id}/no-show"): _no_show,
    ("post", "/v1/sessions/{session_id}/cancel"): lambda d: d.ok(
        "post", f"/v1/sessions/{d.made['lived']['sessions'][2]['id']}/cancel", {"reason": "ill", "replace": True}
    ),
    ("post", "/v1/sessions/{session_id}/link"): _link,
    ("post", "/p/{token}/confirm"): lambda d: _on_page(d, "confirm"),
    ("post", "/p/{token}/reschedule"): _move_on_page,
    ("post", "/p/{token}/cancel"): lambda d: _on_page(d, "cancel", {"reason": "stop_treatment"}),
    ("post", "/v1/links/{link_id}/revoke"): lambda d: d.ok("post", f"/v1/links/{d.made['link']['link_id']}/revoke"),
    ("post", "/v1/patients/{patient_id}/links/revoke"): lambda d: d.ok(
        "post", f"/v1/patients/{d.made['patient']['id']}/links/revoke"
    ),
    ("post", "/v1/reminders/dispatch"): _dispatch,
    ("post", "/v1/reminders/{reminder_id}/ack"): lambda d: d.ok("post", f"/v1/reminders/{d.made['ready']['id']}/ack"),
    ("post", "/v1/patients/{patient_id}/archive"): lambda d: d.ok(
        "post", f"/v1/patients/{d.made['patient']['id']}/archive"
    ),
    ("post", "/v1/api-keys"): lambda d: d.made.update(
        key=d.ok("post", "/v1/api-keys", {"name": "Front desk PC 9", "role": "frontdesk"})
    ),
    ("delete", "/v1/api-keys/{key_id}"): lambda d: d.ok("delete", f"/v1/api-keys/{d.made['key']['id']}"),
    ("post", "/v1/waitlist"): _wait,
    ("patch", "/v1/waitlist/{entry_id}"): lambda d: d.ok(
        "patch", f"/v1/waitlist/{d.made['entry']['id']}", {"note": "mornings"}
    ),
    ("post", "/v1/waitlist/openings"): _open,
    ("post", "/v1/waitlist/openings/{opening_id}/offers"): _offer,
    ("post", "/v1/waitlist/offers/{offer_id}/accept"): lambda d: d.ok(
        "post", f"/v1/waitlist/offers/{d.made['offer']['id']}/accept"
    ),
    ("post", "/v1/waitlist/openings/{opening_id}/withdraw"): lambda d: d.ok(
        "post", f"/v1/waitlist/openings/{d.made['spare']['id']}/withdraw", {"reason": "kept for an emergency"}
    ),
    ("post", "/p/{token}/accept"): _accept_on_page,
    ("post", "/v1/waitlist/{entry_id}/close"): _wait_again,
    ("post", "/v1/inbound/sms"): _text_stop,
    ("post", "/v1/sms-opt-outs"): lambda d: d.ok(
        "post", "/v1/sms-opt-outs", {"number": OPTED, "source_note": "by phone"}
    ),
    ("delete", "/v1/sms-opt-outs/{number}"): lambda d: d.ok(
        "delete", f"/v1/sms-opt-outs/{OPTED}?source_note=asked+again"
    ),
}


def _feed(client: TestClient, db: Database) -> list[dict[str, Any]]:
    """Every event, following the cursors from the beginning as front-desk software does, until the feed has
    caught up with the trail as stored. On PostgreSQL the feed holds back events while any older transaction of
    the cluster is still open (other test runs share it), so a reader that reached the end polls again, as a
    syncing client would; a trail that never catches up fails after a minute."""
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    deadline = time.monotonic() + 60
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"after": cursor} if cursor else {})
        page = client.get("/v1/audit-events", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        events += body["items"]
        cursor = body["next_cursor"] or cursor
        if body["items"]:
            continue
        if len(events) >= stored or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


Rows = dict[str, dict[str, dict[str, Any]]]  # table → row id → column → value (as JSON has it)


def _rebuilt(events: list[dict[str, Any]]) -> Rows:
    tables: Rows = {}
    for event in events:
        rows = tables.setdefault(event["entity_type"], {})
        if event["after"] is None:
            rows.pop(event["entity_id"], None)
        elif event["before"] is None:
            rows[event["entity_id"]] = dict(event["after"])
        else:
            assert event["entity_id"] in rows, f"a change to a row the trail never saw made: {event}"
            rows[event["entity_id"]].update(event["after"])
    return tables


def _stored(db: Database) -> Rows:
    """Every audited table as the database holds it, each value as the trail's JSON writes it."""
    tables: Rows = {}
    with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in UNAUDITED_TABLES:
                continue
            recorded = [c for c in table.c if c.name not in not_recorded(table.name)]
            [key] = table.primary_key.columns  # an event's entity_id (an opt-out's is its number)
            tables[table.name] = {
                str(row._mapping[key.name]): orjson.loads(to_json(dict(row._mapping)))
                for row in conn.execute(select(*recorded))
            }
    return tables


def test_s7_every_audited_table_is_rebuilt_from_the_feed_alone(
    client: TestClient, clock: Clock, clean_db: Database, settings: Settings
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    listed = {(method, path) for path, operations in paths.items() for method in operations if method in CHANGES}
    pages = [r for r in patient_pages.router.routes if isinstance(r, APIRoute)]  # not in the OpenAPI document
    listed |= {(method.lower(), r.path) for r in pages for method in r.methods or () if method.lower() in CHANGES}
    assert listed <= set(DRIVERS), (
        f"write routes this test does not drive: add them to DRIVERS: {listed - set(DRIVERS)}"
    )
    assert set(DRIVERS) <= listed, f"drivers for routes the API no longer has: {set(DRIVERS) - listed}"

    assert "ready" in fill_demo(engine=clean_db.engine, settings=settings, now=clock.now)
    drive = Drive(client, clock, clean_db)
    for route, driver in DRIVERS.items():
        driver(drive)
        assert drive.client.get("/healthz").status_code == 200, route
    pending = client.get("/v1/reminders", params={"status": "pending", "due_before": "2100-01-01T00:00:00Z"})
    clock.now = max(_instant(r["due_at"]) for r in pending.json()["items"]) + timedelta(minutes=1)  # all due
    passes = steps(clean_db.engine, actor=actors.COMMAND_LINE, action=ACTION)
    summary = dispatch(steps=passes, channels=channels_from(settings), clock=clock)
    assert summary.claimed > 0, summary

    events = _feed(client, clean_db)
    roles = {e["actor"]["role"] for e in events}
    assert {"admin", "cli", "patient_link", "patient_sms"} <= roles, roles  # the API, the demo and the pass, patients
    stored, rebuilt = _stored(clean_db), _rebuilt(events)
    assert set(rebuilt) <= set(stored), f"events of tables that are not audited: {set(rebuilt) - set(stored)}"
    for table, rows in stored.items():
        from_feed = rebuilt.get(table, {})
        assert set(rows) == set(from_feed), (
            f"{table}: rows the trail misses {sorted(set(rows) - set(from_feed))[:3]}, "
            f"rows it has but the table does not {sorted(set(from_feed) - set(rows))[:3]}"
        )
        for row_id, row in rows.items():
            differs = {
                c: (v, from_feed[row_id].get(c, "<missing>"))
                for c, v in row.items()
                if from_feed[row_id].get(c, "<missing>") != v
            }
            assert not differs, f"{table} {row_id}: column → (stored, rebuilt from the trail): {differs}"
    counts = {table: len(rows) for table, rows in stored.items()}
    assert all(counts[t] for t in ("patient", "practitioner", "course", "session", "reminder", "closure")), counts
