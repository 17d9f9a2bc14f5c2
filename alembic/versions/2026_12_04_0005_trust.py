"""Trust (SPEC S4–S7): idempotent retries, the append-only audit trail, keys' last use.

- `idempotency_record`: a POST's first answer under its `Idempotency-Key`, kept 24 h.
- `audit_event`: one event per changed row. Append-only, enforced by the database:
  triggers refuse every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE), so no route,
  script or mistaken query can rewrite the trail.
- `api_key.last_used_at`: the minute a key last authenticated a request.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSE = "audit events are append-only"

_POSTGRESQL_UP = (
    f"""CREATE FUNCTION prolo_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{_REFUSE}' USING ERRCODE = 'insufficient_privilege'; END $$""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION prolo_audit_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION prolo_audit_append_only()""",
)
_POSTGRESQL_DOWN = (
    "DROP TRIGGER audit_event_no_truncate ON audit_event",
    "DROP TRIGGER audit_event_append_only ON audit_event",
    "DROP FUNCTION prolo_audit_append_only()",
)
_SQLITE_UP = tuple(
    f"CREATE TRIGGER audit_event_no_{what.lower()} BEFORE {what} ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
    for what in ("UPDATE", "DELETE")
)
_SQLITE_DOWN = ("DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete")


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=True),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("api_key_id", "key", name=op.f("pk_idempotency_record")),
    )
    op.create_index("ix_idempotency_record_created_at", "idempotency_record", ["created_at"], unique=False)
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(), nullable=False),
        sa.Column("actor_role", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("entity_type", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("before", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("after", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_event_txid_id", "audit_event", ["txid", "id"], unique=False)
    op.create_index("ix_audit_event_entity_type_entity_id", "audit_event", ["entity_type", "entity_id"], unique=False)
    op.create_index("ix_audit_event_at", "audit_event", ["at"], unique=False)
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    for statement in _POSTGRESQL_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _POSTGRESQL_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN:
        op.execute(statement)
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_index("ix_audit_event_entity_type_entity_id", table_name="audit_event")
    op.drop_index("ix_audit_event_txid_id", table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_index("ix_idempotency_record_created_at", table_name="idempotency_record")
    op.drop_table("idempotency_record")
