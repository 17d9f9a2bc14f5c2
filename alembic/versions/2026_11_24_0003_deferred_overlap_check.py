"""PostgreSQL checks session overlaps at commit, not per row (R8, R11).

A reflow moves several sessions of one course within one transaction, often each onto
another's old time; row by row they overlap their old selves for a moment. Checked at
commit, the constraint still refuses every overlap that would be stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 11:56:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXCLUDE = (
    "ALTER TABLE session ADD CONSTRAINT ex_session_practitioner_overlap "
    "EXCLUDE USING gist (practitioner_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
    "WHERE (status IN ('scheduled', 'confirmed', 'checked_in'))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE session DROP CONSTRAINT ex_session_practitioner_overlap")
        op.execute(_EXCLUDE + " DEFERRABLE INITIALLY DEFERRED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE session DROP CONSTRAINT ex_session_practitioner_overlap")
        op.execute(_EXCLUDE)
