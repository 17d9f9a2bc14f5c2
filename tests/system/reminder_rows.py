"""Due reminders written straight into the test database, for the dispatcher's whole-system tests.

The API plans reminders one course at a time; a dispatcher test wants thousands of due
rows now. One practitioner, patient, course and session own them all (the foreign keys
need them, nothing else does), and every reminder takes a slot of its own
(`offset_minutes`), since at most one pending reminder may hold a (session, kind, rule,
offset) (R19). Rows go in through SQLAlchemy Core in chunks: thousands in a second, on
SQLite and PostgreSQL alike.

    owner = make_owner(engine, now)
    rows = reminder_rows(owner, 2000, due_at=now - timedelta(minutes=5), expires_at=now + timedelta(hours=6))
    insert_reminders(engine, rows)
"""

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlmodel import Session as DbSession
from sqlmodel import col

from models import Course, Patient, Practitioner, Protocol, Reminder, Session
from scheduling.lifecycle import CourseStatus, SessionStatus
from scheduling.reminders import ReminderStatus

PHONE = "+4930123456"
EMAIL = "maria@example.org"
BODY = "Hello Maria, a reminder of your appointment at the Prolo clinic."
CHUNK = 500

_slots = itertools.count(1)


@dataclass(frozen=True)
class Owner:
    """The patient and session every inserted reminder belongs to."""

    patient_id: uuid.UUID
    session_id: uuid.UUID


def make_owner(engine: Engine, now: datetime) -> Owner:
    """One practitioner, consenting SMS patient, active course (default protocol) and session, two days ahead."""
    with DbSession(engine) as db:
        protocol = db.execute(select(Protocol).where(col(Protocol.is_default))).scalar_one()
        practitioner = Practitioner(name="Dr. Amara Okafor", working_hours=None)
        patient = Patient(
            mrn=f"DISPATCH-{uuid.uuid4().hex[:12]}",
            given_name="Maria",
            family_name="Keller",
            given_name_key="maria",
            family_name_key="keller",
            date_of_birth=date(1971, 4, 9),
            phone=PHONE,
            email=EMAIL,
            reminder_channel="sms",
            reminder_consent=True,
            medications=[],
            allergies=[],
        )
        course = Course(
            patient_id=patient.id,
            practitioner_id=practitioner.id,
            protocol_id=protocol.id,
            status=CourseStatus.active,
            condition="chronic low back pain",
            start_date=(now + timedelta(days=2)).date(),
            session_count=1,
            interval_days=protocol.interval_days,
            interval_tolerance_days=protocol.interval_tolerance_days,
            min_interval_days=protocol.min_interval_days,
            session_minutes=protocol.session_minutes,
            injectate=protocol.injectate,
            rules=[],
            warnings=[],
            created_at=now,
        )
        start = now + timedelta(days=2)
        session = Session(
            course_id=course.id,
            patient_id=patient.id,
            practitioner_id=practitioner.id,
            number=1,
            start_at=start,
            end_at=start + timedelta(minutes=protocol.session_minutes),
            status=SessionStatus.scheduled,
            warnings=[],
        )
        for row in (practitioner, patient, course, session):  # no ORM relationships: the foreign keys set the order
            db.add(row)
            db.flush()
        db.commit()
        return Owner(patient_id=patient.id, session_id=session.id)


def reminder_rows(
    owner: Owner,
    count: int,
    *,
    due_at: datetime,
    expires_at: datetime,
    channel: str = "sms",
    key_prefix: str = "dispatch",
) -> list[dict[str, Any]]:
    """`count` pending reminders, each with a unique idempotency key and a slot of its own."""
    rows = []
    for _ in range(count):
        slot = next(_slots)
        rows.append(
            {
                "id": uuid.uuid4(),
                "kind": "appointment",
                "audience": "patient",
                "channel": channel,
                "due_at": due_at,
                "expires_at": expires_at,
                "status": ReminderStatus.pending,
                "attempts": 0,
                "next_attempt_at": None,
                "lease_until": None,
                "leased_by": None,
                "idempotency_key": f"{key_prefix}-{slot:06d}-{uuid.uuid4().hex[:8]}",
                "patient_id": owner.patient_id,
                "session_id": owner.session_id,
                "rule_code": "",
                "offset_minutes": slot,
                "reason": None,
                "last_error": None,
                "sent_at": None,
                "provider_id": None,
                "to_address": EMAIL if channel == "email" else PHONE,
                "subject": "Your appointment" if channel == "email" else None,
                "body": BODY,
                "created_at": due_at - timedelta(days=1),
            }
        )
    return rows


def insert_reminders(engine: Engine, rows: list[dict[str, Any]]) -> None:
    table = Reminder.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start : start + CHUNK])


@dataclass(frozen=True)
class Row:
    """What the dispatcher left in one reminder row."""

    status: str
    attempts: int
    leased_by: str | None
    lease_until: datetime | None
    sent_at: datetime | None


def rows_by_key(engine: Engine) -> dict[str, Row]:
    """Every reminder's state, by idempotency key."""
    columns = (
        col(Reminder.idempotency_key),
        col(Reminder.status),
        col(Reminder.attempts),
        col(Reminder.leased_by),
        col(Reminder.lease_until),
        col(Reminder.sent_at),
    )
    with engine.connect() as conn:
        return {
            key: Row(status=status, attempts=attempts, leased_by=leased_by, lease_until=lease_until, sent_at=sent_at)
            for key, status, attempts, leased_by, lease_until, sent_at in conn.execute(select(*columns))
        }
