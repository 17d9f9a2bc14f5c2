"""Schema changes only through Alembic, and the models and the migrations agree ("Running it").

Each test works on an empty scratch database of its own: a temporary SQLite file, or
on PostgreSQL a database made for the test on the server of PROLO_TEST_DATABASE_URL
and dropped after it, so the session's test database is never touched.
"""

import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DbSession
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table on SQLModel.metadata
from api.settings import Settings
from api.store.db import make_engine
from api.store.migrate import check, downgrade, upgrade
from api.web.app import create_app
from models import Protocol, Role
from scheduling.lifecycle import ACTIVE
from tests.api import helpers
from tests.conftest import make_key

pytestmark = pytest.mark.system


@pytest.fixture
def scratch_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database nobody else uses."""
    server_url = os.environ.get("PROLO_TEST_DATABASE_URL")
    if not server_url:
        engine = make_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    name = f"prolo_scratch_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # as api.store.db.make_engine reads a bare URL
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def prolo_tables() -> set[str]:
    return set(SQLModel.metadata.tables)


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def test_migrations_upgrade_check_downgrade_upgrade_on_an_empty_database(scratch_engine: Engine) -> None:
    assert table_names(scratch_engine) == set()

    upgrade(scratch_engine)
    assert prolo_tables() <= table_names(scratch_engine)
    assert revision(scratch_engine) is not None
    check(scratch_engine)  # `alembic check`: raises if the models and the migrations disagree

    downgrade(scratch_engine, "base")
    assert table_names(scratch_engine) <= {"alembic_version"}, "downgrade base leaves no Prolo table"
    assert revision(scratch_engine) is None
    if scratch_engine.dialect.name == "postgresql":
        with scratch_engine.connect() as conn:
            constraints = conn.execute(
                text("SELECT count(*) FROM pg_constraint WHERE conname = 'ex_session_practitioner_overlap'")
            ).scalar_one()
        assert constraints == 0

    upgrade(scratch_engine)
    assert prolo_tables() <= table_names(scratch_engine)
    check(scratch_engine)


def test_day_view_triggers_survive_every_later_migration(scratch_engine: Engine) -> None:
    """Migration 0012's triggers tell every process's day view what a commit touched; a later migration that
    copies a table (SQLite's way to change a column) must not lose them, on the way up or down."""
    upgrade(scratch_engine)
    expected = (
        {"clinic_day_view", "session_day_view", "session_day_view_truncate"}
        if scratch_engine.dialect.name == "postgresql"
        else {f"{table}_day_view_{what}" for table in ("clinic", "session") for what in ("insert", "update", "delete")}
    )
    assert expected <= day_view_triggers(scratch_engine)
    downgrade(scratch_engine, "0012")
    assert expected <= day_view_triggers(scratch_engine)


def day_view_triggers(engine: Engine) -> set[str]:
    query = (
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
        if engine.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    )
    with engine.connect() as conn:
        return {name for (name,) in conn.execute(text(query)) if "day_view" in name}


def test_migrations_upgrade_head_twice_changes_nothing(scratch_engine: Engine) -> None:
    upgrade(scratch_engine)
    head = revision(scratch_engine)
    upgrade(scratch_engine)
    assert revision(scratch_engine) == head
    with DbSession(scratch_engine) as db:
        defaults = db.execute(select(Protocol).where(Protocol.is_default)).scalars().all()  # type: ignore[arg-type]
    assert len(defaults) == 1, "the default protocol is inserted once"


def test_migrations_postgresql_guard_against_double_booking_exists(scratch_engine: Engine) -> None:
    if scratch_engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's")
    upgrade(scratch_engine)
    with scratch_engine.connect() as conn:
        definition = conn.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conname = 'ex_session_practitioner_overlap' AND contype = 'x'"
            )
        ).scalar_one()
    assert "practitioner_id WITH =" in definition
    assert "&&" in definition
    # Migration 0003 spells the active states out in SQL, as a migration must (it may not import the
    # code of a later day); they must stay exactly the core's R5 vocabulary.
    assert set(re.findall(r"'([a-z_]+)'", definition)) == set(ACTIVE)


def test_r13_default_protocol_exists_after_upgrade(scratch_engine: Engine) -> None:
    upgrade(scratch_engine)
    with DbSession(scratch_engine) as db:
        defaults = db.execute(select(Protocol).where(Protocol.is_default)).scalars().all()  # type: ignore[arg-type]
    assert len(defaults) == 1
    protocol = defaults[0]
    assert (
        protocol.session_count,
        protocol.interval_days,
        protocol.interval_tolerance_days,
        protocol.min_interval_days,
        protocol.session_minutes,
    ) == (6, 14, 3, 7, 45)
    rules = {rule["code"]: rule for rule in protocol.rules}
    assert {code: (r["kind"], r["start_offset_days"], r["duration_days"]) for code, r in rules.items()} == {
        "avoid_nsaids": ("avoid_medication", 0, 5),
        "expect_symptoms": ("expect_symptoms", 0, 3),
        "follow_up": ("follow_up", 3, 1),
        "exercises": ("exercise", 2, 12),
    }
    assert rules["avoid_nsaids"]["medication_class"] == "nsaid"
    assert all(rule["instruction"] for rule in rules.values())


def test_reminder_keys_survive_0006_both_ways_and_stay_unique_per_session(scratch_engine: Engine) -> None:
    """Migration 0006 moves the keys' uniqueness from the key alone to (session, key); on SQLite that
    copies the reminder table. A booked course's reminders come through down and up again unchanged,
    and the database still refuses a second reminder with a session's key."""
    upgrade(scratch_engine)
    settings = Settings(database_url=scratch_engine.url.render_as_string(hide_password=False))
    app = create_app(settings, engine=scratch_engine)
    with TestClient(app, headers={"X-API-Key": make_key(scratch_engine, Role.admin)}) as client:
        course = helpers.book(client, helpers.patient(client, email="maria@example.org"), helpers.practitioner(client))
        before = client.get("/v1/reminders", params={"limit": 200}).json()
    assert before["total"] >= 6 * len(course["sessions"])

    def stored() -> list[tuple[str, str, str]]:
        with scratch_engine.connect() as conn:
            rows = conn.execute(text("SELECT id, session_id, idempotency_key FROM reminder ORDER BY id"))
            return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    kept = stored()
    downgrade(scratch_engine, "0005")
    assert stored() == kept
    upgrade(scratch_engine)
    assert stored() == kept
    check(scratch_engine)

    key = kept[0][2]
    with scratch_engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(
            text(
                "INSERT INTO reminder (id, kind, audience, channel, due_at, expires_at, status, attempts,"
                " idempotency_key, patient_id, session_id, rule_code, offset_minutes, body, created_at)"
                " SELECT :id, kind, audience, channel, due_at, expires_at, 'cancelled', attempts, idempotency_key,"
                " patient_id, session_id, rule_code, offset_minutes, body, created_at FROM reminder"
                " WHERE idempotency_key = :key"
            ),
            {"id": uuid.uuid4().hex if scratch_engine.dialect.name == "sqlite" else uuid.uuid4(), "key": key},
        )


def test_s7_0007_records_the_default_protocol_as_0001_made_it_once(scratch_engine: Engine) -> None:
    """A database that edited its default protocol before 0007 gets its creation recorded as it was made,
    not as it is; downgrading keeps that event (the trail is append-only) and upgrading again adds none."""
    upgrade(scratch_engine, "0006")
    # Renamed as the service of 0006's day did it (today's models have columns 0006 lacks): the row
    # changed and one event holding it before and after.
    tables = MetaData()
    tables.reflect(scratch_engine, only=["protocol", "audit_event"])
    protocol, event = tables.tables["protocol"], tables.tables["audit_event"]
    with scratch_engine.begin() as conn:
        made = conn.execute(select(protocol).where(protocol.c.is_default.is_(True))).one()._asdict()
        made_id = str(uuid.UUID(str(made["id"])))  # SQLite keeps it as 32 hex digits
        conn.execute(protocol.update().where(protocol.c.id == made["id"]).values(name="Dextrose, our way"))
        as_json = json.loads(json.dumps({**made, "id": made_id}, default=str))
        conn.execute(
            event.insert().values(
                txid=0,
                at=datetime.now(UTC),
                actor_id=None,
                actor_name="test",
                actor_role="admin",
                action="update_protocol",
                entity_type="protocol",
                entity_id=made_id,
                before=as_json,
                after={**as_json, "name": "Dextrose, our way"},
            )
        )
    default = {"id": made_id, "name": made["name"]}

    def creations() -> list[tuple[str, str]]:
        with scratch_engine.connect() as conn:
            rows = conn.execute(
                text("SELECT action, after FROM audit_event WHERE entity_id = :id AND before IS NULL ORDER BY id"),
                {"id": default["id"]},
            ).all()
        return [
            (row.action, (row.after if isinstance(row.after, dict) else json.loads(row.after))["name"]) for row in rows
        ]

    upgrade(scratch_engine)
    assert creations() == [("create_default_protocol", default["name"])]
    downgrade(scratch_engine, "0006")
    upgrade(scratch_engine)
    assert creations() == [("create_default_protocol", default["name"])]
