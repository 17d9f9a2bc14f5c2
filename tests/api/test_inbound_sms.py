"""Patients' SMS replies through the real app (R29–R34): one test per row of R32's table, and the senders
R31 sends to staff. The prompt is a real appointment reminder, sent by a dispatch pass."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from api.notify.sms import ChannelConfigError, signature
from api.settings import Settings
from api.web.app import create_app
from models import Reminder, Role
from models.base import table_of
from tests.api.helpers import book, patient, practitioner
from tests.api.inbound_sending import (
    OTHER_PHONE,
    PHONE,
    SECRET,
    TWILIO_TOKEN,
    post_prolo,
    post_twilio,
    prolo_payload,
    twilio_form,
)
from tests.conftest import Clock, Database, make_key

PROMPT_SENT = "2027-02-27T08:01:00+00:00"  # session 1 (Mon 1 Mar 09:00 Berlin): its 48 h reminder is due at 08:00Z
REPLY_AT = "2027-02-27T10:00:00+00:00"


@pytest.fixture
def settings(clean_db: Database) -> Settings:
    return Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        api_key_cache_seconds=0,
        inbound_sms_provider="prolo",
        public_url="https://prolo.example.org",
        sms_webhook_secret=SECRET,
    )


def at(clock: Clock, iso: str) -> None:
    clock.now = datetime.fromisoformat(iso).astimezone(UTC)


def sms_patient(client: TestClient, **fields: Any) -> dict[str, Any]:
    values = {"phone": PHONE, "reminder_channel": "sms", "reminder_consent": True, **fields}
    return patient(client, **values)


@pytest.fixture
def course(client: TestClient) -> dict[str, Any]:
    client.put("/v1/clinic", json={**_clinic(client), "phone": "+49 30 5550100"}).raise_for_status()
    return book(client, sms_patient(client), practitioner(client), session_count=3)


def _clinic(client: TestClient) -> dict[str, Any]:
    clinic: dict[str, Any] = client.get("/v1/clinic").json()
    return clinic


@pytest.fixture
def prompted(client: TestClient, clock: Clock, course: dict[str, Any]) -> dict[str, Any]:
    """The course after its first appointment reminder went out by SMS: the open prompt (R31)."""
    at(clock, PROMPT_SENT)
    assert client.post("/v1/reminders/dispatch", json={}).json()["sent"] >= 1
    at(clock, REPLY_AT)
    return course


def reminders(client: TestClient, **query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/reminders", params={"limit": 500, **query}).json()["items"]
    return items


def staff_items(client: TestClient, inbound_id: str) -> list[str]:
    items = reminders(client, kind="reply_review", inbound_message_id=inbound_id)
    assert all(i["status"] == "ready" and i["channel"] == "outbox" for i in items)
    return sorted(i["reason"] for i in items)


def answers(client: TestClient, inbound_id: str) -> list[dict[str, Any]]:
    return reminders(client, kind="sms_reply", inbound_message_id=inbound_id)


def reply(client: TestClient, text: str, sender: str = PHONE, message_id: str | None = None) -> dict[str, Any]:
    answer = post_prolo(client, text, sender, message_id)
    assert answer.status_code == 200, answer.text
    stored: dict[str, Any] = client.get(f"/v1/inbound-messages/{answer.json()['id']}").json()
    return stored


def session_status(client: TestClient, session: dict[str, Any]) -> str:
    status: str = client.get(f"/v1/sessions/{session['id']}").json()["status"]
    return status


def pending_sms(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    return [r for r in reminders(client, patient_id=patient_id, status="pending") if r["channel"] == "sms"]


def trail(database: Database, entity_id: str) -> list[dict[str, Any]]:
    """A row's audit events, read from the table: the feed on PostgreSQL holds back events while any other
    transaction older than them is open (api/store/audit.py), and other tests' may be."""
    query = text(
        "SELECT actor_id, actor_name, actor_role, before, after FROM audit_event WHERE entity_id = :id ORDER BY id"
    )
    with database.engine.connect() as conn:
        rows = conn.execute(query, {"id": entity_id}).all()
    return [
        {
            "actor": {"id": None if r.actor_id is None else str(uuid.UUID(str(r.actor_id))), "name": r.actor_name,
                      "role": r.actor_role},
            "before": _json(r.before),
            "after": _json(r.after),
        }
        for r in rows
    ]  # fmt: skip


def texted(database: Database, reminder_id: str) -> str:
    """What an sms_reply says (the API shows patients' texts to nobody; the dispatcher sends them)."""
    with database.engine.connect() as conn:
        reminder = table_of(Reminder)
        body: str = conn.execute(select(reminder.c.body).where(reminder.c.id == uuid.UUID(reminder_id))).scalar_one()
        return body


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def pending_or_skipped(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    found = [r for r in reminders(client, patient_id=patient_id) if r["channel"] == "sms"]
    return [r for r in found if r["status"] in ("pending", "skipped")]


def skipped_sms(client: TestClient, patient_id: str, reason: str) -> list[dict[str, Any]]:
    found = reminders(client, patient_id=patient_id, status="skipped")
    return [r for r in found if r["channel"] == "sms" and r["reason"] == reason]


# R32, row by row


@pytest.mark.parametrize("text", ["STOP", "cancel", "Unsubscribe."])
def test_r32_row_1_opt_out_keywords_stop_every_text_to_the_number(
    client: TestClient, prompted: dict[str, Any], text: str
) -> None:
    patient_id = prompted["patient_id"]
    assert pending_sms(client, patient_id)
    message = reply(client, text)
    assert (message["intent"], message["outcome"]) == ("opt_out", "applied")
    assert pending_sms(client, patient_id) == [
        r for r in reminders(client, kind="sms_reply") if r["status"] == "pending"
    ]  # only the one confirmation (PROLO_SMS_KEYWORD_REPLIES defaults to prolo for the prolo provider)
    assert skipped_sms(client, patient_id, "sms_opted_out")
    expected = ["cancel_keyword", "sms_opted_out"] if text == "cancel" else ["sms_opted_out"]
    assert staff_items(client, message["id"]) == expected
    (item,) = [i for i in reminders(client, kind="reply_review") if i["reason"] == "sms_opted_out"]
    assert "Maria Keller" in item["body"]
    (opt_out,) = client.get("/v1/sms-opt-outs").json()["items"]
    assert (opt_out["number"], opt_out["source"], opt_out["inbound_message_id"]) == (PHONE, "keyword", message["id"])
    assert session_status(client, prompted["sessions"][0]) == "scheduled"  # CANCEL stops texts, never a session


def test_r32_row_1_cancel_with_a_prompt_names_the_session_for_staff(
    client: TestClient, prompted: dict[str, Any]
) -> None:
    message = reply(client, "CANCEL")
    (item,) = [i for i in reminders(client, kind="reply_review") if i["reason"] == "cancel_keyword"]
    assert "session 1 on Mon 1 Mar 2027 at 09:00" in item["body"]
    assert item["session_id"] == prompted["sessions"][0]["id"] and item["inbound_message_id"] == message["id"]
    assert {s["status"] for s in client.get(f"/v1/courses/{prompted['id']}").json()["sessions"]} == {"scheduled"}


def test_r33_a_later_booking_plans_skipped_texts_and_start_restores_them(
    client: TestClient, prompted: dict[str, Any]
) -> None:
    reply(client, "STOP")
    prac = practitioner(client, name="Dr. Lena Brandt")
    later = book(client, client.get(f"/v1/patients/{prompted['patient_id']}").json(), prac, start_date="2027-06-07")
    later_ids = {s["id"] for s in later["sessions"]}
    mine = [r for r in pending_or_skipped(client, prompted["patient_id"]) if r["session_id"] in later_ids]
    assert mine and all(r["status"] == "skipped" and r["reason"] == "sms_opted_out" for r in mine)

    message = reply(client, "START")
    assert (message["intent"], message["outcome"]) == ("opt_in", "applied")
    assert client.get("/v1/sms-opt-outs").json()["items"] == []
    mine = [r for r in pending_or_skipped(client, prompted["patient_id"]) if r["session_id"] in later_ids]
    assert mine and all(r["status"] == "pending" for r in mine)
    (answer,) = answers(client, message["id"])
    assert answer["status"] == "pending"


def test_r32_row_2_yes_while_opted_out_opts_in_and_confirms_nothing(
    client: TestClient, prompted: dict[str, Any]
) -> None:
    reply(client, "STOP")
    message = reply(client, "Yes")
    assert (message["intent"], message["outcome"]) == ("opt_in", "applied")
    assert session_status(client, prompted["sessions"][0]) == "scheduled"
    assert pending_sms(client, prompted["patient_id"])


def test_r32_row_3_help_answers_with_the_clinic_and_its_phone(client: TestClient, prompted: dict[str, Any]) -> None:
    message = reply(client, "help")
    assert (message["intent"], message["outcome"]) == ("help", "answered")
    (answer,) = answers(client, message["id"])
    assert (answer["status"], answer["channel"], answer["due_at"]) == ("pending", "sms", "2027-02-27T10:00:00Z")
    assert staff_items(client, message["id"]) == []


def test_r32_row_5_yes_confirms_the_prompts_session_and_only_it(
    client: TestClient, clean_db: Database, prompted: dict[str, Any]
) -> None:
    first, second = prompted["sessions"][:2]
    message = reply(client, "c.")
    assert (message["intent"], message["outcome"]) == ("confirm", "applied")
    assert (message["patient_id"], message["session_ids"]) == (prompted["patient_id"], [first["id"]])
    assert (session_status(client, first), session_status(client, second)) == ("confirmed", "scheduled")
    (answer,) = answers(client, message["id"])
    assert answer["status"] == "pending"
    assert staff_items(client, message["id"]) == []
    assert trail(clean_db, first["id"])[-1]["actor"] == {
        "id": message["id"],
        "name": "patient SMS",
        "role": "patient_sms",
    }


def test_r32_row_5_yes_without_an_open_prompt_goes_to_staff(client: TestClient, course: dict[str, Any]) -> None:
    message = reply(client, "YES")  # nothing was sent yet
    assert (message["intent"], message["outcome"]) == ("confirm", "staff_item")
    assert staff_items(client, message["id"]) == ["no_open_prompt"]
    assert answers(client, message["id"]) == []
    assert session_status(client, course["sessions"][0]) == "scheduled"


def test_r31_a_prompt_whose_session_began_is_no_prompt(
    client: TestClient, clock: Clock, prompted: dict[str, Any]
) -> None:
    at(clock, "2027-03-01T08:30:00+00:00")  # session 1 began at 08:00Z
    message = reply(client, "C")
    assert staff_items(client, message["id"]) == ["no_open_prompt"]


def test_r32_row_6_change_answers_with_the_prompts_session_link(
    client: TestClient, clean_db: Database, prompted: dict[str, Any]
) -> None:
    message = reply(client, "Reschedule")
    assert (message["intent"], message["outcome"]) == ("change", "answered")
    (answer,) = answers(client, message["id"])
    text = texted(clean_db, answer["id"])
    assert "session 1 on Mon 1 Mar 2027 at 09:00" in text and "https://prolo.example.org/p/" in text
    assert "+49 30 5550100" in text
    assert staff_items(client, message["id"]) == []


def test_r32_row_6_change_without_a_prompt_links_the_patients_next_session(
    client: TestClient, clean_db: Database, course: dict[str, Any]
) -> None:
    message = reply(client, "change")
    (answer,) = answers(client, message["id"])
    text = texted(clean_db, answer["id"])
    assert "session 1 on Mon 1 Mar 2027 at 09:00" in text and "https://prolo.example.org/p/" in text


@pytest.mark.parametrize("text", ["N", "no", "X"])
def test_r32_row_7_no_goes_to_staff_and_never_cancels(
    client: TestClient, clean_db: Database, prompted: dict[str, Any], text: str
) -> None:
    message = reply(client, text)
    assert (message["intent"], message["outcome"]) == ("decline", "staff_item")
    assert staff_items(client, message["id"]) == ["declined"]
    (answer,) = answers(client, message["id"])
    assert "https://prolo.example.org/p/" in texted(clean_db, answer["id"])
    assert session_status(client, prompted["sessions"][0]) == "scheduled"
    assert client.get("/v1/sms-opt-outs").json()["total"] == 0


def test_r32_row_8_unclear_goes_to_staff_with_one_answer_a_day(
    client: TestClient, clock: Clock, prompted: dict[str, Any]
) -> None:
    first = reply(client, "running 10 min late, sorry")
    assert (first["intent"], first["outcome"]) == ("unclear", "staff_item")
    assert staff_items(client, first["id"]) == ["unclear"] and len(answers(client, first["id"])) == 1
    at(clock, "2027-02-27T20:00:00+00:00")
    second = reply(client, "hello?")
    assert staff_items(client, second["id"]) == ["unclear"] and answers(client, second["id"]) == []
    at(clock, "2027-02-28T10:30:00+00:00")  # a day after the first answer
    third = reply(client, "hello??")
    assert len(answers(client, third["id"])) == 1


def test_r32_possible_opt_out_stops_texts_until_staff_decide(
    client: TestClient, clean_db: Database, prompted: dict[str, Any]
) -> None:
    patient_id = prompted["patient_id"]
    message = reply(client, "please stop texting me")
    assert (message["intent"], message["outcome"]) == ("possible_opt_out", "applied")
    assert staff_items(client, message["id"]) == ["possible_opt_out"]
    assert answers(client, message["id"]) == []  # no confirmation text: a person decides
    assert pending_sms(client, patient_id) == [] and skipped_sms(client, patient_id, "possible_opt_out")
    assert client.delete(f"/v1/sms-opt-outs/{PHONE}").status_code == 422  # a source_note is required
    cleared = client.delete(f"/v1/sms-opt-outs/{PHONE}", params={"source_note": "Called her: she meant the nausea"})
    assert cleared.status_code == 204, cleared.text
    assert pending_sms(client, patient_id) and client.get("/v1/sms-opt-outs").json()["total"] == 0
    lifted = trail(clean_db, PHONE)[-1]
    assert lifted["after"]["cleared_note"] == "Called her: she meant the nausea"
    assert lifted["before"]["cleared_at"] is None and lifted["actor"]["role"] == "admin"


# R31: who sent it


def test_r31_a_number_several_patients_share_without_a_prompt_goes_to_staff(client: TestClient) -> None:
    sms_patient(client, given_name="Anna")
    sms_patient(client, given_name="Ben")
    message = reply(client, "C")
    assert (message["patient_id"], message["outcome"]) == (None, "staff_item")
    assert staff_items(client, message["id"]) == ["ambiguous_sender"]
    assert answers(client, message["id"]) == []
    (item,) = reminders(client, kind="reply_review")
    assert "Anna Keller" in item["body"] and "Ben Keller" in item["body"]


def test_r31_a_shared_number_with_a_prompt_answers_the_prompts_patient(
    client: TestClient, prompted: dict[str, Any]
) -> None:
    sms_patient(client, given_name="Anna")
    message = reply(client, "C")
    assert message["patient_id"] == prompted["patient_id"]
    assert session_status(client, prompted["sessions"][0]) == "confirmed"


def test_r31_an_unknown_number_goes_to_staff_unanswered(client: TestClient, prompted: dict[str, Any]) -> None:
    message = reply(client, "C", sender=OTHER_PHONE)
    assert (message["patient_id"], message["intent"], message["outcome"]) == (None, "confirm", "staff_item")
    assert staff_items(client, message["id"]) == ["unknown_sender"]
    assert answers(client, message["id"]) == []
    assert session_status(client, prompted["sessions"][0]) == "scheduled"


def test_r31_a_national_number_is_read_with_the_clinics_country(client: TestClient, prompted: dict[str, Any]) -> None:
    client.put("/v1/clinic", json={**_clinic(client), "country": "DE"}).raise_for_status()
    message = reply(client, "C", sender="030 12345678")
    assert (message["from_number"], message["outcome"]) == (PHONE, "applied")


# R29, R30: the door


def test_r30_a_retry_answers_as_the_first_and_changes_nothing(client: TestClient, prompted: dict[str, Any]) -> None:
    first = post_prolo(client, "C", message_id="gateway-42")
    again = post_prolo(client, "C", message_id="gateway-42")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert client.get("/v1/inbound-messages").json()["total"] == 1
    assert len(reminders(client, kind="sms_reply")) == 1


def test_r29_a_wrong_or_missing_signature_is_403_and_stores_nothing(
    anon: TestClient, client: TestClient, course: dict[str, Any]
) -> None:
    raw = prolo_payload("STOP")
    for headers in ({"Prolo-Signature": "sha256=" + "0" * 64}, {}):
        answer = anon.post("/v1/inbound/sms", content=raw, headers={"Content-Type": "application/json", **headers})
        assert answer.status_code == 403 and answer.json()["code"] == "bad_signature"
    assert client.get("/v1/inbound-messages").json()["total"] == 0
    assert client.get("/v1/sms-opt-outs").json()["total"] == 0


def test_r29_a_body_over_16_kib_is_413_and_stores_nothing(client: TestClient) -> None:
    answer = post_prolo(client, "x" * 17_000)
    assert answer.status_code == 413
    assert client.get("/v1/inbound-messages").json()["total"] == 0


def test_r29_no_provider_no_endpoint(clean_db: Database, clock: Clock) -> None:
    plain = Settings(database_url=clean_db.url, clinic_timezone="Europe/Berlin")
    with TestClient(create_app(plain, engine=clean_db.engine, clock=clock)) as other:
        assert post_prolo(other, "STOP").status_code == 404


def test_r34_texts_are_for_staff_never_the_dispatcher(
    anon: TestClient, client: TestClient, clean_db: Database, prompted: dict[str, Any]
) -> None:
    message = reply(client, "C")
    for role, status in ((Role.dispatcher, 403), (Role.frontdesk, 200), (Role.clinician, 200)):
        key = {"Authorization": f"Bearer {make_key(clean_db.engine, role)}"}
        assert anon.get("/v1/inbound-messages", headers=key).status_code == status
        assert anon.get(f"/v1/inbound-messages/{message['id']}", headers=key).status_code == status
    assert client.get("/v1/inbound-messages", params={"intent": "confirm"}).json()["total"] == 1
    assert client.get("/v1/inbound-messages", params={"patient_id": prompted["patient_id"]}).json()["total"] == 1
    assert client.get("/v1/inbound-messages", params={"from": "2027-02-28"}).json()["total"] == 0


def test_r33_staff_record_an_opt_out_heard_by_phone(client: TestClient, prompted: dict[str, Any]) -> None:
    assert client.post("/v1/sms-opt-outs", json={"number": PHONE}).status_code == 422  # source_note required
    made = client.post("/v1/sms-opt-outs", json={"number": "+49 30 12345678", "source_note": "Called on 26 Feb"})
    assert made.status_code == 201, made.text
    assert (made.json()["number"], made.json()["source"]) == (PHONE, "staff")
    assert pending_sms(client, prompted["patient_id"]) == []
    assert client.post("/v1/sms-opt-outs", json={"number": PHONE, "source_note": "again"}).status_code == 409


@pytest.fixture
def twilio(clean_db: Database, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        inbound_sms_provider="twilio",
        inbound_sms_url="https://prolo.example.org/v1/inbound/sms",
        twilio_auth_token=TWILIO_TOKEN,
    )
    with TestClient(create_app(settings, engine=clean_db.engine, clock=clock)) as test_client:
        yield test_client


def test_r29_twilio_signs_the_configured_url_never_the_requests_own(twilio: TestClient, clean_db: Database) -> None:
    signed_here = post_twilio(twilio, "http://testserver/v1/inbound/sms", twilio_form("HELP"))
    assert signed_here.status_code == 403
    answer = post_twilio(twilio, "https://prolo.example.org/v1/inbound/sms", twilio_form("HELP"))
    assert answer.status_code == 200
    assert (answer.headers["content-type"].split(";")[0], answer.text) == ("text/xml", "<Response/>")
    key = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.admin)}"}
    (message,) = twilio.get("/v1/inbound-messages", headers=key).json()["items"]
    assert (message["provider"], message["intent"]) == ("twilio", "help")
    # twilio's carriers confirm STOP themselves (PROLO_SMS_KEYWORD_REPLIES defaults to provider)
    stop = post_twilio(twilio, "https://prolo.example.org/v1/inbound/sms", twilio_form("STOP"))
    assert stop.status_code == 200
    replies = twilio.get("/v1/reminders", params={"kind": "sms_reply"}, headers=key).json()["items"]
    assert len(replies) == 1  # HELP's answer only


def test_r34_the_trail_records_a_text_without_its_words(
    client: TestClient, clean_db: Database, prompted: dict[str, Any]
) -> None:
    message = reply(client, "C, see you Monday")
    (made,) = trail(clean_db, message["id"])
    assert made["actor"]["role"] == "patient_sms" and made["after"]["intent"] == "unclear"
    assert "body" not in made["after"] and "see you Monday" not in str(made)


def test_r31_a_confirm_request_is_the_prompt_c_answers(
    client: TestClient, clock: Clock, course: dict[str, Any]
) -> None:
    at(clock, "2027-02-26T08:01:00+00:00")  # 3 days before session 1: its confirm request (R35) goes out
    client.post("/v1/reminders/dispatch", json={}).raise_for_status()
    (sent,) = reminders(client, kind="confirm_request", status="sent")
    assert sent["session_id"] == course["sessions"][0]["id"]
    at(clock, "2027-02-26T09:30:00+00:00")
    message = reply(client, "C")
    assert (message["outcome"], message["session_ids"]) == ("applied", [course["sessions"][0]["id"]])
    assert session_status(client, course["sessions"][0]) == "confirmed"


def test_r30_a_text_with_a_nul_is_kept_not_refused(twilio: TestClient, clean_db: Database) -> None:
    """PostgreSQL text holds no NUL: the character is replaced, the authenticated text still taken (R30)."""
    answer = post_twilio(twilio, "https://prolo.example.org/v1/inbound/sms", twilio_form("he\x00llo"))
    assert answer.status_code == 200, answer.text
    key = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.admin)}"}
    (message,) = twilio.get("/v1/inbound-messages", headers=key).json()["items"]
    assert message["body"] == "he\ufffdllo"


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"inbound_sms_provider": "twilio", "inbound_sms_url": "https://prolo.example.org/v1/inbound/sms"}, "TOKEN"),
        ({"inbound_sms_provider": "twilio", "twilio_auth_token": "t"}, "PROLO_INBOUND_SMS_URL"),
        ({"inbound_sms_provider": "prolo"}, "PROLO_SMS_WEBHOOK_SECRET"),
    ],
)
def test_r29_a_provider_without_what_checks_its_signature_does_not_start(
    clean_db: Database, values: dict[str, str], missing: str
) -> None:
    settings = Settings(database_url=clean_db.url, **values)  # type: ignore[arg-type]
    with pytest.raises(ChannelConfigError, match=missing):
        create_app(settings, engine=clean_db.engine)


def test_r29_a_received_at_without_its_offset_is_refused_and_nothing_stored(client: TestClient) -> None:
    raw = json.dumps({"message_id": "m-naive", "from": PHONE, "body": "C", "received_at": "2027-02-27T10:00:00"})
    headers = {"Content-Type": "application/json", "Prolo-Signature": signature(SECRET, raw.encode())}
    answer = client.post("/v1/inbound/sms", content=raw.encode(), headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input")
    assert client.get("/v1/inbound-messages").json()["total"] == 0


def test_r33_a_change_notice_to_an_opted_out_number_is_planned_skipped(
    client: TestClient, course: dict[str, Any]
) -> None:
    assert client.post("/v1/sms-opt-outs", json={"number": PHONE, "source_note": "asked by phone"}).status_code < 300
    second = course["sessions"][1]
    moved = datetime.fromisoformat(second["start"]) + timedelta(days=1)
    answer = client.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": moved.isoformat()})
    assert answer.status_code == 200, answer.text
    [notice] = reminders(client, kind="change_notice")
    assert (notice["status"], notice["reason"]) == ("skipped", "sms_opted_out")
