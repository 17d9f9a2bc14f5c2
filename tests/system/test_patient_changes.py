"""A patient who changes follows into their reminders (R18, R19): where every message went, after each change.

A real SMTP server and a real SMS webhook receive what the dispatcher sends. One
booked session plans five patient messages (48 h and 2 h before, NSAIDs from …,
exercises, NSAIDs again from …) and a staff follow-up; the patient changes one
thing before each of them falls due, and each message must go to the address, on
the channel and with the name the patient has at that moment, or not at all.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from api.web.app import create_app
from models import Role
from tests.api.helpers import OLD_REMINDERS, book, clinic_settings, patient, practitioner
from tests.conftest import Clock, Database, make_key
from tests.system.receivers import SmtpReceiver, WebhookReceiver, smtp_receiver, webhook_receiver

pytestmark = pytest.mark.system

SECRET = "webhook-secret-for-tests"
OLD_PHONE, NEW_PHONE = "+4915112345678", "+4917098765432"
OLD_EMAIL, NEW_EMAIL = "maria@example.org", "maria.keller@example.net"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The webhook channel honours HTTP(S)_PROXY like any urllib client; the receiver here is local."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with smtp_receiver() as receiver:
        yield receiver


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with webhook_receiver(SECRET) as receiver:
        yield receiver


@pytest.fixture
def api(clean_db: Database, clock: Clock, smtp: SmtpReceiver, hook: WebhookReceiver) -> Iterator[TestClient]:
    settings = Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        api_key_cache_seconds=0,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
        smtp_from="clinic@example.org",
        sms_webhook_url=hook.url,
        sms_webhook_secret=SECRET,
    )
    with TestClient(create_app(settings, engine=clean_db.engine, clock=clock)) as client:
        client.headers["Authorization"] = f"Bearer {make_key(clean_db.engine, Role.admin)}"
        yield client


def at(clock: Clock, iso: str) -> None:
    clock.now = datetime.fromisoformat(iso).astimezone(UTC)


def change(api: TestClient, patient_id: str, **fields: Any) -> None:
    answer = api.patch(f"/v1/patients/{patient_id}", json=fields)
    assert answer.status_code == 200, answer.text


def dispatch(api: TestClient) -> dict[str, int]:
    answer = api.post("/v1/reminders/dispatch", json={})
    assert answer.status_code == 200, answer.text
    summary: dict[str, int] = answer.json()
    return summary


def texts(hook: WebhookReceiver) -> list[tuple[str, str]]:
    return [(p["to"], p["body"]) for payloads in hook.deliveries.values() for p in payloads]


def mails(smtp: SmtpReceiver) -> list[tuple[tuple[str, ...], str]]:
    return [(m.rcpt_tos, m.message.get_content()) for m in smtp.mails]


def reminders(api: TestClient, patient_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/v1/reminders", params={"patient_id": patient_id, "limit": 500}).json()[
        "items"
    ]
    return items


def test_r19_each_message_goes_where_and_to_whom_the_patient_is_at_that_moment(
    api: TestClient, clock: Clock, smtp: SmtpReceiver, hook: WebhookReceiver
) -> None:
    # each message on its own, as before R35/R38: this is about where each one goes
    clinic_settings(api, **OLD_REMINDERS)
    pat = patient(
        api, phone=OLD_PHONE, email=OLD_EMAIL, reminder_channel="sms", reminder_consent=True, given_name="Maria"
    )
    book(api, pat, practitioner(api), session_count=1)  # Mon 1 Mar 2027 09:00 Berlin

    # a new phone number: the 48 h reminder (Sat 27 Feb 09:00) texts the new one, never the old one
    change(api, pat["id"], phone=NEW_PHONE)
    at(clock, "2027-02-27T09:01:00+01:00")
    assert dispatch(api)["sent"] == 1
    assert [to for to, _ in texts(hook)] == [NEW_PHONE]

    # email instead of SMS: the 2 h reminder (08:00, out of quiet hours) is an email to the address on file
    change(api, pat["id"], reminder_channel="email")
    at(clock, "2027-03-01T08:01:00+01:00")
    assert dispatch(api)["sent"] == 1
    assert [to for to, _ in mails(smtp)] == [(OLD_EMAIL,)]

    # a new email address: "avoid NSAIDs" (09:00 the same day) goes there
    change(api, pat["id"], email=NEW_EMAIL)
    at(clock, "2027-03-01T09:01:00+01:00")
    assert dispatch(api)["sent"] == 1
    assert mails(smtp)[-1][0] == (NEW_EMAIL,)

    # a new given name, changed a minute after the exercise reminder (Wed 3 Mar 09:00) fell due and before any
    # dispatcher sent it: it still goes, and greets her by the new name
    at(clock, "2027-03-03T09:00:30+01:00")
    change(api, pat["id"], given_name="Mia")
    assert dispatch(api)["sent"] == 1
    (to, body) = mails(smtp)[-1]
    assert to == (NEW_EMAIL,) and body.startswith("Hello Mia,") and "Maria" not in body

    # consent withdrawn: "you may take NSAIDs again" (Sat 6 Mar) is skipped with the reason, and nothing goes
    change(api, pat["id"], reminder_consent=False)
    at(clock, "2027-03-06T09:01:00+01:00")
    summary = dispatch(api)
    assert summary["sent"] == 0
    assert len(mails(smtp)) == 3 and len(texts(hook)) == 1
    last = next(r for r in reminders(api, pat["id"]) if r["kind"] == "aftercare_end")
    assert (last["status"], last["reason"]) == ("skipped", "no_consent")

    # where every message went, in the end: nothing ever reached the old phone or the old address after the change
    assert OLD_PHONE not in {to for to, _ in texts(hook)}
    assert [to for to, _ in mails(smtp)] == [(OLD_EMAIL,), (NEW_EMAIL,), (NEW_EMAIL,)]
    sent = sorted((r["due_at"], r["channel"]) for r in reminders(api, pat["id"]) if r["status"] == "sent")
    assert [channel for _, channel in sent] == ["sms", "email", "email", "email"]


def test_r18_an_archived_patient_gets_no_message_and_the_staff_still_call(
    api: TestClient, clock: Clock, smtp: SmtpReceiver, hook: WebhookReceiver
) -> None:
    pat = patient(api, phone=OLD_PHONE, reminder_channel="sms", reminder_consent=True)
    book(api, pat, practitioner(api), session_count=1)
    assert api.post(f"/v1/patients/{pat['id']}/archive").status_code == 200

    mine = reminders(api, pat["id"])
    patient_side = [r for r in mine if r["audience"] == "patient"]
    assert len(patient_side) == 6  # with the confirm request (R35); skipped ones ride with nobody (R38)
    assert {(r["status"], r["reason"]) for r in patient_side} == {("skipped", "patient_archived")}
    at(clock, "2027-03-04T09:01:00+01:00")  # four messages' time has come, and the staff's follow-up call
    assert dispatch(api)["ready"] == 1
    # the follow-up call after the injection is the staff's, in the outbox: archiving does not undo an injection
    assert [(r["kind"], r["status"]) for r in reminders(api, pat["id"]) if r["audience"] == "clinic"] == [
        ("follow_up", "ready")
    ]
    at(clock, "2027-03-06T09:01:00+01:00")  # and the last one's
    assert dispatch(api)["sent"] == 0
    assert texts(hook) == [] and smtp.mails == []
