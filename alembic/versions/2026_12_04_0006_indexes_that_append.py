"""Indexes a booking appends to, not scatters over: reminders' keys by session, audit events by id.

A booking writes three dozen reminders and about forty audit events; every index they
enter costs its commit the pages it touches (each written to the WAL, and later to the
database). Two indexes scattered them:

- `reminder.idempotency_key` was unique on its own: a key is a hash, so a booking's keys
  landed on three dozen random pages of a large index, a quarter of the booking's commit.
  A key is made from its session's id (R21), so unique per (session, key) is unique
  everywhere; session ids are time-ordered, so the keys now land together at the end.
  This index also finds a session's reminders: the one on `session_id` alone goes.
- `audit_event (entity_type, entity_id)` put a booking's events in three places (course,
  reminder, session); `(entity_id, entity_type)` puts them together at the end, ids being
  time-ordered. The feed's `(txid, id)` index stays on PostgreSQL only: on SQLite txid is
  always 0 and the feed reads in id order (api/store/audit.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_index("uq_reminder_session_id_idempotency_key", "reminder", ["session_id", "idempotency_key"], unique=True)
    op.drop_index("ix_reminder_session_id", table_name="reminder")
    if _sqlite():  # SQLite keeps a table's UNIQUE constraints in its CREATE TABLE: the table is copied without it
        with op.batch_alter_table("reminder", recreate="always") as batch_op:
            batch_op.drop_constraint("uq_reminder_idempotency_key", type_="unique")
    else:
        op.drop_constraint("uq_reminder_idempotency_key", "reminder", type_="unique")

    op.create_index("ix_audit_event_entity_id_entity_type", "audit_event", ["entity_id", "entity_type"])
    op.drop_index("ix_audit_event_entity_type_entity_id", table_name="audit_event")
    if _sqlite():
        op.drop_index("ix_audit_event_txid_id", table_name="audit_event")


def downgrade() -> None:
    if _sqlite():
        op.create_index("ix_audit_event_txid_id", "audit_event", ["txid", "id"])
    op.create_index("ix_audit_event_entity_type_entity_id", "audit_event", ["entity_type", "entity_id"])
    op.drop_index("ix_audit_event_entity_id_entity_type", table_name="audit_event")

    if _sqlite():
        with op.batch_alter_table("reminder", recreate="always") as batch_op:
            batch_op.create_unique_constraint("uq_reminder_idempotency_key", ["idempotency_key"])
    else:
        op.create_unique_constraint("uq_reminder_idempotency_key", "reminder", ["idempotency_key"])
    op.create_index("ix_reminder_session_id", "reminder", ["session_id"])
    op.drop_index("uq_reminder_session_id_idempotency_key", table_name="reminder")
