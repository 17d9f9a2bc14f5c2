"""Reminders end to end through the API (R16–R22): planned with every change, dispatched over a real
SMTP server, stale ones expired after an outage, the outbox acknowledged, skipped ones explained."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from api.web.app import create_app
from models import Role
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock, Database, make_key
from tests.system.receivers import SmtpReceiver, smtp_receiver

pytestmark = pytest.mark.system


def at(clock: Clock, iso: str) -> None:
    clock.now = datetime.fromisoformat(iso).astimezone(UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with smtp_receiver() as receiver:
        yield receiver


@pytest.fixture
def api(clean_db: Database, clock: Clock, smtp: SmtpReceiver) -> Iterator[TestClient]:
    settings = Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        api_key_cache_seconds=0,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
        smtp_from="clinic@example.org",
    )
    with TestClient(create_app(settings, engine=clean_db.engine, clock=clock)) as client:
        client.headers["Authorization"] = f"Bearer {make_key(clean_db.engine, Role.admin)}"
        yield client


def reminders(client: TestClient, **filters: Any) -> list[dict[str, Any]]:
    answer = client.get("/v1/reminders", params={"limit": 500, **filters})
    assert answer.status_code == 200
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def dispatch(client: TestClient) -> dict[str, int]:
    answer = client.post("/v1/reminders/dispatch", json={})
    assert answer.status_code == 200
    summary: dict[str, int] = answer.json()
    return summary


def test_r16_booking_plans_every_kind_of_reminder(api: TestClient) -> None:
    pat = patient(api, email="maria@example.org", reminder_channel="email", reminder_consent=True)
    book(api, pat, practitioner(api), session_count=1)  # 2027-03-01 09:00 Berlin
    by_kind = Counter(r["kind"] for r in reminders(api, patient_id=pat["id"]))
    assert by_kind == {
        **{"appointment": 2, "confirm_request": 1, "aftercare_start": 1, "aftercare_end": 1},
        **{"exercise": 1, "follow_up": 1},
    }
    due = {r["kind"]: r["due_local"] for r in reminders(api, patient_id=pat["id"]) if r["kind"] != "appointment"}
    assert due == {
        "confirm_request": "2027-02-26T09:00:00+01:00",  # 72 h before (R35)
        "aftercare_start": "2027-03-01T09:00:00+01:00",
        "aftercare_end": "2027-03-06T09:00:00+01:00",
        "exercise": "2027-03-03T09:00:00+01:00",
        "follow_up": "2027-03-04T09:00:00+01:00",
    }
    appointment = sorted(r["due_local"] for r in reminders(api, patient_id=pat["id"], kind="appointment"))
    # 48 h before; and 2 h before is 07:00, inside quiet hours: 08:00 is still an hour before (R17)
    assert appointment == ["2027-02-27T09:00:00+01:00", "2027-03-01T08:00:00+01:00"]
    follow = next(r for r in reminders(api, patient_id=pat["id"]) if r["kind"] == "follow_up")
    assert (follow["audience"], follow["channel"]) == ("clinic", "outbox")
    # R38: "avoid NSAIDs" on the session's day rides with that morning's 08:00 appointment reminder
    by_id = {r["id"]: r for r in reminders(api, patient_id=pat["id"])}
    [rider] = [r for r in by_id.values() if r["status"] == "merged"]
    assert rider["kind"] == "aftercare_start" and by_id[rider["merged_into"]]["due_local"] == appointment[1]
    assert all(r["status"] == "pending" for r in by_id.values() if r is not rider)


def test_r18_without_consent_reminders_are_skipped_with_the_reason(api: TestClient) -> None:
    pat = patient(api, email="jonas@example.org", reminder_channel="email", reminder_consent=False)
    book(api, pat, practitioner(api), session_count=1)
    mine = reminders(api, patient_id=pat["id"])
    patient_side = [r for r in mine if r["audience"] == "patient"]
    assert patient_side and {(r["status"], r["reason"]) for r in patient_side} == {("skipped", "no_consent")}
    assert [r["status"] for r in mine if r["audience"] == "clinic"] == ["pending"]  # staff follow-up still goes
    api.patch(f"/v1/patients/{pat['id']}", json={"reminder_consent": True})
    # consent given: each goes, the session day's aftercare riding with its appointment reminder (R38)
    assert Counter(r["status"] for r in reminders(api, patient_id=pat["id"])) == {"pending": 6, "merged": 1}


def test_r19_moves_and_cancels_replan_without_duplicates(api: TestClient) -> None:
    pat = patient(api, phone="+4930123456", reminder_channel="sms", reminder_consent=True)
    course = book(api, pat, practitioner(api), session_count=2)
    second = course["sessions"][1]
    for start in ("2027-03-17T10:00:00+01:00", "2027-03-16T09:00:00+01:00", "2027-03-15T09:00:00+01:00"):
        assert api.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": start}).status_code == 200
        pending = [
            r for r in reminders(api, session_id=second["id"]) if r["status"] in ("pending", "merged")
        ]  # the session's own: the change notice names it, but is the patient's (R37)
        pending = [r for r in pending if r["kind"] != "change_notice"]
        slots = Counter(
            (r["kind"], r["rule_code"], r["due_at"] if r["kind"] == "appointment" else None) for r in pending
        )
        assert len(pending) == 7 and max(slots.values()) == 1  # R16 and the confirm request (R35)
    assert api.post(f"/v1/sessions/{second['id']}/cancel", json={"reason": "ill"}).status_code == 200
    assert [r["kind"] for r in reminders(api, session_id=second["id"], status="pending")] == ["change_notice"]
    api.post(f"/v1/courses/{course['id']}/cancel", json={"reason": "stopped"})
    assert [r["kind"] for r in reminders(api, patient_id=pat["id"], status="pending")] == ["change_notice"]


def test_r20_r22_dispatch_sends_over_smtp_once_and_expires_stale_ones(
    api: TestClient, clock: Clock, smtp: SmtpReceiver
) -> None:
    pat = patient(api, email="maria@example.org", reminder_channel="email", reminder_consent=True)
    book(api, pat, practitioner(api), session_count=1)
    at(clock, "2027-02-27T09:01:00+01:00")
    # the confirm request (Fri 26 Feb 09:00, R35) is more than 12 h overdue: stale, not sent (R20)
    assert dispatch(api) == {
        **{"claimed": 1, "sent": 1, "retried": 0, "failed": 0, "expired": 1, "ready": 0},
        **{"openings_settled": 0, "offers_made": 0, "openings_lapsed": 0},  # no waitlist here
    }
    assert dispatch(api)["claimed"] == 0  # never twice
    [mail] = smtp.mails
    sent = reminders(api, patient_id=pat["id"], status="sent")[0]
    assert mail.rcpt_tos == ("maria@example.org",)
    assert mail.message["Prolo-Idempotency-Key"] == sent["idempotency_key"]
    assert sent["idempotency_key"] in mail.message["Message-ID"]
    assert "Maria" in mail.message.get_content() and sent["sent_at"] is not None
    # R19: replanning never touches what was sent
    session_id = sent["session_id"]
    assert (
        api.post(f"/v1/sessions/{session_id}/reschedule", json={"start": "2027-03-02T10:00:00+01:00"}).status_code
        == 200
    )
    assert [r["id"] for r in reminders(api, status="sent")] == [sent["id"]]
    assert reminders(api, status="sent")[0]["due_at"] == sent["due_at"]
    api.post(f"/v1/sessions/{session_id}/reschedule", json={"start": "2027-03-01T09:00:00+01:00"})

    # no dispatcher ran for days: everything overdue is stale and expires instead of flooding the patient
    at(clock, "2027-03-04T09:30:00+01:00")
    summary = dispatch(api)
    # the 2 h reminder (with "avoid NSAIDs" riding on it, R38) and the exercise reminder
    assert summary["expired"] == 2 and summary["sent"] == 0
    assert summary["ready"] == 1  # the staff follow-up is in the outbox
    assert len(smtp.mails) == 1
    [outbox] = reminders(api, status="ready")
    assert api.post(f"/v1/reminders/{outbox['id']}/ack").json()["status"] == "acknowledged"
    assert api.post(f"/v1/reminders/{outbox['id']}/ack").status_code == 409


def test_r20_smtp_down_is_retried_then_delivered(api: TestClient, clock: Clock, clean_db: Database) -> None:
    settings = Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        api_key_cache_seconds=0,
        smtp_host="127.0.0.1",
        smtp_port=9,
        smtp_starttls=False,  # nothing listens on the discard port
    )
    pat = patient(api, email="maria@example.org", reminder_channel="email", reminder_consent=True)
    book(api, pat, practitioner(api), session_count=1)
    at(clock, "2027-02-27T09:01:00+01:00")
    with TestClient(create_app(settings, engine=clean_db.engine, clock=clock)) as down:
        down.headers["Authorization"] = api.headers["Authorization"]
        assert dispatch(down)["retried"] == 1
    [waiting] = reminders(api, patient_id=pat["id"], kind="appointment", status="pending")[:1]
    assert waiting["attempts"] == 1 and waiting["last_error"] and waiting["next_attempt_at"]
    assert dispatch(api)["claimed"] == 0  # not before its next attempt
    at(clock, "2027-02-27T09:05:00+01:00")
    assert dispatch(api)["sent"] == 1


def test_dispatch_needs_the_dispatcher_role(api: TestClient, clean_db: Database) -> None:
    desk = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.frontdesk)}"}
    assert api.post("/v1/reminders/dispatch", json={}, headers=desk).status_code == 403
    robot = {"Authorization": f"Bearer {make_key(clean_db.engine, Role.dispatcher)}"}
    assert api.post("/v1/reminders/dispatch", json={}, headers=robot).status_code == 200
    assert api.get("/v1/patients", headers=robot).status_code == 403


def _one_pending_per_slot(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    pending = reminders(client, patient_id=patient_id, status="pending")
    slots = Counter(
        (r["session_id"], r["kind"], r["rule_code"], r["due_at"] if r["kind"] == "appointment" else None)
        for r in pending
    )
    assert not [slot for slot, n in slots.items() if n > 1], "two pending reminders for one slot"
    per_session = Counter((r["session_id"], r["kind"], r["rule_code"]) for r in pending)
    assert all(n <= 2 for (_, kind, _), n in per_session.items() if kind == "appointment")  # 48 h and 2 h
    assert all(n == 1 for (_, kind, _), n in per_session.items() if kind != "appointment")
    return pending


def test_r19_every_kind_of_change_leaves_exactly_one_pending_reminder_per_slot(api: TestClient, clock: Clock) -> None:
    pat = patient(api, email="maria@example.org", reminder_channel="email", reminder_consent=True)
    course = book(api, pat, practitioner(api), session_count=4)
    first, second, third, _ = course["sessions"]

    def sessions_with_pending() -> set[str]:
        return {r["session_id"] for r in _one_pending_per_slot(api, pat["id"])}

    assert sessions_with_pending() == {s["id"] for s in course["sessions"]}  # book
    # reschedule with reflow: session 2 to the 24th moves 3 and 4 as well
    moved = api.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": "2027-03-24T09:00:00+01:00"}).json()
    assert {m["number"] for m in moved["moved"]} == {3, 4}
    due = {r["due_local"] for r in reminders(api, session_id=third["id"], status="pending", kind="appointment")}
    assert "2027-04-05T09:00:00+02:00" in due  # 48 h before the reflowed 7 April
    sessions_with_pending()
    # complete session 1: its aftercare reminders stay, its appointment ones are past
    at(clock, "2027-03-01T08:55:00+01:00")
    api.post(f"/v1/sessions/{first['id']}/check-in")
    api.post(
        f"/v1/sessions/{first['id']}/complete",
        json={"injections": [{"site": "knee", "injectate": "dextrose", "volume_ml": 5}], "pain_before": 6},
    )
    assert {r["kind"] for r in reminders(api, session_id=first["id"], status="pending")} >= {
        "aftercare_end",
        "exercise",
    }
    sessions_with_pending()
    # no-show: nothing more goes out for that session
    at(clock, "2027-03-24T10:00:00+01:00")
    api.post(f"/v1/sessions/{second['id']}/no-show")
    assert reminders(api, session_id=second["id"], status="pending") == []
    # hold: every pending reminder of the course stops, but for the completed session's aftercare (R36), and the
    # patient hears of it once (R37)
    api.post(f"/v1/courses/{course['id']}/hold", json={"reason": "travelling"})
    left = reminders(api, patient_id=pat["id"], status="pending")
    assert {(r["session_id"], r["kind"]) for r in left if r["kind"] != "change_notice"} == {
        (first["id"], kind) for kind in ("aftercare_start", "aftercare_end", "exercise", "follow_up")
    }  # aftercare_start is overdue, no dispatcher having run: the next pass expires it (R20)
    assert [r["kind"] for r in left].count("change_notice") == 1
    # resume: the new sessions get their reminders, once each
    resumed = api.post(f"/v1/courses/{course['id']}/resume", json={"start_date": "2027-05-03"}).json()
    new_ids = {s["id"] for s in resumed["sessions"] if s["status"] == "scheduled"}
    assert len(new_ids) == 3 and new_ids <= sessions_with_pending()
    # cancel one with a replacement, then the whole course
    target = sorted(new_ids)[0]
    replacement = api.post(f"/v1/sessions/{target}/cancel", json={"reason": "ill", "replace": True}).json()[
        "replacement"
    ]
    assert replacement["id"] in sessions_with_pending() and target not in sessions_with_pending()
    cancelled = api.post(f"/v1/courses/{course['id']}/cancel", json={"reason": "stopped"})
    assert cancelled.status_code == 200, cancelled.text
    left = reminders(api, patient_id=pat["id"], status="pending")
    assert {r["session_id"] for r in left if r["kind"] != "change_notice"} == {first["id"]}  # its aftercare (R36)
