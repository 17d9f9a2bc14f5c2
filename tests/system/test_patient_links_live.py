"""Patient links against a real `prolo serve` (R23–R28), on SQLite and, with PROLO_TEST_DATABASE_URL, PostgreSQL.

The server runs as in production: `prolo serve` with its logging, its link secret made at the
first start and kept in the database, and `PROLO_PUBLIC_URL` left unset, so the links in
messages name the address it serves on. The patient's side is a plain HTTP client without a
key, as a phone's browser is.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.api import patient_page_reading as reading
from tests.api.patient_page_reading import as_shown, choices, has_alert, link_path, page_text, shown_moves
from tests.conftest import Database
from tests.system.conftest import LiveApi

pytestmark = pytest.mark.system

CANARIES = {
    "condition": "CanaryCondition7f3a",
    "medication": "CanaryMedication7f3a",
    "surname": "CanarySurname7f3a",
    "allergy": "CanaryAllergy7f3a",
    "birth date": "1959-09-19",
}

START = reading.monday_two_weeks_ahead()


def canary_course(staff: httpx.Client, **fields: Any) -> dict[str, Any]:
    return reading.canary_course(staff, CANARIES, start_date=START, **fields)


def no_canary(html: str) -> None:
    for what, canary in CANARIES.items():
        assert canary not in html, what


def trail(db: Database) -> list[tuple[str, str]]:
    """The audit trail as stored, oldest first: (entity type, actor role) per event. Read from its table, not the
    feed: on PostgreSQL the feed holds back events while any older transaction of the cluster is open."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT entity_type, actor_role FROM audit_event ORDER BY id")).all()
    return [(row[0], row[1]) for row in rows]


def set_clinic(staff: httpx.Client, **changes: Any) -> None:
    clinic = staff.get("/v1/clinic").json()
    assert staff.put("/v1/clinic", json={**clinic, **changes}).status_code == 200


def test_opening_changes_nothing_and_confirming_twice_is_one_change(
    prolo_staff: httpx.Client, prolo_phone: httpx.Client, clean_db: Database
) -> None:
    staff, phone = prolo_staff, prolo_phone
    course = canary_course(staff)
    session = course["sessions"][0]
    path = link_path(staff, session["id"])
    before = trail(clean_db)
    for _ in range(3):  # a mail scanner, a link preview, the patient
        page = phone.get(path)
        assert page.status_code == 200 and "session 1 of 6" in page_text(page.text)
        no_canary(page.text)
        assert phone.head(path).status_code == 200
    assert trail(clean_db) == before
    assert staff.get(f"/v1/sessions/{session['id']}").json() == session

    first = phone.post(f"{path}/confirm")
    assert first.status_code == 303 and first.headers["location"] == f"{path}?done=confirmed"
    confirmed = trail(clean_db)
    assert ("session", "patient_link") in confirmed[len(before) :]
    again = phone.post(f"{path}/confirm", follow_redirects=True)
    assert again.status_code == 200 and "already confirmed" in page_text(again.text)
    assert trail(clean_db) == confirmed
    assert staff.get(f"/v1/sessions/{session['id']}").json()["status"] == "confirmed"


def test_cancelling_the_notice_period_the_replacement_and_stopping(
    prolo_staff: httpx.Client, prolo_phone: httpx.Client
) -> None:
    staff, phone = prolo_staff, prolo_phone
    course = canary_course(staff)
    sessions = course["sessions"]
    # a session inside the notice period: the patient may not cancel it, staff may
    set_clinic(staff, cancel_notice_hours=720)
    path = link_path(staff, sessions[0]["id"])
    page = phone.get(path)
    assert "/cancel" not in page.text and "less than 720 hours" in page_text(page.text)
    refused = phone.post(f"{path}/cancel", data={"reason": "cannot_make_it"})
    assert refused.status_code == 409 and has_alert(refused.text)
    no_canary(refused.text)
    assert staff.get(f"/v1/sessions/{sessions[0]['id']}").json()["status"] == "scheduled"
    assert staff.post(f"/v1/sessions/{sessions[0]['id']}/cancel", json={"reason": "phoned"}).status_code == 200
    set_clinic(staff, cancel_notice_hours=24)

    # cannot_make_it: cancelled, and a replacement appended at the end of the course
    path = link_path(staff, sessions[1]["id"])
    done = phone.post(f"{path}/cancel", data={"reason": "cannot_make_it"}, follow_redirects=True)
    assert done.status_code == 200 and "Your session is cancelled." in page_text(done.text)
    after = staff.get(f"/v1/courses/{course['id']}").json()["sessions"]
    assert [s["status"] for s in after] == ["cancelled", "cancelled", *["scheduled"] * 4, "scheduled"]
    assert after[-1]["number"] == 7 and after[-1]["start"] > sessions[-1]["start"]

    # stop_treatment: nothing cancelled, one staff item however often it is sent
    path = link_path(staff, sessions[2]["id"])
    for _ in range(2):
        asked = phone.post(f"{path}/cancel", data={"reason": "stop_treatment"})
        assert asked.status_code == 303
    assert staff.get(f"/v1/courses/{course['id']}").json()["sessions"] == after
    items = staff.get("/v1/reminders", params={"kind": "patient_action", "status": "ready"}).json()["items"]
    assert sorted((i["session_id"], i["reason"]) for i in items) == sorted(
        [(sessions[1]["id"], "cancelled"), (sessions[2]["id"], "wants_to_stop")]
    )


def test_a_reschedule_moves_exactly_what_was_shown_and_a_stale_one_nothing(
    prolo_staff: httpx.Client, prolo_phone: httpx.Client
) -> None:
    staff, phone = prolo_staff, prolo_phone
    strict = staff.post(
        "/v1/protocols",
        json={"name": "Strict", "injectate": "dextrose 15%", "session_count": 3, "min_interval_days": 14},
    )
    assert strict.status_code == 201, strict.text
    course = canary_course(staff, protocol_id=strict.json()["id"])
    session = course["sessions"][1]
    path = link_path(staff, session["id"])
    page = phone.get(path).text
    offered = choices(page)
    assert 1 <= len(offered) <= 3
    with_move = [i for i, _ in enumerate(offered) if shown_moves(page, i)]
    assert with_move, page_text(page)  # a later day pushes session 3 (at least 14 days apart)

    # stale: the practitioner takes the first shown time off; that choice is refused and nothing moves
    start = datetime.fromtimestamp(int(offered[0].split("-")[0]), tz=UTC)
    off = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(), "reason": "Meeting"}
    assert staff.post(f"/v1/practitioners/{course['practitioner_id']}/time-off", json=off).status_code == 201
    before = staff.get(f"/v1/courses/{course['id']}").json()["sessions"]
    refused = phone.post(f"{path}/reschedule", data={"choice": offered[0]})
    assert refused.status_code == 409 and "That time was just taken." in page_text(refused.text)
    assert offered[0] not in choices(refused.text)
    no_canary(refused.text)
    assert staff.get(f"/v1/courses/{course['id']}").json()["sessions"] == before

    # a shown alternative that moves another session: exactly those moves happen
    index = with_move[-1]
    moved = phone.post(f"{path}/reschedule", data={"choice": offered[index]}, follow_redirects=True)
    assert moved.status_code == 200 and "Your session has moved." in page_text(moved.text)
    after = {s["number"]: s for s in staff.get(f"/v1/courses/{course['id']}").json()["sessions"]}
    chosen = datetime.fromtimestamp(int(offered[index].split("-")[0]), tz=UTC)
    assert datetime.fromisoformat(after[2]["start"]) == chosen
    changed = {s["number"]: as_shown(after[s["number"]]["start_local"]) for s in before if s["number"] != 2
               and after[s["number"]]["start"] != s["start"]}  # fmt: skip
    assert changed == shown_moves(page, index)
    items = staff.get("/v1/reminders", params={"kind": "patient_action"}).json()["items"]
    assert [(i["session_id"], i["reason"]) for i in items] == [(session["id"], "rescheduled")]


def test_a_new_phone_ends_the_link_and_the_next_message_carries_a_new_one_and_no_log_holds_a_token(
    prolo_live: LiveApi, prolo_staff: httpx.Client, prolo_phone: httpx.Client, clean_db: Database
) -> None:
    served, staff, phone = prolo_live, prolo_staff, prolo_phone
    course = canary_course(staff)
    session = course["sessions"][0]
    path = link_path(staff, session["id"])
    tokens = {path.removeprefix("/p/")}

    def texts() -> list[str]:
        with clean_db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT session_id, body FROM reminder WHERE kind = 'appointment' AND status = 'pending'")
            ).all()
        return [body for sid, body in rows if str(sid).replace("-", "") == session["id"].replace("-", "")]

    # the message names the address the server was started on, and the link opens the page there
    assert all(f"{served.base_url}{path}" in t for t in texts()), texts()
    assert phone.get(path).status_code == 200
    changed = staff.patch(f"/v1/patients/{course['patient_id']}", json={"phone": "+4930999999"})
    assert changed.status_code == 200
    gone = phone.get(path)
    assert gone.status_code == 410 and "has ended" in page_text(gone.text)
    assert phone.post(f"{path}/confirm").status_code == 410
    no_canary(gone.text)
    assert "Maria" not in gone.text
    new_path = link_path(staff, session["id"])
    tokens.add(new_path.removeprefix("/p/"))
    assert new_path != path and all(f"{served.base_url}{new_path}" in t for t in texts())
    assert phone.get(new_path).status_code == 200
    unknown = phone.get("/p/" + "A" * 22)
    assert unknown.status_code == 404
    no_canary(unknown.text)

    served.server.stop()
    output = served.server.output()
    # the access log did write every request to a link, each with the token masked
    assert len(re.findall(r'"(?:GET|POST) /p/…(?:/confirm)? HTTP/1\.1"', output)) == 5
    for token in tokens:
        assert token not in output
