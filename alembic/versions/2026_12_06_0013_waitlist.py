"""The course-aware waitlist (R39–R45).

- `waitlist_entry`: a patient who wants a booked session earlier; one `waiting` entry per course
  (a partial unique index: the database refuses a second, whoever races).
- `waitlist_opening`: a freed span of a practitioner's time, settling, offering, then ended.
- `waitlist_offer`: one opening offered to one entry, at most once (unique).
- `clinic.waitlist`: the mode and limits, the defaults for an existing clinic.
- `reminder.offer_id`: the offer a `waitlist_offer` message carries.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 19:20:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
DEFAULTS = {
    "mode": "staff", "settle_minutes": 10, "hold_minutes": 15, "batch_size": 3,
    "min_lead_minutes": 180, "min_gain_days": 1, "max_offers_per_week": 3,
}
WAITING = sa.text("status = 'waiting'")


def upgrade() -> None:
    op.create_table('waitlist_entry',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('course_id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('practitioner_id', sa.Uuid(), nullable=False),
    sa.Column('priority', sa.String(), nullable=False),
    sa.Column('earliest_date', sa.Date(), nullable=True),
    sa.Column('availability', JSON, nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('note', sa.String(), nullable=True),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('close_reason', sa.String(), nullable=True),
    sa.Column('offers_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_waitlist_entry_course_id_course')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_waitlist_entry_patient_id_patient')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_waitlist_entry_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['session_id'], ['session.id'], name=op.f('fk_waitlist_entry_session_id_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry'))
    )
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_entry_practitioner_id_status', ['practitioner_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_entry_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_entry_session_id'), ['session_id'], unique=False)
        batch_op.create_index('uq_waitlist_entry_course_id_waiting', ['course_id'], unique=True,
                              sqlite_where=WAITING, postgresql_where=WAITING)

    op.create_table('waitlist_opening',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('practitioner_id', sa.Uuid(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('source_session_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('eligible_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hold_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_waitlist_opening_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['source_session_id'], ['session.id'], name=op.f('fk_waitlist_opening_source_session_id_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_opening'))
    )
    with op.batch_alter_table('waitlist_opening', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_opening_status_eligible_at', ['status', 'eligible_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_opening_practitioner_id'), ['practitioner_id'], unique=False)

    op.create_table('waitlist_offer',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('opening_id', sa.Uuid(), nullable=False),
    sa.Column('entry_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('proposed', JSON, nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'], name=op.f('fk_waitlist_offer_entry_id_waitlist_entry')),
    sa.ForeignKeyConstraint(['opening_id'], ['waitlist_opening.id'], name=op.f('fk_waitlist_offer_opening_id_waitlist_opening')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_waitlist_offer_patient_id_patient')),
    sa.ForeignKeyConstraint(['session_id'], ['session.id'], name=op.f('fk_waitlist_offer_session_id_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offer')),
    sa.UniqueConstraint('opening_id', 'entry_id', name=op.f('uq_waitlist_offer_opening_id_entry_id'))
    )
    with op.batch_alter_table('waitlist_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_offer_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_offer_patient_id'), ['patient_id'], unique=False)

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlist', JSON, nullable=True))
    op.get_bind().execute(sa.text("UPDATE clinic SET waitlist = :w"), {"w": json.dumps(DEFAULTS)})
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.alter_column('waitlist', existing_type=JSON, nullable=False)
    _keep_clinic_triggers()

    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reminder_offer_id_waitlist_offer'), 'waitlist_offer', ['offer_id'], ['id'])


def downgrade() -> None:
    op.execute("DELETE FROM reminder WHERE offer_id IS NOT NULL")
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reminder_offer_id_waitlist_offer'), type_='foreignkey')
        batch_op.drop_column('offer_id')
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('waitlist')
    _keep_clinic_triggers()
    op.drop_table('waitlist_offer')
    op.drop_table('waitlist_opening')
    op.drop_table('waitlist_entry')


def _keep_clinic_triggers() -> None:
    """SQLite changes a column by copying the table, which drops its triggers: migration 0012's, which tell
    every process's day view that the clinic changed, are made again as 0012 made them."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for what in ("insert", "update", "delete"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS clinic_day_view_{what} AFTER {what.upper()} ON clinic BEGIN "
            "INSERT INTO day_view_change (everything) VALUES (1); END"
        )
