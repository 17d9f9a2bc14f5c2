"""S7: no patient name, contact data or note reaches a log line, whatever the request and however it ends.

A real `prolo serve` (the production logging of `api/web/logs.py`) runs on the test database
with SMS going to a local webhook, so no reminder text is printed by the development
`log` channel. One patient with canary values (names, MRN, phone, email, allergy,
medication, condition, notes, reasons: every text holds the same unique tag) goes
through a whole course and through the failures around it: 401, 403, 404, 409,
412, 422 (bodies holding the canaries, bodies that are not JSON), 503 (the database
held by another connection), 500 (a stored row the schema refuses), and reminders
delivered by an HTTP dispatch pass and by a `prolo reminders dispatch` process. Then no
line either process wrote may hold a canary, an API key or a feed secret, and no
access line a query string.

The check is only worth something if the capture captures: every request the test
made must have its access line, and the 503s and 500s their application log lines.
One walk through everything, on one server, is why this module is long: a server per
case would cost seconds each and prove less.
"""

import json
import random
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import phonenumbers
import pytest
from sqlalchemy import update
from sqlmodel import col

from models import Patient, Reminder, Role
from models.base import table_of
from models.hours import WEEKDAYS
from tests.conftest import Database, another_writer, make_key
from tests.system.conftest import REQUEST_TIMEOUT_SECONDS, LiveApi, served_env, start_server
from tests.system.receivers import Reply, WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.system

SECRET = "log-privacy-webhook-secret"
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3})')
FEED_PATH = re.compile(r"^/v1/calendar/[^/]+\.ics$")


@dataclass(frozen=True)
class Canary:
    """Patient data no log may hold: every text carries `tag`; the phone is a real-looking number."""

    tag: str
    phone: str  # E.164

    def __call__(self, kind: str) -> str:
        return f"Canary{kind}{self.tag}"

    @property
    def email(self) -> str:
        return f"canary.{self.tag}@example.org"

    def needles(self) -> tuple[str, ...]:
        return (self.tag, self.phone, self.phone[-8:])  # the subscriber digits, however the number is written


def make_canary() -> Canary:
    while True:
        phone = f"+4930{random.randrange(10**7, 10**8)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(phone)):
            return Canary(tag=uuid.uuid4().hex[:12], phone=phone)


def zone_where_it_is_morning(now: datetime) -> str:
    """A fixed-offset zone in which it is about 10:00 now: session 1 can be booked and checked in today."""
    offset = (10 - now.hour + 12) % 24 - 12
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-3 is UTC+3


@dataclass
class Traffic:
    """Every (method, path, status) the test's clients were answered, as the access log should show it."""

    seen: Counter[tuple[str, str, int]] = field(default_factory=Counter)

    def note(self, response: httpx.Response) -> None:
        path = response.request.url.path
        path = "/v1/calendar/(secret).ics" if FEED_PATH.match(path) else path
        self.seen[(response.request.method, path, response.status_code)] += 1

    def client(self, api: LiveApi, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(
            base_url=api.base_url,
            headers=headers,
            timeout=REQUEST_TIMEOUT_SECONDS,
            event_hooks={"response": [self.note]},
        )


def expect(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json() if "json" in response.headers.get("content-type", "") else response.text


def make_due(database: Database) -> None:
    """The server runs on the real clock and planned reminders for later only: bring the pending SMS ones to now."""
    now = datetime.now(UTC)
    pending_sms = update(table_of(Reminder)).where(col(Reminder.status) == "pending", col(Reminder.channel) == "sms")
    due_now = {"due_at": now - timedelta(minutes=1), "next_attempt_at": None, "expires_at": now + timedelta(hours=1)}
    with database.engine.begin() as conn:
        conn.execute(pending_sms.values(due_now))


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with webhook_receiver(SECRET) as receiver:
        yield receiver


def prolo_env(database: Database, hook: WebhookReceiver, **extra: str) -> dict[str, str]:
    return served_env(database.url, sms_webhook_url=hook.url, sms_webhook_secret=SECRET, **extra)


@pytest.fixture
def served(clean_db: Database, hook: WebhookReceiver, tmp_path: Path) -> Iterator[LiveApi]:
    """`prolo serve`: migrations, uvicorn with `log_config()`, INFO level, as in production."""
    admin_key = make_key(clean_db.engine, Role.admin, "privacy test admin")
    prolo = str(Path(sys.executable).with_name("prolo"))
    server = start_server(
        [prolo, "serve", "--host", "127.0.0.1"],
        env=prolo_env(clean_db, hook, PROLO_DB_WAIT_SECONDS="2"),  # a held database answers 503 soon
        cwd=tmp_path,
        logs=tmp_path / "logs",
    )
    try:
        yield LiveApi(server=server, admin_key=admin_key)
    finally:
        server.stop()


@dataclass
class Visit:
    """One test's clients and what its walk made; `secrets` (keys, feed tokens) no log may hold either."""

    api: LiveApi
    database: Database
    canary: Canary
    zone: ZoneInfo
    traffic: Traffic = field(default_factory=Traffic)
    ids: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def client(self, role: Role | None = None, *, key: str | None = None) -> httpx.Client:
        """A client with the admin's key, a new key of `role`, `key` itself, or none."""
        if role is Role.admin:
            key = self.api.admin_key
        elif role is not None:
            key = make_key(self.database.engine, role)
        if key:
            self.secrets.append(key)
        return self.traffic.client(self.api, key)


def set_up_clinic(v: Visit, admin: httpx.Client) -> None:
    clinic = expect(admin.get("/v1/clinic"), 200)
    week = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in WEEKDAYS]
    clinic |= {"timezone": v.zone.key, "opening_hours": week, "phone": "+4930901820"}
    expect(admin.put("/v1/clinic", json=clinic), 200)
    v.ids["practitioner"] = expect(admin.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}), 201)["id"]


def register_find_and_change(v: Visit, admin: httpx.Client) -> None:
    c = v.canary
    patient = {
        "mrn": c("Mrn"),
        "given_name": c("Given"),
        "family_name": c("Family"),
        "date_of_birth": "1971-04-09",
        "phone": c.phone,
        "email": c.email,
        "reminder_channel": "sms",
        "reminder_consent": True,
        "medications": [f"Ibuprofen {c('Medication')}"],
        "allergies": [c("Allergy")],
    }
    retry = {"Idempotency-Key": f"register-{c.tag}"}
    first = admin.post("/v1/patients", json=patient, headers=retry)
    v.ids["patient"] = pid = expect(first, 201)["id"]
    assert expect(admin.post("/v1/patients", json=patient, headers=retry), 201)["id"] == pid  # S5: once
    expect(admin.post("/v1/patients", json={**patient, "given_name": c("Other")}, headers=retry), 422)
    expect(admin.post("/v1/patients", json=patient), 409)  # the canary MRN again
    spaced_phone = f"{c.phone[:3]} {c.phone[3:5]} {c.phone[5:]}"
    for q in (c("Family"), c("Given")[:16], c.phone, spaced_phone, c("Mrn")):  # query strings
        assert expect(admin.get("/v1/patients", params={"q": q, "limit": 5}), 200)["total"] == 1, q
    etag = first.headers["ETag"]
    change = {"allergies": [c("Allergy"), c("Allergy2")], "medications": [c("Medication2")]}
    expect(admin.patch(f"/v1/patients/{pid}", json=change, headers={"If-Match": etag}), 200)
    expect(admin.patch(f"/v1/patients/{pid}", json={"email": f"new.{c.email}"}, headers={"If-Match": etag}), 412)
    expect(admin.patch(f"/v1/patients/{pid}", json={"medications": [f"Ibuprofen {c('Medication')}"]}), 200)


def walk_the_course(v: Visit, admin: httpx.Client) -> None:
    """Book, reschedule with reflow, cancel with a replacement, check in, complete, hold, resume."""
    c = v.canary
    order: dict[str, Any] = {"patient_id": v.ids["patient"], "practitioner_id": v.ids["practitioner"]}
    order |= {"condition": c("Condition"), "start_date": v.today().isoformat(), "session_count": 4}
    expect(admin.post("/v1/courses/preview", json=order), 200)
    course = expect(admin.post("/v1/courses", json=order), 201)
    v.ids["course"] = cid = course["id"]
    first, second, _, fourth = (s["id"] for s in course["sessions"])
    later = datetime.fromisoformat(course["sessions"][1]["start"]) + timedelta(days=7)
    moved = admin.post(f"/v1/sessions/{second}/reschedule", json={"start": later.isoformat(), "reason": c("Move")})
    assert expect(moved, 200)["moved"], "the reflow moved the later sessions"
    cancelled = admin.post(f"/v1/sessions/{fourth}/cancel", json={"reason": c("Cancel"), "replace": True})
    assert expect(cancelled, 200)["replacement"] is not None
    expect(admin.post(f"/v1/sessions/{first}/check-in"), 200)
    record = {
        "injections": [{"site": c("Site"), "injectate": "dextrose 15%", "volume_ml": 5}],
        "pain_before": 6,
        "adverse_events": [{"type": "bruising", "severity": "mild", "notes": c("Adverse")}],
        "notes": c("Notes"),
    }
    expect(admin.post(f"/v1/sessions/{first}/complete", json=record), 200)
    expect(admin.post(f"/v1/sessions/{first}/check-in"), 409)  # illegal transitions
    expect(admin.post(f"/v1/sessions/{second}/complete", json=record), 409)
    expect(admin.post(f"/v1/courses/{cid}/hold", json={"reason": c("Hold")}), 200)
    resume = {"start_date": (v.today() + timedelta(days=3)).isoformat()}
    expect(admin.post(f"/v1/courses/{cid}/resume", json=resume), 200)
    expect(admin.post(f"/v1/courses/{cid}/resume", json=resume), 409)


def read_everything(v: Visit, admin: httpx.Client, anon: httpx.Client) -> None:
    pid, cid, prid = v.ids["patient"], v.ids["course"], v.ids["practitioner"]
    expect(admin.get(f"/v1/patients/{pid}/restrictions", params={"on": v.today().isoformat()}), 200)
    expect(admin.get(f"/v1/patients/{pid}/aftercare"), 200)
    expect(admin.get(f"/v1/patients/{pid}/calendar.ics"), 200)
    expect(admin.get(f"/v1/practitioners/{prid}/calendar.ics"), 200)
    feed = httpx.URL(expect(admin.post(f"/v1/patients/{pid}/calendar-token"), 201)["url"]).path
    v.secrets.append(feed.rsplit("/", 1)[1].removesuffix(".ics"))
    expect(anon.get(feed), 200)
    expect(admin.get(f"/v1/courses/{cid}/fhir"), 200)
    assert v.canary("Given") in expect(admin.get(f"/v1/courses/{cid}/handout"), 200)
    expect(admin.get(f"/v1/courses/{cid}/summary"), 200)
    expect(admin.get("/v1/sessions", params={"patient_id": pid, "from": v.today().isoformat()}), 200)
    assert expect(admin.get("/v1/reminders", params={"patient_id": pid}), 200)["items"]
    trail = expect(admin.get("/v1/audit-events", params={"entity_type": "patient", "entity_id": pid}), 200)
    assert v.canary.tag in json.dumps(trail["items"]), "the audit trail holds the canaries (before/after)"
    cursor, events = None, 0
    for _ in range(200):  # the sync feed, to its end
        page = expect(admin.get("/v1/audit-events", params={"limit": 25} | ({"after": cursor} if cursor else {})), 200)
        events, cursor = events + len(page["items"]), page["next_cursor"]
        if not page["items"]:
            break
    assert events > 10


def dispatch_over_http(v: Visit, robot: httpx.Client, hook: WebhookReceiver) -> None:
    """One pass by a dispatcher key; the webhook refuses the first message, echoing the canaries back."""
    make_due(v.database)
    hook.reply(Reply(500, {"error": f"no such subscriber {v.canary('Given')} {v.canary.phone}"}))
    summary = expect(robot.post("/v1/reminders/dispatch", json={}), 200)
    assert summary["retried"] == 1 and summary["sent"] >= 1, summary
    delivered = [request.json() for request in hook.requests if request.status == 200]
    assert all(d["to"] == v.canary.phone for d in delivered)
    assert any(v.canary("Given") in d["body"] for d in delivered), "the messages carry the canary name"


def fail_in_every_way(v: Visit, admin: httpx.Client, desk: httpx.Client, robot: httpx.Client) -> None:
    """401, 403, 404, 409, 422: each request carrying canaries in its query or body."""
    c, pid, nobody = v.canary, v.ids["patient"], str(uuid.uuid4())
    with v.client(key=f"prolo_{c('Key')}") as stranger, v.client() as keyless:
        expect(stranger.get("/v1/patients", params={"q": c("Family")}), 401)
        expect(keyless.get("/v1/patients", params={"q": c.phone}), 401)
        expect(keyless.post("/v1/patients", json={"given_name": c("Given")}), 401)
    expect(robot.get("/v1/patients", params={"q": c("Given")}), 403)
    expect(desk.get("/v1/audit-events", params={"entity_id": pid}), 403)
    expect(desk.post("/v1/reminders/dispatch", json={}), 403)
    expect(admin.get(f"/v1/patients/{nobody}"), 404)
    expect(admin.patch(f"/v1/patients/{nobody}", json={"allergies": [c("Allergy")]}), 404)
    expect(admin.post(f"/v1/sessions/{nobody}/cancel", json={"reason": c("Cancel")}), 404)
    expect(admin.get(f"/v1/courses/{nobody}/handout"), 404)
    expect(admin.post(f"/v1/courses/{nobody}/hold", json={"reason": c("Hold")}), 404)
    order = {"patient_id": pid, "practitioner_id": nobody, "start_date": v.today().isoformat()}
    expect(admin.post("/v1/courses", json=order | {"condition": c("Condition")}), 404)
    bad_patients: list[dict[str, Any]] = [
        {"given_name": c("Given"), "family_name": c("Family"), "email": f"canary-{c.tag}-at-example.org"},
        {"given_name": c("Given"), "phone": f"+49 30 {c.tag}", "allergies": [c("Allergy")]},
        {"mrn": c("Mrn2"), "given_name": c("Given"), "family_name": c("Family"), "date_of_birth": c("Born")},
        {"mrn": c("Mrn3"), "given_name": c("Given") * 20, "family_name": c("Family"), "date_of_birth": "1971-04-09"},
    ]
    for body in bad_patients:
        expect(admin.post("/v1/patients", json=body), 422)
    expect(admin.patch(f"/v1/patients/{pid}", json={"email": f"{c.tag}@", "phone": c("Phone")}), 422)
    expect(admin.patch(f"/v1/patients/{pid}", json={"medications": c("Medication")}), 422)
    as_json, cut_short = {"Content-Type": "application/json"}, f'{{"given_name": "{c("Given")}", "notes": '
    for not_json, headers in ((f"given_name={c('Given')}&phone={c.phone}", as_json), (cut_short, as_json)):
        expect(admin.post("/v1/patients", content=not_json, headers=headers), 422)
    expect(admin.post("/v1/patients", content=c("Notes"), headers={"Content-Type": "text/plain"}), 422)
    expect(admin.post("/v1/courses", json=order | {"condition": c("Condition") * 30}), 422)
    expect(admin.get("/v1/patients", params={"q": c("Given") + "\x00"}), 422)  # refused at the door (S2)
    expect(admin.get("/v1/patients", params={"q": c("Given") * 10}), 422)
    expect(admin.get("/v1/audit-events", params={"after": c("Cursor")}), 422)
    first = expect(admin.get("/v1/sessions", params={"patient_id": pid, "status": "completed"}), 200)["items"][0]
    unknown_field = {"injections": [{"site": c("Site"), "injectate": "x", "volume_ml": 5}], c("Field"): c("Notes")}
    expect(admin.post(f"/v1/sessions/{first['id']}/complete", json=unknown_field | {"pain_before": 6}), 422)


def hold_the_database(v: Visit, admin: httpx.Client) -> None:
    """503: another connection holds the database; the requests carry canaries and must wait no longer than 2 s."""
    c, pid = v.canary, v.ids["patient"]
    order = {"patient_id": pid, "practitioner_id": v.ids["practitioner"], "condition": c("Condition")}
    order |= {"start_date": (v.today() + timedelta(days=60)).isoformat()}
    with another_writer(v.database, ("practitioner", v.ids["practitioner"]), ("patient", pid)):
        expect(admin.patch(f"/v1/patients/{pid}", json={"allergies": [c("Busy")], "email": c.email}), 503)
        expect(admin.post("/v1/courses", json=order), 503)
    expect(admin.get(f"/v1/patients/{pid}"), 200)  # and the server recovers


def break_a_row(v: Visit, admin: httpx.Client) -> None:
    """500: a row today's schema refuses (written by hand, or by an older version) fails every answer holding it.

    uvicorn closes the connection after an unhandled error, so each such request has a client of its own.
    """
    c = v.canary
    twin = {"mrn": c("Mrn4"), "given_name": c("Given"), "family_name": c("Family"), "date_of_birth": "1971-04-09"}
    twin_id = expect(admin.post("/v1/patients", json=twin), 201)["id"]
    broken = update(table_of(Patient)).where(col(Patient.id) == uuid.UUID(twin_id)).values(medications=c("Medication"))
    with v.database.engine.begin() as conn:
        conn.execute(broken)  # a JSON string where a list belongs
    with v.client(Role.admin) as once:
        expect(once.get(f"/v1/patients/{twin_id}"), 500)
    with v.client(Role.admin) as once:
        expect(once.get("/v1/patients", params={"q": c("Mrn4")}), 500)


def dispatch_from_cron(v: Visit, hook: WebhookReceiver, workdir: Path) -> str:
    """`prolo reminders dispatch`, as cron runs it: the retried message, refused for good this time."""
    make_due(v.database)
    hook.reply(Reply(400, {"error": f"unknown number {v.canary.phone} for {v.canary('Family')}"}))
    prolo = str(Path(sys.executable).with_name("prolo"))
    ran = subprocess.run(
        [prolo, "reminders", "dispatch"],
        env=prolo_env(v.database, hook),
        cwd=workdir,
        capture_output=True,
        timeout=REQUEST_TIMEOUT_SECONDS,
        check=False,
    )
    output = f"{ran.stdout.decode(errors='replace')}\n{ran.stderr.decode(errors='replace')}"
    assert ran.returncode == 0, output
    assert "failed=1" in ran.stdout.decode(), output
    assert "not delivered (permanent)" in ran.stderr.decode(), "the failure's log line is captured"
    return output


def test_s7_no_canary_reaches_any_log_line(
    served: LiveApi, clean_db: Database, hook: WebhookReceiver, tmp_path: Path
) -> None:
    v = Visit(served, clean_db, make_canary(), ZoneInfo(zone_where_it_is_morning(datetime.now(UTC))))
    with v.client(Role.admin) as admin, v.client() as anon:
        set_up_clinic(v, admin)
        register_find_and_change(v, admin)
        walk_the_course(v, admin)
        read_everything(v, admin, anon)
        with v.client(Role.dispatcher) as robot, v.client(Role.frontdesk) as desk:
            dispatch_over_http(v, robot, hook)
            fail_in_every_way(v, admin, desk, robot)
        hold_the_database(v, admin)
        break_a_row(v, admin)
    cron = dispatch_from_cron(v, hook, tmp_path)
    served.server.stop()  # every line written and flushed
    outputs = {"server stdout": served.server.stdout(), "server stderr": served.server.stderr(), "cron": cron}

    # The capture captures: an access line for every request made, and the application's own lines.
    lines = [(name, line) for name, text in outputs.items() for line in text.splitlines()]
    access = [m for m in (ACCESS_LINE.search(line) for name, line in lines if name != "cron") if m]
    logged = Counter((m["method"], m["path"], int(m["status"])) for m in access)
    assert not v.traffic.seen - logged, f"requests without an access line: {v.traffic.seen - logged}"
    assert {status for _, _, status in v.traffic.seen} >= {200, 201, 401, 403, 404, 409, 412, 422, 500, 503}
    server_err = outputs["server stderr"]
    assert "database unavailable" in server_err or "turned away" in server_err, server_err  # the 503s
    assert "unexpected error" in server_err and "Exception in ASGI application" in server_err  # the 500s

    assert not [m.group(0) for m in access if "?" in m["path"]], "an access line holds a query string"
    needles = (*v.canary.needles(), *v.secrets)
    leaks = [f"{name}: {line}" for name, line in lines if any(needle in line for needle in needles)]
    assert not leaks, "patient data or secrets in the logs:\n" + "\n".join(leaks)
