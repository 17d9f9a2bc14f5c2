"""The patient's side of a waitlist offer against a real `prolo serve` (R43, R44), on SQLite and, with
PROLO_TEST_DATABASE_URL, PostgreSQL.

The server runs as in production, its links naming the address it serves on,
and its SMS going out through a local webhook receiver, so each message is read as a patient's phone would
receive it. The patients are plain HTTP clients without a key. The server's clock is the real one, so the
courses run early next year; quiet hours are moved away from now, as an offer never goes out in them.
"""

import itertools
import re
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from models import Role
from tests.api.patient_page_reading import page_text
from tests.conftest import Database, make_key
from tests.system.conftest import REQUEST_TIMEOUT_SECONDS, SMS_SECRET, LiveApi, served_env, start_server
from tests.system.receivers import WebhookReceiver, webhook_receiver
from tests.system.test_reschedule_race import at_local, created, next_year_monday

pytestmark = pytest.mark.system

ZONE = ZoneInfo("Europe/Berlin")
_LINK = re.compile(r"(https?://[^\s/]+)(/p/[A-Za-z0-9_-]{22})")
_phones = itertools.count(200)


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with webhook_receiver(SMS_SECRET) as receiver:
        yield receiver


@pytest.fixture
def prolo(clean_db: Database, hook: WebhookReceiver, tmp_path: Path) -> Iterator[LiveApi]:
    """`prolo serve`, its SMS out through `hook`."""
    admin_key = make_key(clean_db.engine, Role.admin, "offer test admin")
    env = served_env(
        clean_db.url, sms_webhook_url=hook.url, sms_webhook_secret=SMS_SECRET, PROLO_CLINIC_TIMEZONE="Europe/Berlin"
    )
    command = [str(Path(sys.executable).with_name("prolo")), "serve", "--host", "127.0.0.1"]
    server = start_server(command, env=env, cwd=tmp_path, logs=tmp_path / "logs")
    try:
        yield LiveApi(server=server, admin_key=admin_key)
    finally:
        server.stop()


def clinic(http: httpx.Client, **changes: Any) -> None:
    """The clinic's settings with `changes`, and quiet hours (R17) twelve hours away from now."""
    away = datetime.now(ZONE) + timedelta(hours=12)
    quiet = {"start": f"{away:%H}:00", "end": f"{(away + timedelta(hours=1)):%H}:00"}
    current = http.get("/v1/clinic").json()
    answer = http.put("/v1/clinic", json={**current, "quiet_hours": quiet, "phone": "+49 30 5550100", **changes})
    assert answer.status_code == 200, answer.text


def waiting(http: httpx.Client, prac: str, times: list[str]) -> list[dict[str, Any]]:
    """A patient on SMS per time, each with a course from next year's first February Monday at that time,
    waiting for its session 3 earlier."""
    entries = []
    for clock in times:
        patient = created(
            http.post(
                "/v1/patients",
                json={
                    "mrn": f"OFFER-{uuid.uuid4().hex[:12]}",
                    "given_name": "Maria",
                    "family_name": "CanarySurname",
                    "date_of_birth": "1970-01-01",
                    "phone": f"+4930555{next(_phones):04d}",
                    "reminder_channel": "sms",
                    "reminder_consent": True,
                },
            )
        )
        course = {
            "patient_id": patient["id"],
            "practitioner_id": prac,
            "start_date": next_year_monday().isoformat(),
            "preferred_time": clock,
            "condition": "CanaryCondition",
        }
        booked = created(http.post("/v1/courses", json=course))
        entry = created(http.post("/v1/waitlist", json={"session_id": booked["sessions"][2]["id"]}))
        entries.append({**entry, "phone": patient["phone"], "third": booked["sessions"][2]})
    return entries


def friday(prac: str, clock: str = "15:00") -> dict[str, str]:
    """The Friday before session 3: inside its R3 window, so taking it moves nothing else."""
    start = at_local(next_year_monday() + timedelta(days=25), clock)
    return {"practitioner_id": prac, "start": start.isoformat(), "end": (start + timedelta(minutes=45)).isoformat()}


def offer_texts(hook: WebhookReceiver) -> dict[str, str]:
    """The `waitlist_offer` texts the webhook received, by the number they went to."""
    with hook.lock:
        payloads = [p for sent in hook.deliveries.values() for p in sent if p["kind"] == "waitlist_offer"]
    return {p["to"]: p["body"] for p in payloads}


def test_r44_an_auto_offer_reaches_three_patients_by_sms_and_the_first_accept_on_a_page_wins(
    prolo: LiveApi, hook: WebhookReceiver
) -> None:
    with prolo.client() as staff:
        clinic(staff, waitlist={"mode": "auto", "batch_size": 3, "settle_minutes": 0})
        prac = created(staff.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}))["id"]
        entries = waiting(staff, prac, ["09:00", "10:00", "11:00"])
        opening = created(staff.post("/v1/waitlist/openings", json=friday(prac)))
        summary = staff.post("/v1/reminders/dispatch", json={}).json()
        assert (summary["openings_settled"], summary["offers_made"]) == (1, 3), summary
    texts = offer_texts(hook)
    assert sorted(texts) == sorted(e["phone"] for e in entries)  # each patient's own message
    links = {}
    for number, body in texts.items():
        [(origin, path)] = _LINK.findall(body)
        assert origin == prolo.base_url and "First to accept gets it" in body and "Canary" not in body
        links[number] = path
    assert len(set(links.values())) == 3
    first, second, _ = (links[e["phone"]] for e in entries)
    with httpx.Client(base_url=prolo.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as phone:
        for path in (first, second):  # two patients open their pages
            page = phone.get(path)
            assert page.status_code == 200 and "an earlier time is free for your session 3" in page_text(page.text)
            assert "Canary" not in page.text
        won = phone.post(f"{first}/accept")
        assert won.status_code == 303, won.text
        booked = phone.get(won.headers["location"])
        assert "your session is booked at the new time" in page_text(booked.text)
        late_page = phone.get(second)
        late = phone.post(f"{second}/accept")
    assert late_page.status_code == 200 and late.status_code == 409
    for answer in (late_page, late):
        assert "This offer has ended Your booking is unchanged." in page_text(answer.text)
    with prolo.client() as staff:
        moved = staff.get(f"/v1/sessions/{entries[0]['third']['id']}").json()
        assert datetime.fromisoformat(moved["start"]) == datetime.fromisoformat(friday(prac)["start"])
        assert staff.get(f"/v1/sessions/{entries[1]['third']['id']}").json() == entries[1]["third"]
        assert staff.get(f"/v1/waitlist/openings/{opening['id']}").json()["status"] == "filled"
        offers = staff.get("/v1/waitlist/offers", params={"opening_id": opening["id"]}).json()["items"]
        assert Counter(o["status"] for o in offers) == {"accepted": 1, "taken": 2}


def test_r44_eight_patients_accepting_on_their_pages_at_once_give_one_winner(
    prolo: LiveApi, hook: WebhookReceiver, clean_db: Database
) -> None:
    times = ["08:00", "08:45", "09:30", "10:15", "11:00", "11:45", "12:30", "13:15"]
    with prolo.client() as staff:
        clinic(staff)
        prac = created(staff.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}))["id"]
        entries = waiting(staff, prac, times)
        opening = created(staff.post("/v1/waitlist/openings", json=friday(prac)))
        made = staff.post(
            f"/v1/waitlist/openings/{opening['id']}/offers", json={"entry_ids": [e["id"] for e in entries]}
        )
        assert made.status_code == 201, made.text
        assert staff.post("/v1/reminders/dispatch", json={}).status_code == 200  # the offers go out
    paths = [_LINK.findall(offer_texts(hook)[e["phone"]])[0][1] for e in entries]
    barrier = threading.Barrier(len(paths))
    answers: list[int] = []

    def accept(path: str) -> None:
        with httpx.Client(base_url=prolo.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as phone:
            phone.get("/healthz")
            barrier.wait(timeout=REQUEST_TIMEOUT_SECONDS)
            answers.append(phone.post(f"{path}/accept").status_code)

    threads = [threading.Thread(target=accept, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * REQUEST_TIMEOUT_SECONDS)
    assert Counter(answers) == {303: 1, 409: 7}
    with prolo.client() as staff:
        offers = staff.get("/v1/waitlist/offers", params={"opening_id": opening["id"]}).json()["items"]
        assert Counter(o["status"] for o in offers) == {"accepted": 1, "taken": 7}
        start = datetime.fromisoformat(friday(prac)["start"]).astimezone(UTC)
        at_friday = staff.get("/v1/sessions", params={"practitioner_id": prac, "limit": 500}).json()["items"]
        assert [s["status"] for s in at_friday if datetime.fromisoformat(s["start"]) == start] == ["scheduled"]
