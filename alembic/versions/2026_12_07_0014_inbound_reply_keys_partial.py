"""The unique index of what an inbound text causes covers only reminders that answer a text.

`uq_reminder_inbound_message_id_idempotency_key` (0011) makes what one inbound text causes
once (R30). Reminders that answer no text have no `inbound_message_id`, and a unique index
never compares empty values, so they never needed entries in it; yet every reminder a
booking planned (three dozen) was added to it. Now the index holds only reminders with an
`inbound_message_id`: the same rule, and the same lookups by inbound message (a query that
names a message implies it is not empty), on both databases.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 01:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "uq_reminder_inbound_message_id_idempotency_key"
_COLUMNS = ["inbound_message_id", "idempotency_key"]
_ANSWERS_A_TEXT = sa.text("inbound_message_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index(_INDEX, table_name="reminder")
    op.create_index(
        _INDEX, "reminder", _COLUMNS, unique=True, sqlite_where=_ANSWERS_A_TEXT, postgresql_where=_ANSWERS_A_TEXT
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="reminder")
    op.create_index(_INDEX, "reminder", _COLUMNS, unique=True)
