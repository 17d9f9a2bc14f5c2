"""Patients' SMS replies (R29–R34).

- `inbound_message`: each text received, unique per (provider, provider's message id) (R30).
- `sms_opt_out`: the numbers that asked for no more texts (R33); one lifted keeps its row, with when
  and why (`cleared_at`, `cleared_note`: a staff clear's `source_note`).
- `clinic.country`: the default region of numbers that arrive without +country code (R31).
- `reminder.inbound_message_id`: the text an `sms_reply` answers or a `reply_review` staff item is
  about; such reminders may have no session, and no patient (a number nobody has), so both columns
  may be null now. Downgrading deletes them (older code cannot read a reminder without a session).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 18:17:08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('inbound_message',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(), nullable=False),
    sa.Column('provider_message_id', sa.String(), nullable=False),
    sa.Column('from_number', sa.String(), nullable=False),
    sa.Column('to_number', sa.String(), nullable=True),
    sa.Column('body', sa.String(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('session_ids', JSON, nullable=False),
    sa.Column('intent', sa.String(), nullable=False),
    sa.Column('outcome', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_inbound_message_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_message')),
    sa.UniqueConstraint('provider', 'provider_message_id', name=op.f('uq_inbound_message_provider_provider_message_id'))
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_message_from_number_received_at', ['from_number', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_message_patient_id'), ['patient_id'], unique=False)

    op.create_table('sms_opt_out',
    sa.Column('number', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('inbound_message_id', sa.Uuid(), nullable=True),
    sa.Column('source_note', sa.String(), nullable=True),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cleared_note', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['inbound_message_id'], ['inbound_message.id'], name=op.f('fk_sms_opt_out_inbound_message_id_inbound_message')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_sms_opt_out'))
    )
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(), nullable=True))

    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inbound_message_id', sa.Uuid(), nullable=True))
        batch_op.alter_column('patient_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column('session_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index('uq_reminder_inbound_message_id_idempotency_key', ['inbound_message_id', 'idempotency_key'], unique=True)
        batch_op.create_foreign_key(batch_op.f('fk_reminder_inbound_message_id_inbound_message'), 'inbound_message', ['inbound_message_id'], ['id'])


def downgrade() -> None:
    op.execute("DELETE FROM reminder WHERE inbound_message_id IS NOT NULL OR session_id IS NULL OR patient_id IS NULL")
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reminder_inbound_message_id_inbound_message'), type_='foreignkey')
        batch_op.drop_index('uq_reminder_inbound_message_id_idempotency_key')
        batch_op.alter_column('session_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column('patient_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column('inbound_message_id')

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('country')

    op.drop_table('sms_opt_out')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_message_patient_id'))
        batch_op.drop_index('ix_inbound_message_from_number_received_at')

    op.drop_table('inbound_message')
