"""Patients' texts on a live `prolo serve` (R29–R33): signed as Twilio and as a clinic's own gateway would sign
them, ten deliveries of one message at once, STOP end to end through a real local SMS webhook, and no text or
number of a patient in any log line, whatever the request and however it ends."""

import json
import random
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import phonenumbers
import pytest
from sqlalchemy import select, text, update
from sqlmodel import col

from api.notify.sms import signature
from models import Reminder, Role
from models.base import table_of
from tests.api.helpers import patient, practitioner
from tests.api.inbound_sending import SECRET, TWILIO_TOKEN, post_prolo, post_twilio, prolo_payload, twilio_form
from tests.conftest import Database, another_writer, make_key
from tests.system.conftest import REPO, REQUEST_TIMEOUT_SECONDS, LiveApi, served_env, start_server
from tests.system.receivers import WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.system

TWILIO_URL = "https://prolo.example.org/v1/inbound/sms"  # as configured at Twilio: a TLS proxy stands in front


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with webhook_receiver(SECRET) as receiver:
        yield receiver


def serve(database: Database, hook: WebhookReceiver, tmp_path: Path, **env: str) -> LiveApi:
    """`prolo serve` (production logging) with SMS out through `hook` and texts in from the provider in `env`."""
    admin_key = make_key(database.engine, Role.admin, "inbound test admin")
    values = served_env(
        database.url, sms_webhook_url=hook.url, sms_webhook_secret=SECRET, PROLO_CLINIC_TIMEZONE="Europe/Berlin", **env
    )
    prolo = str(Path(sys.executable).with_name("prolo"))
    server = start_server([prolo, "serve", "--host", "127.0.0.1"], env=values, cwd=tmp_path, logs=tmp_path / "logs")
    return LiveApi(server=server, admin_key=admin_key)


@pytest.fixture
def prolo_api(clean_db: Database, hook: WebhookReceiver, tmp_path: Path) -> Iterator[LiveApi]:
    api = serve(clean_db, hook, tmp_path, PROLO_INBOUND_SMS_PROVIDER="prolo", PROLO_DB_WAIT_SECONDS="2")
    try:
        yield api
    finally:
        api.server.stop()


@pytest.fixture
def twilio_api(clean_db: Database, hook: WebhookReceiver, tmp_path: Path) -> Iterator[LiveApi]:
    api = serve(
        clean_db,
        hook,
        tmp_path,
        PROLO_INBOUND_SMS_PROVIDER="twilio",
        PROLO_INBOUND_SMS_URL=TWILIO_URL,
        PROLO_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
    )
    try:
        yield api
    finally:
        api.server.stop()


def a_phone() -> str:
    while True:
        phone = f"+4930{random.randrange(10**7, 10**8)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(phone)):
            return phone


def booked(http: httpx.Client, phone: str, *, weeks_ahead: int = 4, **fields: Any) -> dict[str, Any]:
    """An SMS patient's course starting on a Monday some weeks ahead (the live server runs on the real clock)."""
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    monday = today + timedelta(weeks=weeks_ahead, days=-today.weekday())
    pat = fields.pop("patient", None) or patient(
        http, phone=phone, reminder_channel="sms", reminder_consent=True, given_name="Rosa"
    )
    prac = practitioner(http, name=f"Dr. {uuid.uuid4().hex[:6]}")
    body = {"patient_id": pat["id"], "practitioner_id": prac["id"], "start_date": monday.isoformat(), **fields}
    answer = http.post("/v1/courses", json={"preferred_time": "10:00", "condition": "knee", **body})
    assert answer.status_code == 201, answer.text
    course: dict[str, Any] = answer.json()
    return course


def first_reminder_due_now(database: Database, patient_id: str) -> None:
    """The server plans reminders for later only: bring the patient's first appointment SMS to now."""
    now = datetime.now(UTC)
    reminder = table_of(Reminder)
    with database.engine.begin() as conn:
        first = conn.execute(
            select(reminder.c.id)
            .where(
                reminder.c.patient_id == uuid.UUID(patient_id),
                reminder.c.kind == "appointment",
                reminder.c.status == "pending",
            )
            .order_by(reminder.c.due_at)
            .limit(1)
        ).scalar_one()
        values = {"due_at": now - timedelta(minutes=1), "next_attempt_at": None}
        conn.execute(update(reminder).where(col(Reminder.id) == first).values(values))


def dispatch(http: httpx.Client) -> dict[str, Any]:
    summary: dict[str, Any] = http.post("/v1/reminders/dispatch", json={}).json()
    return summary


def sms_of(http: httpx.Client, patient_id: str, status: str) -> list[dict[str, Any]]:
    items = http.get("/v1/reminders", params={"patient_id": patient_id, "status": status, "limit": 500}).json()
    return [r for r in items["items"] if r["channel"] == "sms"]


def test_r29_a_form_signed_as_twilio_signs_it_passes_on_a_live_server(twilio_api: LiveApi) -> None:
    with twilio_api.client() as http:
        answer = post_twilio(http, TWILIO_URL, twilio_form("HELP", a_phone()))
        assert answer.status_code == 200, answer.text
        assert (answer.headers["content-type"].split(";")[0], answer.text) == ("text/xml", "<Response/>")
        # signed for the address the request really came to, as a proxy-unaware check would want: refused
        own = post_twilio(http, f"{twilio_api.base_url}/v1/inbound/sms", twilio_form("HELP", a_phone()))
        assert own.status_code == 403
        assert post_twilio(http, TWILIO_URL, twilio_form("HELP", a_phone()), token="another").status_code == 403
        assert http.get("/v1/inbound-messages").json()["total"] == 1


def test_r29_json_signed_by_the_clinics_gateway_passes_on_a_live_server(prolo_api: LiveApi) -> None:
    with prolo_api.client() as http:
        answer = post_prolo(http, "HELP", a_phone())
        assert answer.status_code == 200, answer.text
        assert answer.json()["intent"] == "help"
        (message,) = http.get("/v1/inbound-messages").json()["items"]
        assert (message["id"], message["provider"]) == (answer.json()["id"], "prolo")


def test_r30_ten_deliveries_of_one_message_at_once_have_one_effect(
    prolo_api: LiveApi, clean_db: Database, hook: WebhookReceiver
) -> None:
    phone = a_phone()
    with prolo_api.client() as http:
        course = booked(http, phone)
        first_reminder_due_now(clean_db, course["patient_id"])
        assert dispatch(http)["sent"] == 1  # the open prompt, through the webhook
    raw = prolo_payload("C", phone, message_id="gateway-retry-7")
    barrier = threading.Barrier(10)
    answers: list[httpx.Response] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            with httpx.Client(base_url=prolo_api.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as provider:
                provider.get("/healthz")  # the connection is open before the start line
                barrier.wait(timeout=REQUEST_TIMEOUT_SECONDS)
                headers = {"Content-Type": "application/json", "Prolo-Signature": _signature(raw)}
                answers.append(provider.post("/v1/inbound/sms", content=raw, headers=headers))
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * REQUEST_TIMEOUT_SECONDS)
    assert not errors, errors
    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    with prolo_api.client() as http:
        assert http.get("/v1/inbound-messages").json()["total"] == 1
        first = course["sessions"][0]
        assert http.get(f"/v1/sessions/{first['id']}").json()["status"] == "confirmed"
        with clean_db.engine.connect() as conn:  # the table itself: the feed may hold back events (audit.py)
            roles = conn.execute(
                text("SELECT actor_role FROM audit_event WHERE entity_id = :id"), {"id": first["id"]}
            ).scalars()
            assert list(roles).count("patient_sms") == 1
        replies = http.get("/v1/reminders", params={"kind": "sms_reply"}).json()["items"]
        assert len(replies) == 1
        assert dispatch(http)["sent"] == 1
    assert [d[0]["kind"] for key, d in hook.deliveries.items()].count("sms_reply") == 1


def _signature(raw: bytes) -> str:
    return signature(SECRET, raw)


def test_r33_stop_end_to_end_through_the_sms_webhook(
    prolo_api: LiveApi, clean_db: Database, hook: WebhookReceiver
) -> None:
    phone = a_phone()
    with prolo_api.client() as http:
        course = booked(http, phone)
        patient_id = course["patient_id"]
        first_reminder_due_now(clean_db, patient_id)
        assert dispatch(http)["sent"] == 1
        (prompt,) = hook.deliveries.values()
        assert prompt[0]["to"] == phone and prompt[0]["kind"] == "appointment"
        waiting = sms_of(http, patient_id, "pending")
        assert waiting

        stop = post_prolo(http, "STOP", phone)
        assert stop.status_code == 200 and stop.json()["outcome"] == "applied"
        # every pending SMS to the number: skipped, in the same transaction, but the one confirmation
        pending = sms_of(http, patient_id, "pending")
        assert [r["kind"] for r in pending] == ["sms_reply"]
        skipped = {r["id"] for r in sms_of(http, patient_id, "skipped") if r["reason"] == "sms_opted_out"}
        assert {r["id"] for r in waiting} <= skipped
        staff = http.get("/v1/reminders", params={"kind": "reply_review", "status": "ready"}).json()["items"]
        assert [(i["reason"], i["inbound_message_id"]) for i in staff] == [("sms_opted_out", stop.json()["id"])]
        assert "Rosa Keller" in staff[0]["body"]

        # a later booking plans its texts skipped
        pat = http.get(f"/v1/patients/{patient_id}").json()
        later = booked(http, phone, weeks_ahead=12, patient=pat)
        later_ids = {s["id"] for s in later["sessions"]}
        assert not [r for r in sms_of(http, patient_id, "pending") if r["session_id"] in later_ids]
        assert [r for r in sms_of(http, patient_id, "skipped") if r["session_id"] in later_ids]

        # the dispatcher sends the confirmation, the number's last text, and nothing else
        assert dispatch(http)["sent"] == 1
        last = [d[0] for d in hook.deliveries.values() if d[0]["kind"] == "sms_reply"]
        assert len(last) == 1 and last[0]["to"] == phone and "START" in last[0]["body"]

        start = post_prolo(http, "START", phone)
        assert start.status_code == 200 and start.json()["intent"] == "opt_in"
        assert {r["session_id"] for r in sms_of(http, patient_id, "pending")} >= later_ids
        assert http.get("/v1/sms-opt-outs").json()["total"] == 0


def test_canary_no_text_or_number_of_a_patient_reaches_a_log(
    prolo_api: LiveApi, clean_db: Database, hook: WebhookReceiver
) -> None:
    """R29: texts and numbers never reach a log, on any path: refused signatures, too big, not JSON, unknown
    sender, a busy database (503), a known patient's text answered through the webhook, opt-outs by staff."""
    tag = uuid.uuid4().hex[:12]
    phone, stranger = a_phone(), a_phone()
    text = f"Canary{tag} my knee is worse"
    statuses: list[int] = []
    with prolo_api.client() as http:
        course = booked(http, phone)
        first_reminder_due_now(clean_db, course["patient_id"])
        dispatch(http)
        raw = prolo_payload(text, phone, message_id=f"canary-{tag}")
        bad = {"Content-Type": "application/json", "Prolo-Signature": "sha256=" + "0" * 64}
        statuses.append(http.post("/v1/inbound/sms", content=raw, headers=bad).status_code)  # 403
        huge = prolo_payload(text * 600, phone)
        statuses.append(post_raw(http, huge).status_code)  # 413
        statuses.append(post_raw(http, f"Canary{tag} {phone} not json".encode()).status_code)  # 422
        statuses.append(post_raw(http, b'{"message_id": 5, "from": "' + phone.encode() + b'"}').status_code)  # 422
        with another_writer(clean_db, ("patient", course["patient_id"])):
            statuses.append(post_prolo(http, text, stranger).status_code)  # 503 on SQLite: the write lock is held
        statuses.append(post_prolo(http, text, stranger).status_code)  # unknown sender
        statuses.append(post_prolo(http, text, phone).status_code)  # unclear: a staff item and an answer
        statuses.append(post_prolo(http, "STOP", phone).status_code)
        statuses.append(http.delete(f"/v1/sms-opt-outs/{phone}", params={"source_note": f"Canary{tag}"}).status_code)
        statuses.append(http.post("/v1/sms-opt-outs", json={"number": stranger, "source_note": "x"}).status_code)
        statuses.append(http.get(f"/v1/sms-opt-outs/{phone}").status_code)  # no such route: 404 or 405
        dispatch(http)
    assert {403, 413, 422, 200, 204, 201} <= set(statuses), statuses
    if clean_db.engine.dialect.name == "sqlite":  # the write lock held: nothing stored, try again (R30)
        assert 503 in statuses, statuses
    assert hook.deliveries, "the answers went out through the webhook"
    prolo_api.server.stop()
    logs = f"{prolo_api.server.stdout()}\n{prolo_api.server.stderr()}"
    assert "/v1/inbound/sms" in logs, "the capture captures"
    needles = (tag, phone, phone[-8:], stranger, stranger[-8:], "knee is worse")
    leaks = [line for line in logs.splitlines() if any(needle in line for needle in needles)]
    assert not leaks, "a patient's text or number in the logs:\n" + "\n".join(leaks)


def post_raw(http: httpx.Client, raw: bytes) -> httpx.Response:
    """A body signed right, whatever it holds: it gets past the door to the parser."""
    headers = {"Content-Type": "application/json", "Prolo-Signature": _signature(raw)}
    return http.post("/v1/inbound/sms", content=raw, headers=headers)


README_BLOCK = "<!-- tests/system/test_inbound_live.py runs this block against a live server -->\n```console\n"


def test_readme_signs_and_posts_a_reply_that_confirms_the_session(
    prolo_api: LiveApi, clean_db: Database, hook: WebhookReceiver
) -> None:
    """The README's few lines of Python, run as printed (only the port and the secret are this test's own)."""
    block = (REPO / "README.md").read_text().split(README_BLOCK, 1)[1].split("```", 1)[0]
    script = block.replace("http://127.0.0.1:8000", prolo_api.base_url).replace('b"change-me"', f'b"{SECRET}"')
    with prolo_api.client() as http:
        course = booked(http, "+493012345678")
        first_reminder_due_now(clean_db, course["patient_id"])
        assert dispatch(http)["sent"] == 1
        ran = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, timeout=60, check=False)
        assert ran.returncode == 0, ran.stderr.decode()
        answer = json.loads(ran.stdout)
        assert (answer["intent"], answer["outcome"]) == ("confirm", "applied")
        assert http.get(f"/v1/sessions/{course['sessions'][0]['id']}").json()["status"] == "confirmed"
        (reply,) = http.get("/v1/reminders", params={"kind": "sms_reply"}).json()["items"]
        assert reply["status"] == "pending"
        again = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, timeout=60, check=False)
        assert json.loads(again.stdout) == answer  # the same body again changes nothing
