"""The audit trail whole (S7): no event replaced on SQLite, and the default protocol's creation recorded.

- SQLite's `REPLACE INTO` / `INSERT OR REPLACE` deletes the row in its way without
  firing delete triggers (unless `recursive_triggers` is on), so migration 0005's
  triggers let an event be replaced by another under its id. A BEFORE INSERT
  trigger now refuses an insert whose id is taken, whatever its conflict clause.
  An upsert's `DO UPDATE` fires the update trigger, which refuses it already; on
  PostgreSQL there is no REPLACE, and 0005's row and TRUNCATE triggers cover the rest.
- Migration 0001 made the default protocol before the trail existed (0005), so its
  creation had no event. It gets one here, as 0001 made it (the `before` of the
  protocol's first recorded change, if any, else the row as it is), by the actor
  `prolo database migration` (role `migration`). Downgrading keeps the event: the
  trail is append-only, and it is true; upgrading again adds none.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
DEFAULT_PROTOCOL_ID = "5a1e0d00-0000-4000-8000-000000000001"  # migration 0001's
_REFUSE = "audit events are append-only"
_SQLITE_UP = (
    "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event "
    "WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id) "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
)
_SQLITE_DOWN = "DROP TRIGGER audit_event_no_replace"

_PROTOCOL = sa.table(
    "protocol",
    sa.column("id", sa.Uuid()), sa.column("name", sa.String()), sa.column("session_count", sa.Integer()),
    sa.column("interval_days", sa.Integer()), sa.column("interval_tolerance_days", sa.Integer()),
    sa.column("min_interval_days", sa.Integer()), sa.column("session_minutes", sa.Integer()),
    sa.column("injectate", sa.String()), sa.column("is_default", sa.Boolean()), sa.column("rules", JSON),
)  # fmt: skip
_EVENT = sa.table(
    "audit_event",
    sa.column("id", sa.BigInteger()), sa.column("txid", sa.BigInteger()), sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Uuid()), sa.column("actor_name", sa.String()), sa.column("actor_role", sa.String()),
    sa.column("action", sa.String()), sa.column("entity_type", sa.String()), sa.column("entity_id", sa.String()),
    sa.column("before", JSON), sa.column("after", JSON),
)  # fmt: skip


def _default_protocol_as_made(bind: sa.Connection) -> dict[str, Any] | None:
    """The default protocol as 0001 made it; None when it is gone or its creation is recorded already."""
    events = [
        row.before
        for row in bind.execute(
            sa.select(_EVENT.c.before)
            .where(_EVENT.c.entity_type == "protocol", _EVENT.c.entity_id == DEFAULT_PROTOCOL_ID)
            .order_by(_EVENT.c.id)
        )
    ]
    if None in events:  # recorded already (upgraded before, downgraded, upgraded again)
        return None
    if events:
        return dict(events[0])
    row = bind.execute(sa.select(_PROTOCOL).where(_PROTOCOL.c.id == uuid.UUID(DEFAULT_PROTOCOL_ID))).first()
    if row is None:
        return None
    return {**row._asdict(), "id": DEFAULT_PROTOCOL_ID}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(_SQLITE_UP)
    made = _default_protocol_as_made(bind)
    if made is None:
        return
    txid = 0  # SQLite's; on PostgreSQL the writing transaction's, as every event's (api/store/audit.py)
    if bind.dialect.name == "postgresql":
        txid = bind.execute(sa.text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()
    bind.execute(
        _EVENT.insert().values(
            txid=txid,
            at=datetime.now(UTC),
            actor_id=None,
            actor_name="prolo database migration",
            actor_role="migration",
            action="create_default_protocol",
            entity_type="protocol",
            entity_id=DEFAULT_PROTOCOL_ID,
            after=made,  # `before` stays SQL NULL: the row was made
        )
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_SQLITE_DOWN)
