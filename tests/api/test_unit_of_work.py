"""The unit of work keeps the write rules itself: an actor on every write, reads that change nothing, dry runs."""

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlmodel import col

from api.services import calendars, reminder_plans
from api.services.api_keys import create_api_key
from api.services.practitioners import create_practitioner
from api.store import actors
from api.store.db import Prepared, one_of
from api.store.unit_of_work import NoActor, ReadOnly, reading, writing
from models import Actor, Practitioner, PractitionerCreate, Reminder, Role
from scheduling.reminders import ReminderStatus
from tests.api.helpers import book, patient, practitioner
from tests.conftest import DEFAULT_NOW, Database


def practitioners(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Practitioner)).scalar_one())


def test_a_write_without_an_actor_is_refused_before_it_begins(clean_db: Database) -> None:
    with pytest.raises(NoActor), writing(clean_db.engine, actor=None, action="test"):
        pytest.fail("the block ran")


def test_a_read_locks_and_changes_nothing(clean_db: Database) -> None:
    with reading(clean_db.engine) as uow:
        with pytest.raises(ReadOnly):
            create_practitioner(uow=uow, values=PractitionerCreate(name="Dr. Read Only"))
        with pytest.raises(ReadOnly):
            uow.lock(Practitioner, uuid.uuid4())
    assert practitioners(clean_db) == 0


def test_a_dry_run_stores_nothing_and_its_events_are_forgotten(clean_db: Database) -> None:
    with writing(clean_db.engine, actor=actors.COMMAND_LINE, action="test", dry_run=True) as uow:
        made = create_practitioner(uow=uow, values=PractitionerCreate(name="Dr. Dry Run"))
    assert made.name == "Dr. Dry Run"  # the use case ran as it would
    assert practitioners(clean_db) == 0
    with clean_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'test'")).scalar_one() == 0


def a_key(db: Database) -> Actor:
    """A real front-desk key (an API key's change checks, in its transaction, that the key is still there: S4)."""
    with writing(db.engine, actor=actors.COMMAND_LINE, action="api-keys create") as uow:
        made = create_api_key(uow=uow, name="Front desk PC 1", role=Role.frontdesk, now=DEFAULT_NOW)
    return actors.api_key(made.id, made.name, made.role.value)


# each kind of writer, and the role its events carry
WRITERS: dict[str, tuple[Callable[[Database], Actor], str]] = {
    "an API key": (a_key, "frontdesk"),
    "the command line": (lambda _: actors.COMMAND_LINE, "cli"),
    "a dispatch pass's automatic step": (lambda db: actors.automatic(a_key(db)), "frontdesk"),
    "a patient link": (lambda _: actors.patient_link(uuid.uuid4()), "patient_link"),
    "a patient's SMS": (lambda _: actors.patient_sms(uuid.uuid4()), "patient_sms"),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_every_kind_of_writer_is_recorded_as_itself(clean_db: Database, writer: str) -> None:
    make, role = WRITERS[writer]
    actor = make(clean_db)
    with writing(clean_db.engine, actor=actor, action="test") as uow:
        create_practitioner(uow=uow, values=PractitionerCreate(name="Dr. Anyone"))
    with clean_db.engine.connect() as conn:
        row = conn.execute(text("SELECT actor_id, actor_name, actor_role FROM audit_event WHERE action = 'test'")).one()
    assert (row.actor_name, row.actor_role) == (actor.name, role)
    assert (None if row.actor_id is None else str(row.actor_id).replace("-", "")) == (
        None if actor.id is None else actor.id.hex
    )


@pytest.mark.parametrize(
    "hours",
    [
        pytest.param([None, None, None], id="empty in every row"),
        pytest.param([None, [{"weekday": "mon", "start": "08:00", "end": "12:00"}], None], id="empty in some rows"),
    ],
)
def test_a_bulk_insert_stores_and_records_empty_columns_as_null(clean_db: Database, hours: list[object]) -> None:
    rows = [{"id": uuid.uuid4(), "name": f"Dr. Bulk {n}", "working_hours": h} for n, h in enumerate(hours)]
    with writing(clean_db.engine, actor=actors.COMMAND_LINE, action="test") as uow:
        uow.insert(Practitioner, rows)
    with clean_db.engine.connect() as conn:
        stored = conn.execute(text("SELECT name, working_hours FROM practitioner ORDER BY name")).all()
        recorded = conn.execute(text("SELECT after FROM audit_event WHERE action = 'test' ORDER BY id")).scalars().all()
    assert [(n, json.loads(h) if isinstance(h, str) else h) for n, h in stored] == [
        (r["name"], r["working_hours"]) for r in rows
    ]
    after = [a if isinstance(a, dict) else json.loads(a) for a in recorded]
    assert [(a["name"], a["working_hours"]) for a in after] == [(r["name"], r["working_hours"]) for r in rows]


def test_a_fixed_set_of_states_is_written_into_the_statement_and_nothing_else_is(clean_db: Database) -> None:
    statuses = [ReminderStatus.pending, ReminderStatus.merged]
    query = select(func.count()).select_from(Reminder).where(one_of(col(Reminder.status), statuses))
    sql = str(query.compile(dialect=clean_db.engine.dialect))
    assert "IN ('merged', 'pending')" in sql and "POSTCOMPILE" not in sql  # run as compiled, never re-expanded
    with clean_db.engine.connect() as conn:
        assert conn.execute(query).scalar_one() == 0  # the database reads it
    for outside in ["pending') OR ('1'='1", "Pending", ""]:
        with pytest.raises(ValueError, match="not a state name"):
            one_of(col(Reminder.status), [outside])


def test_prepared_reads_answer_what_sqlalchemy_answers(client: TestClient, clean_db: Database) -> None:
    """The planner's prepared reads (compiled once, run by the driver) give the rows, types and names the
    same statements give through SQLAlchemy, on both databases."""
    prac, pat = practitioner(client), patient(client)
    course = book(client, pat, prac)
    sessions = course["sessions"]
    first, last = datetime.fromisoformat(sessions[0]["start"]), datetime.fromisoformat(sessions[-1]["end"])
    span = {"start": first - timedelta(days=1), "end": last + timedelta(days=1), "now": DEFAULT_NOW}
    reads: list[tuple[Prepared, dict[str, Any]]] = [
        *(
            (query, {**span, "owner_id": uuid.UUID(owner), "lowest_start": span["start"], "course_id": uuid.uuid4()})
            for (column, _), query in calendars._ACTIVE_QUERIES.items()
            for owner in [prac["id"] if column == "practitioner_id" else pat["id"]]
        ),
        (calendars._CLOSURES, {"first_date": first.date(), "last_date": last.date()}),
        (calendars._TIME_OFF, {**span, "practitioner_id": uuid.UUID(prac["id"])}),
        *(
            (
                query,
                {
                    **span,
                    "owner_id": uuid.UUID(prac["id"]),
                    "lowest_start": span["start"],
                    "ignored": uuid.uuid4(),
                    "course_id": uuid.uuid4(),
                },
            )
            for query in calendars._PRACTITIONER_BUSY.values()
        ),
        (reminder_plans._OTHERS_LIVE, {"patient_id": uuid.UUID(pat["id"]), "course_id": uuid.uuid4()}),
    ]
    with reading(clean_db.engine) as uow:
        answers = [(uow.fetch(query, params), uow.rows(query.statement, params).all()) for query, params in reads]
    for prepared, expected in answers:
        assert [tuple(row) for row in prepared] == [tuple(row) for row in expected]
        assert [row._fields for row in prepared] == [tuple(row._fields) for row in expected]
    practitioners_busy, _ = answers[0]
    assert [row.start_at for row in practitioners_busy] == [datetime.fromisoformat(s["start"]) for s in sessions]


def test_a_read_with_an_in_list_of_parameters_cannot_be_prepared(clean_db: Database) -> None:
    query = Prepared(select(col(Reminder.id)).where(col(Reminder.status).in_(["pending", "merged"])))
    with clean_db.engine.connect() as conn, pytest.raises(ValueError, match="one_of"):
        query.rows(conn, {})


def test_a_bulk_insert_stores_an_empty_shared_column_as_null(clean_db: Database) -> None:
    rows = [{"id": uuid.uuid4(), "name": f"Dr. Shared {n}"} for n in range(2)]
    with writing(clean_db.engine, actor=actors.COMMAND_LINE, action="test") as uow:
        uow.insert(Practitioner, rows, same={"working_hours": None})
    with clean_db.engine.connect() as conn:
        stored = conn.execute(text("SELECT name, working_hours FROM practitioner ORDER BY name")).all()
    assert [tuple(r) for r in stored] == [(r["name"], None) for r in rows]
