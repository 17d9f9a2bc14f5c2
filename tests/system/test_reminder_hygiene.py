"""Reminder hygiene end to end (R35–R38), through the API and a real SMS webhook, on SQLite and PostgreSQL:
confirm requests, nothing stale, one change notice after quick changes, one message a day."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from api.web.app import create_app
from models import Role
from tests.api.helpers import OLD_REMINDERS, book, clinic_settings, patient, practitioner
from tests.conftest import Clock, Database, make_key
from tests.system.conftest import SMS_SECRET
from tests.system.receivers import WebhookReceiver

pytestmark = pytest.mark.system

PHONE = "+4915112345678"
PATIENT_KINDS = ("appointment", "confirm_request", "aftercare_start", "aftercare_end", "exercise", "change_notice")


@pytest.fixture
def api(clean_db: Database, clock: Clock, sms_hook: WebhookReceiver) -> Iterator[TestClient]:
    settings = Settings(
        database_url=clean_db.url,
        clinic_timezone="Europe/Berlin",
        api_key_cache_seconds=0,
        sms_webhook_url=sms_hook.url,
        sms_webhook_secret=SMS_SECRET,
    )
    with TestClient(create_app(settings, engine=clean_db.engine, clock=clock)) as client:
        client.headers["Authorization"] = f"Bearer {make_key(clean_db.engine, Role.admin)}"
        yield client


def at(clock: Clock, iso: str) -> None:
    clock.now = datetime.fromisoformat(iso).astimezone(UTC)


def ok(answer: Any) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def reminders(api: TestClient, **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(api.get("/v1/reminders", params={"limit": 500, **filters}))["items"]
    return items


def dispatch(api: TestClient) -> dict[str, int]:
    return ok(api.post("/v1/reminders/dispatch", json={}))


def texts(sms_hook: WebhookReceiver) -> list[str]:
    return [p["body"] for payloads in sms_hook.deliveries.values() for p in payloads]


def sms_patient(api: TestClient, **fields: Any) -> dict[str, Any]:
    return patient(api, phone=PHONE, reminder_channel="sms", reminder_consent=True, **fields)


def live(api: TestClient, **filters: Any) -> list[dict[str, Any]]:
    """Patient messages still to go (pending, or riding with one that is)."""
    return [r for r in reminders(api, **filters) if r["audience"] == "patient" and r["status"] in ("pending", "merged")]


# -- R35 ---------------------------------------------------------------------------------------------------------


def test_r35_confirming_cancels_the_request_and_the_48h_reminder_and_nothing_else(api: TestClient) -> None:
    session = book(api, sms_patient(api), practitioner(api), session_count=1)["sessions"][0]  # Mon 1 Mar 09:00
    before = {r["id"]: r for r in reminders(api, session_id=session["id"])}
    [request] = [r for r in before.values() if r["kind"] == "confirm_request"]
    assert (request["status"], request["due_local"]) == ("pending", "2027-02-26T09:00:00+01:00")

    assert ok(api.post(f"/v1/sessions/{session['id']}/confirm"))["status"] == "confirmed"
    after = {r["id"]: r for r in reminders(api, session_id=session["id"])}
    changed = {(r["kind"], r["due_local"], r["status"], r["reason"]) for i, r in after.items() if r != before[i]}
    assert changed == {
        ("confirm_request", "2027-02-26T09:00:00+01:00", "cancelled", "already_confirmed"),
        ("appointment", "2027-02-27T09:00:00+01:00", "cancelled", "already_confirmed"),
    }
    assert set(after) == set(before)  # nothing new planned
    two_hours = [r for r in after.values() if r["kind"] == "appointment" and r["status"] == "pending"]
    assert [r["due_local"] for r in two_hours] == ["2027-03-01T08:00:00+01:00"]  # the 2 h one still goes


def test_r35_a_clinic_that_skips_nothing_keeps_the_48h_reminder_and_one_without_requests_has_none(
    api: TestClient,
) -> None:
    clinic_settings(api, skip_when_confirmed_offsets_minutes=[])
    session = book(api, sms_patient(api), practitioner(api), session_count=1)["sessions"][0]
    ok(api.post(f"/v1/sessions/{session['id']}/confirm"))
    cancelled = [(r["kind"], r["reason"]) for r in reminders(api, session_id=session["id"], status="cancelled")]
    assert cancelled == [("confirm_request", "already_confirmed")]

    clinic_settings(api, confirm_request_offset_minutes=None)
    other = book(api, sms_patient(api), practitioner(api), session_count=1, start_date="2027-04-05")
    assert [r for r in reminders(api, session_id=other["sessions"][0]["id"]) if r["kind"] == "confirm_request"] == []


# -- R36 ---------------------------------------------------------------------------------------------------------

Change = Callable[[TestClient, Clock, dict[str, Any]], None]


def _hold(api: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    ok(api.post(f"/v1/courses/{course['id']}/hold", json={"reason": "travelling"}))


def _cancel_course(api: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    ok(api.post(f"/v1/courses/{course['id']}/cancel", json={"reason": "stopped"}))


def _cancel_session(api: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    ok(api.post(f"/v1/sessions/{course['sessions'][0]['id']}/cancel", json={"reason": "ill"}))


def _no_show(api: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    at(clock, "2027-03-01T09:30:00+01:00")
    ok(api.post(f"/v1/sessions/{course['sessions'][0]['id']}/no-show"))


def _archive(api: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    ok(api.post(f"/v1/patients/{course['patient_id']}/archive"))


def _withdraw_consent(api: TestClient, clock: Clock, course: dict[str, Any]) -> None:
    ok(api.patch(f"/v1/patients/{course['patient_id']}", json={"reminder_consent": False}))


@pytest.mark.parametrize(
    ("change", "reason", "notice"),
    [
        (_hold, "course_on_hold", True),
        (_cancel_course, "course_cancelled", True),
        (_cancel_session, "session_not_active", True),
        (_no_show, "session_not_active", False),
        (_archive, "patient_archived", False),
        (_withdraw_consent, "no_consent", False),
    ],
)
def test_r36_each_change_leaves_no_stale_message_and_says_why(
    api: TestClient, clock: Clock, sms_hook: WebhookReceiver, change: Change, reason: str, notice: bool
) -> None:
    course = book(api, sms_patient(api), practitioner(api), session_count=1)  # Mon 1 Mar 09:00
    session_id = course["sessions"][0]["id"]
    change(api, clock, course)

    mine = [r for r in reminders(api, patient_id=course["patient_id"]) if r["audience"] == "patient"]
    stale = [r for r in mine if r["kind"] != "change_notice"]
    assert stale and all(r["status"] in ("cancelled", "skipped") for r in stale), stale
    # the appointment and confirm messages say why; on a no-show the rest (aftercare) never was planned
    assert {r["reason"] for r in stale if r["kind"] in ("appointment", "confirm_request")} == {reason}
    notices = [r for r in mine if r["kind"] == "change_notice"]
    assert [r["session_ids"] for r in notices] == ([[session_id]] if notice else [])

    clock.now += timedelta(minutes=6)  # the change notice's grace is over
    dispatch(api)
    at(clock, "2027-03-10T09:00:00+01:00")  # every other message's time has come
    dispatch(api)
    sent = texts(sms_hook)
    assert all("Your sessions have changed: session 1: cancelled" in body for body in sent)
    assert len(sent) == (1 if notice and reason != "patient_archived" else 0)


def test_r36_a_completed_sessions_aftercare_survives_a_hold(
    api: TestClient, clock: Clock, sms_hook: WebhookReceiver
) -> None:
    course = book(api, sms_patient(api), practitioner(api), session_count=2)
    first, second = course["sessions"]
    at(clock, "2027-03-01T08:55:00+01:00")
    ok(api.post(f"/v1/sessions/{first['id']}/check-in"))
    done = {"injections": [{"site": "knee", "injectate": "dextrose", "volume_ml": 5}], "pain_before": 6}
    ok(api.post(f"/v1/sessions/{first['id']}/complete", json=done))
    at(clock, "2027-03-02T10:00:00+01:00")
    ok(api.post(f"/v1/courses/{course['id']}/hold", json={"reason": "travelling"}))

    # "avoid NSAIDs" was due at 09:00 yesterday and no dispatcher ran: still planned, the next pass decides (R20)
    assert {r["kind"] for r in live(api, session_id=first["id"]) if r["kind"] != "change_notice"} == {
        *("aftercare_start", "aftercare_end", "exercise")
    }
    assert [r for r in live(api, session_id=second["id"]) if r["kind"] != "change_notice"] == []
    for day in ("2027-03-03T09:01:00+01:00", "2027-03-06T09:01:00+01:00"):  # exercises; NSAIDs fine again
        at(clock, day)
        dispatch(api)
    sent = texts(sms_hook)
    assert any("please start the exercises" in body for body in sent)
    assert any("you may take anti-inflammatory painkillers (NSAIDs) again" in body for body in sent)
    assert not any("reminder of your appointment" in body for body in sent)


# -- R37 ---------------------------------------------------------------------------------------------------------


def test_r37_three_quick_moves_send_one_notice_with_the_final_times(
    api: TestClient, clock: Clock, sms_hook: WebhookReceiver
) -> None:
    course = book(api, sms_patient(api), practitioner(api), session_count=2)
    second = course["sessions"][1]  # Mon 15 Mar 09:00
    at(clock, "2027-03-02T10:00:00+01:00")
    for minute, start in enumerate(
        ("2027-03-16T10:00:00+01:00", "2027-03-17T11:00:00+01:00", "2027-03-18T09:00:00+01:00")
    ):
        at(clock, f"2027-03-02T10:0{minute}:00+01:00")
        ok(api.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": start}))
    [notice] = live(api, kind="change_notice")
    assert notice["due_local"] == "2027-03-02T10:07:00+01:00"  # five minutes after the last change
    assert notice["session_ids"] == [second["id"]]

    at(clock, "2027-03-02T10:06:00+01:00")
    dispatch(api)
    assert texts(sms_hook) == []  # still within the grace
    at(clock, "2027-03-02T10:08:00+01:00")
    dispatch(api)
    [body] = texts(sms_hook)
    assert "session 2: now Thu 18 Mar 2027 at 09:00 (was Mon 15 Mar 2027 at 09:00)" in body
    assert "16 Mar" not in body and "17 Mar" not in body

    # told: moving it back now is news again (the patient was told the 18th), and so is only that
    at(clock, "2027-03-02T11:00:00+01:00")
    ok(api.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": "2027-03-15T09:00:00+01:00"}))
    [again] = live(api, kind="change_notice")
    at(clock, "2027-03-02T11:06:00+01:00")
    dispatch(api)
    assert "session 2: now Mon 15 Mar 2027 at 09:00 (was Thu 18 Mar 2027 at 09:00)" in texts(sms_hook)[-1]
    assert again["id"] != notice["id"]


def test_r37_a_move_undone_within_the_grace_sends_nothing(
    api: TestClient, clock: Clock, sms_hook: WebhookReceiver
) -> None:
    course = book(api, sms_patient(api), practitioner(api), session_count=2)
    second = course["sessions"][1]
    at(clock, "2027-03-02T10:00:00+01:00")
    ok(api.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": "2027-03-16T10:00:00+01:00"}))
    at(clock, "2027-03-02T10:02:00+01:00")
    ok(api.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": second["start"]}))

    [notice] = reminders(api, kind="change_notice")
    assert (notice["status"], notice["reason"]) == ("cancelled", "no_net_change")
    at(clock, "2027-03-02T10:30:00+01:00")
    dispatch(api)
    assert texts(sms_hook) == []


def test_r37_changes_made_at_the_desk_send_nothing(api: TestClient, clock: Clock, sms_hook: WebhookReceiver) -> None:
    course = book(api, sms_patient(api), practitioner(api), session_count=3)
    _, second, third = course["sessions"]
    at(clock, "2027-03-02T10:00:00+01:00")
    moved = ok(
        api.post(
            f"/v1/sessions/{second['id']}/reschedule",
            json={"start": "2027-03-24T09:00:00+01:00", "notify_patient": False},
        )
    )
    assert [m["number"] for m in moved["moved"]] == [3]  # the reflow counts as told too
    ok(api.post(f"/v1/sessions/{third['id']}/cancel", json={"reason": "ill", "replace": True, "notify_patient": False}))
    assert reminders(api, kind="change_notice") == []
    at(clock, "2027-03-02T10:30:00+01:00")
    dispatch(api)
    assert texts(sms_hook) == []


def test_r37_a_replacement_is_announced_as_new(api: TestClient, clock: Clock, sms_hook: WebhookReceiver) -> None:
    course = book(api, sms_patient(api), practitioner(api), session_count=2)
    at(clock, "2027-03-02T10:00:00+01:00")
    answer = ok(api.post(f"/v1/sessions/{course['sessions'][1]['id']}/cancel", json={"reason": "ill", "replace": True}))
    at(clock, "2027-03-02T10:06:00+01:00")
    dispatch(api)
    [body] = texts(sms_hook)
    assert "session 2: cancelled (was Mon 15 Mar 2027 at 09:00)" in body
    new = datetime.fromisoformat(answer["replacement"]["start_local"])
    assert f"session 3: new, on {new.strftime('%a')} {new.day} {new.strftime('%b %Y at %H:%M')}" in body


# -- R38 ---------------------------------------------------------------------------------------------------------


def test_r38_two_same_day_reminders_send_one_message(api: TestClient, clock: Clock, sms_hook: WebhookReceiver) -> None:
    book(api, sms_patient(api), practitioner(api), session_count=1)  # Mon 1 Mar 09:00
    at(clock, "2027-03-01T08:01:00+01:00")
    dispatch(api)
    at(clock, "2027-03-01T09:01:00+01:00")
    dispatch(api)
    [body] = texts(sms_hook)  # the 2 h reminder (08:00) carries "avoid NSAIDs" (09:00)
    assert "reminder of your appointment at" in body and "Please avoid anti-inflammatory painkillers" in body


def _aftercare_and_exercises(api: TestClient, name: str, *, days_after: int) -> dict[str, Any]:
    """A protocol whose NSAID window and exercises both start `days_after` the session."""
    rules = [
        {"code": "avoid_nsaids", "kind": "avoid_medication", "start_offset_days": days_after, "duration_days": 5,
         "instruction": "No NSAIDs.", "medication_class": "nsaid"},
        {"code": "exercises", "kind": "exercise", "start_offset_days": days_after, "duration_days": 12,
         "instruction": "Exercises."},
    ]  # fmt: skip
    return ok(api.post("/v1/protocols", json={"name": name, "injectate": "dextrose", "rules": rules}))


def test_r38_cancelling_the_carrier_merges_the_rest_again(
    api: TestClient, clock: Clock, sms_hook: WebhookReceiver
) -> None:
    protocol = _aftercare_and_exercises(api, "Same day", days_after=0)
    course = book(api, sms_patient(api), practitioner(api), session_count=1, protocol_id=protocol["id"])
    session_id = course["sessions"][0]["id"]
    on_the_day = [r for r in live(api, session_id=session_id) if r["due_local"].startswith("2027-03-01")]
    [carrier] = [r for r in on_the_day if r["status"] == "pending"]
    assert carrier["kind"] == "appointment"
    assert {(r["kind"], r["merged_into"]) for r in on_the_day if r["status"] == "merged"} == {
        ("aftercare_start", carrier["id"]),
        ("exercise", carrier["id"]),
    }

    # the clinic skips the 2 h reminder for confirmed sessions: confirming cancels the carrier
    clinic_settings(api, skip_when_confirmed_offsets_minutes=[2880, 120])
    ok(api.post(f"/v1/sessions/{session_id}/confirm"))
    on_the_day = [r for r in live(api, session_id=session_id) if r["due_local"].startswith("2027-03-01")]
    [new_carrier] = [r for r in on_the_day if r["status"] == "pending"]
    [rider] = [r for r in on_the_day if r["status"] == "merged"]
    assert new_carrier["kind"] in ("aftercare_start", "exercise") and rider["merged_into"] == new_carrier["id"]
    at(clock, "2027-03-01T09:01:00+01:00")
    dispatch(api)
    [body] = texts(sms_hook)
    assert "Please avoid anti-inflammatory painkillers" in body and "please start the exercises" in body
    assert "reminder of your appointment" not in body


def _on(api: TestClient, day: str, course: dict[str, Any]) -> list[dict[str, Any]]:
    """The course's patient messages still to go on a local day."""
    session_ids = {s["id"] for s in course["sessions"]}
    mine = live(api, patient_id=course["patient_id"])
    return [r for r in mine if r["due_local"].startswith(day) and r["session_id"] in session_ids]


def _knee_and_shoulder(api: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two courses of one SMS patient: the shoulder's session on Mon 22 Feb, its NSAID window and exercises
    starting on Mon 1 Mar, the day of the knee's session (09:00)."""
    a_week_later = _aftercare_and_exercises(api, "A week later", days_after=7)
    pat, prac = sms_patient(api), practitioner(api)
    shoulder = book(
        api, pat, prac, session_count=1, start_date="2027-02-22", condition="shoulder", protocol_id=a_week_later["id"]
    )
    return book(api, pat, prac, session_count=1, condition="knee"), shoulder


def _sent_on_the_1st(api: TestClient, clock: Clock, sms_hook: WebhookReceiver, patient_id: str) -> list[str]:
    """The texts sent on Mon 1 Mar, dispatching through the day; every course replanned after each pass."""
    at(clock, "2027-02-28T20:00:00+01:00")
    dispatch(api)
    before = len(texts(sms_hook))
    for moment in ("2027-03-01T08:01:00+01:00", "2027-03-01T09:01:00+01:00", "2027-03-01T20:00:00+01:00"):
        at(clock, moment)
        dispatch(api)
        # what left with the other course's carrier is not planned again
        ok(api.patch(f"/v1/patients/{patient_id}", json={"family_name": f"Keller {moment[11:13]}"}))
    return texts(sms_hook)[before:]


@pytest.mark.parametrize("knee_cancelled", [False, True], ids=["both", "knee_cancelled"])
def test_r38_one_message_a_day_across_a_patients_courses(
    api: TestClient, clock: Clock, sms_hook: WebhookReceiver, knee_cancelled: bool
) -> None:
    knee, shoulder = _knee_and_shoulder(api)
    [knee_carrier] = [r for r in _on(api, "2027-03-01", knee) if r["status"] == "pending"]
    assert knee_carrier["kind"] == "appointment"  # the 2 h reminder
    riders = {(r["kind"], r["merged_into"]) for r in _on(api, "2027-03-01", shoulder)}
    assert riders == {("aftercare_start", knee_carrier["id"]), ("exercise", knee_carrier["id"])}

    if knee_cancelled:  # the carrier goes: the shoulder's riders merge again, among themselves
        ok(api.post(f"/v1/sessions/{knee['sessions'][0]['id']}/cancel", json={"reason": "ill"}))
        assert _on(api, "2027-03-01", knee) == []
        on_the_day = _on(api, "2027-03-01", shoulder)
        [carrier] = [r for r in on_the_day if r["status"] == "pending"]
        assert [r["merged_into"] for r in on_the_day if r["status"] == "merged"] == [carrier["id"]]
        at(clock, "2027-01-04T13:10:00+01:00")
        dispatch(api)  # the change notice (R37) goes now
        [notice] = texts(sms_hook)
        assert "session 1: cancelled" in notice

    [body] = _sent_on_the_1st(api, clock, sms_hook, knee["patient_id"])
    assert "Please avoid anti-inflammatory painkillers" in body and "please start the exercises" in body
    assert ("reminder of your appointment" in body) is not knee_cancelled
    # the shoulder's FHIR export shows its riders with their carrier's fate, also one in the knee's course
    bundle = ok(api.get(f"/v1/courses/{shoulder['id']}/fhir"))
    requests = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CommunicationRequest"]
    on_the_1st = [r for r in requests if r["occurrenceDateTime"].startswith("2027-03-01")]
    assert len(on_the_1st) == 2 and {r["status"] for r in on_the_1st} == {"completed"}


def _each_alone(sent: list[str]) -> None:
    """The texts of Mon 1 Mar with merging off: the knee's 2 h reminder, both NSAID windows and the shoulder's
    exercises, each in a message of its own."""
    words = ("reminder of your appointment", "Please avoid anti-inflammatory painkillers", "please start the exercises")
    assert sorted(next(w for w in words if w in body) for body in sent) == sorted([*words, words[1]])
    assert all(sum(w in body for w in words) == 1 for body in sent)  # each alone


def test_r38_turning_merging_off_frees_the_riders_of_the_other_course(
    api: TestClient, clock: Clock, sms_hook: WebhookReceiver
) -> None:
    knee, shoulder = _knee_and_shoulder(api)
    assert {r["status"] for r in _on(api, "2027-03-01", shoulder)} == {"merged"}  # with the knee's 2 h reminder
    clinic_settings(api, one_message_per_day=False)
    ok(api.post(f"/v1/sessions/{knee['sessions'][0]['id']}/confirm"))  # replans the knee's course
    assert {r["status"] for r in _on(api, "2027-03-01", knee) + _on(api, "2027-03-01", shoulder)} == {"pending"}
    sent = _sent_on_the_1st(api, clock, sms_hook, knee["patient_id"])
    _each_alone(sent)


def test_r38_with_merging_off_a_second_course_on_the_same_day_merges_nothing(
    api: TestClient, clock: Clock, sms_hook: WebhookReceiver
) -> None:
    clinic_settings(api, one_message_per_day=False)
    knee, shoulder = _knee_and_shoulder(api)  # the knee's booking shares Mon 1 Mar with the shoulder's course
    on_the_day = _on(api, "2027-03-01", knee) + _on(api, "2027-03-01", shoulder)
    assert {(r["status"], r["merged_into"]) for r in on_the_day} == {("pending", None)}
    sent = _sent_on_the_1st(api, clock, sms_hook, knee["patient_id"])
    _each_alone(sent)


def test_r35_r38_a_clinic_that_turns_them_off_gets_the_old_reminders(api: TestClient) -> None:
    clinic_settings(api, **OLD_REMINDERS)
    course = book(api, sms_patient(api), practitioner(api), session_count=1)
    mine = reminders(api, patient_id=course["patient_id"])
    assert sorted((r["kind"], r["status"]) for r in mine) == [
        ("aftercare_end", "pending"),
        ("aftercare_start", "pending"),
        ("appointment", "pending"),
        ("appointment", "pending"),
        ("exercise", "pending"),
        ("follow_up", "pending"),
    ]
    ok(api.post(f"/v1/sessions/{course['sessions'][0]['id']}/confirm"))
    # confirming still drops the 48 h reminder: skip_when_confirmed_offsets_minutes is its own setting
    assert [r["kind"] for r in reminders(api, patient_id=course["patient_id"], status="cancelled")] == ["appointment"]
