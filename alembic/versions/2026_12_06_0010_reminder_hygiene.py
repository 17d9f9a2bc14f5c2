"""Reminder hygiene (R35–R38): confirm requests, change notices, same-day riders.

- `clinic`: `confirm_request_offset_minutes` (null: no confirm requests),
  `skip_when_confirmed_offsets_minutes`, `change_grace_minutes`, `one_message_per_day`,
  with SPEC's defaults for the clinic that exists.
- `session.told_start_at`, `session.told_at`: what the patient was told of the session at
  booking or at the desk. Sessions booked before this migration count as told where they
  stand now (a cancelled one as cancelled), so no notice goes for changes made before it.
- `reminder.merged_into`: the carrier of a `merged` rider; `reminder.announces`: what a
  change notice tells, session by session.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirm_request_offset_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("skip_when_confirmed_offsets_minutes", JSON, nullable=False, server_default="[2880]")
        )
        batch_op.add_column(sa.Column("change_grace_minutes", sa.Integer(), nullable=False, server_default="5"))
        batch_op.add_column(sa.Column("one_message_per_day", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE clinic SET confirm_request_offset_minutes = 4320")
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.alter_column("skip_when_confirmed_offsets_minutes", server_default=None)
        batch_op.alter_column("change_grace_minutes", server_default=None)
        batch_op.alter_column("one_message_per_day", server_default=None)
    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("told_start_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("told_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE session SET told_start_at = start_at WHERE status <> 'cancelled'")
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("announces", JSON, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_reminder_merged_into_reminder"), "reminder", ["merged_into"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reminder_merged_into_reminder"), type_="foreignkey")
        batch_op.drop_column("announces")
        batch_op.drop_column("merged_into")
    # not a batch: on SQLite that copies the table, which the reminders' keys to it forbid; both
    # databases drop a column in place
    op.execute("ALTER TABLE session DROP COLUMN told_at")
    op.execute("ALTER TABLE session DROP COLUMN told_start_at")
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("one_message_per_day")
        batch_op.drop_column("change_grace_minutes")
        batch_op.drop_column("skip_when_confirmed_offsets_minutes")
        batch_op.drop_column("confirm_request_offset_minutes")
