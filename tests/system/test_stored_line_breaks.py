"""Rows stored before S2 refused line breaks in names still make good feeds and messages.

A clinic named "Isar\\nProlotherapy" once made every calendar feed answer 500 (an
assertion inside `icalendar`) and every email reminder fail (a header cannot hold a
line break). The API refuses such names now (tests/api/test_single_line_texts.py);
rows written before are still read: they are shown as stored, and written out on one
line where a line matters: a calendar's lines, an email's subject.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import text

from api.settings import Settings
from api.web.app import create_app
from models import Role
from tests.api.helpers import book, patient, practitioner
from tests.conftest import Clock, Database, make_key
from tests.system.receivers import SmtpReceiver, smtp_receiver

pytestmark = pytest.mark.system


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
    )
    with TestClient(create_app(settings, engine=clean_db.engine, clock=clock), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {make_key(clean_db.engine, Role.admin)}"
        yield client


def store(database: Database, statement: str, **values: object) -> None:
    """Write as a Prolo before S2 would have: straight into the row (the trail is not the point here)."""
    with database.engine.begin() as conn:
        conn.execute(text(statement), values)


def good_calendar(body: bytes) -> Calendar:
    """Every line of the feed is one content line (CRLF ends, no bare CR or LF), and it parses."""
    assert body.endswith(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in body.split(b"\r\n")), body
    return Calendar.from_ical(body)


def test_s2_names_stored_with_line_breaks_break_no_feed_page_or_message(
    api: TestClient, clean_db: Database, clock: Clock, smtp: SmtpReceiver
) -> None:
    pat = patient(api, email="maria@example.org", reminder_channel="email", reminder_consent=True)
    prac = practitioner(api)
    course = book(api, pat, prac, session_count=1)  # Mon 1 Mar 2027 09:00 Berlin
    store(clean_db, "UPDATE clinic SET name = :name", name="Isar\nProlotherapy\r")
    store(clean_db, "UPDATE practitioner SET name = :name", name="Dr. Amara\nOkafor")
    store(clean_db, "UPDATE patient SET given_name = :name", name="Ma\r\nria")
    store(clean_db, "UPDATE course SET condition = :text", text="knee\npain")
    # the 48 h reminder as the planner wrote it with that name, before S2
    store(
        clean_db,
        "UPDATE reminder SET subject = :subject WHERE kind = 'appointment' AND offset_minutes = 2880",
        subject="Your appointment at Isar\nProlotherapy\r on Mon 1 Mar 2027 at 09:00",
    )

    assert api.get("/v1/clinic").json()["name"] == "Isar\nProlotherapy\r"  # shown as stored
    assert api.get(f"/v1/practitioners/{prac['id']}").json()["name"] == "Dr. Amara\nOkafor"
    assert api.get(f"/v1/courses/{course['id']}/handout").status_code == 200
    assert api.get(f"/v1/courses/{course['id']}/fhir").status_code == 200

    feeds = [f"/v1/patients/{pat['id']}/calendar.ics", f"/v1/practitioners/{prac['id']}/calendar.ics"]
    for owner in (f"/v1/patients/{pat['id']}", f"/v1/practitioners/{prac['id']}"):
        made = api.post(f"{owner}/calendar-token")
        assert made.status_code == 201, made.text
        feeds.append(made.json()["url"].removeprefix("http://testserver"))
    for feed in feeds:
        answer = api.get(feed)
        assert answer.status_code == 200, f"{feed}: {answer.status_code} {answer.text}"
        calendar = good_calendar(answer.content)
        assert str(calendar["X-WR-CALNAME"]).startswith("Isar Prolotherapy")

    # the message planned before goes, its subject on one line
    clock.now = datetime(2027, 2, 27, 8, 1, tzinfo=UTC)  # 09:01 Berlin
    assert api.post("/v1/reminders/dispatch", json={}).json()["sent"] == 1
    [mail] = smtp.mails
    assert mail.message["Subject"] == "Your appointment at Isar Prolotherapy on Mon 1 Mar 2027 at 09:00"

    # and those planned now, from the rows as stored, carry the names on one line
    moved = api.post(
        f"/v1/sessions/{course['sessions'][0]['id']}/reschedule", json={"start": "2027-03-02T10:00:00+01:00"}
    )
    assert moved.status_code == 200, moved.text
    clock.now = datetime(2027, 2, 28, 9, 1, tzinfo=UTC)  # 10:01 Berlin, 48 h before the new time
    assert api.post("/v1/reminders/dispatch", json={}).json()["sent"] == 1
    mail = smtp.mails[-1]
    assert mail.message["Subject"] == "Your appointment at Isar Prolotherapy on Tue 2 Mar 2027 at 10:00"
    assert mail.message.get_content().startswith(
        "Hello Ma ria, this is a reminder of your appointment at Isar Prolotherapy"
    )
