"""The day view's changes, told by the database itself to every process's answer cache.

Every write to a session (any writer: the API, the command line, a script) names the
sessions it touched, as they were and as they are: practitioner, patient and start. A
write to the clinic (its zone) names everything. The answer cache (api/store/freshness.py)
then forgets only the answers those sessions were part of.

- PostgreSQL: triggers `NOTIFY prolo_day_view` in the writing transaction, so the notice
  is sent exactly when the commit is, and never for a rollback. The payload is
  "schema practitioner patient epoch-seconds", or "schema *" for everything (the clinic; a
  TRUNCATE): a listener heeds only its own schema's.
- SQLite: triggers add rows to `day_view_change` in the writing transaction; a reader
  that sees `PRAGMA data_version` move reads the rows after the last it saw. The table
  keeps the last 10 000 rows (its numbers are never used twice); a reader further behind
  forgets everything.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEPT = 10_000

_PG_UP = [
    """
    CREATE FUNCTION prolo_day_view_session() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('prolo_day_view', TG_TABLE_SCHEMA || ' ' ||
                OLD.practitioner_id || ' ' || OLD.patient_id || ' ' || extract(epoch FROM OLD.start_at));
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('prolo_day_view', TG_TABLE_SCHEMA || ' ' ||
                NEW.practitioner_id || ' ' || NEW.patient_id || ' ' || extract(epoch FROM NEW.start_at));
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION prolo_day_view_everything() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('prolo_day_view', TG_TABLE_SCHEMA || ' *');
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER session_day_view AFTER INSERT OR UPDATE OR DELETE ON session "
    "FOR EACH ROW EXECUTE FUNCTION prolo_day_view_session()",
    "CREATE TRIGGER session_day_view_truncate AFTER TRUNCATE ON session "
    "FOR EACH STATEMENT EXECUTE FUNCTION prolo_day_view_everything()",
    "CREATE TRIGGER clinic_day_view AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON clinic "
    "FOR EACH STATEMENT EXECUTE FUNCTION prolo_day_view_everything()",
]
_PG_DOWN = [
    "DROP TRIGGER clinic_day_view ON clinic",
    "DROP TRIGGER session_day_view_truncate ON session",
    "DROP TRIGGER session_day_view ON session",
    "DROP FUNCTION prolo_day_view_everything()",
    "DROP FUNCTION prolo_day_view_session()",
]

_SQLITE_UP = [
    "CREATE TABLE day_view_change (seq INTEGER PRIMARY KEY AUTOINCREMENT, practitioner_id CHAR(32), patient_id CHAR(32), "
    "start_at DATETIME, everything BOOLEAN NOT NULL DEFAULT 0)",
    "CREATE TRIGGER day_view_change_kept AFTER INSERT ON day_view_change "
    f"BEGIN DELETE FROM day_view_change WHERE seq <= NEW.seq - {_KEPT}; END",
    "CREATE TRIGGER session_day_view_insert AFTER INSERT ON session BEGIN "
    "INSERT INTO day_view_change (practitioner_id, patient_id, start_at) "
    "VALUES (NEW.practitioner_id, NEW.patient_id, NEW.start_at); END",
    "CREATE TRIGGER session_day_view_update AFTER UPDATE ON session BEGIN "
    "INSERT INTO day_view_change (practitioner_id, patient_id, start_at) "
    "VALUES (OLD.practitioner_id, OLD.patient_id, OLD.start_at); "
    "INSERT INTO day_view_change (practitioner_id, patient_id, start_at) "
    "SELECT NEW.practitioner_id, NEW.patient_id, NEW.start_at "
    "WHERE NEW.practitioner_id IS NOT OLD.practitioner_id OR NEW.patient_id IS NOT OLD.patient_id "
    "OR NEW.start_at IS NOT OLD.start_at; END",
    "CREATE TRIGGER session_day_view_delete AFTER DELETE ON session BEGIN "
    "INSERT INTO day_view_change (practitioner_id, patient_id, start_at) "
    "VALUES (OLD.practitioner_id, OLD.patient_id, OLD.start_at); END",
    *(
        f"CREATE TRIGGER clinic_day_view_{what} AFTER {what.upper()} ON clinic BEGIN "
        "INSERT INTO day_view_change (everything) VALUES (1); END"
        for what in ("insert", "update", "delete")
    ),
]
_SQLITE_DOWN = [
    *(f"DROP TRIGGER clinic_day_view_{what}" for what in ("insert", "update", "delete")),
    "DROP TRIGGER session_day_view_delete",
    "DROP TRIGGER session_day_view_update",
    "DROP TRIGGER session_day_view_insert",
    "DROP TABLE day_view_change",
]


def upgrade() -> None:
    for statement in _PG_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _PG_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN:
        op.execute(statement)
