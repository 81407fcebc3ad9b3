"""operator alerts keyed by the outbox message they are about

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

An alert (a message dead or of unknown fate) was a call task keyed by the message's reminder, so
it was swallowed when the node had created its own call task, and messages with no reminder (calls
to the district, active-case uploads) could not alert at all.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('operator_task', sa.Column('outbox_id', sa.BigInteger(), nullable=True))
    op.alter_column('operator_task', 'case_id',
               existing_type=sa.BIGINT(),
               nullable=True)
    op.alter_column('operator_task', 'reminder_id',
               existing_type=sa.BIGINT(),
               nullable=True)
    op.create_index('uq_operator_task_outbox_operator', 'operator_task', ['outbox_id', 'operator_id'], unique=True, postgresql_where=sa.text('outbox_id IS NOT NULL'))
    op.create_foreign_key(op.f('fk_operator_task_outbox_id_outbox'), 'operator_task', 'outbox', ['outbox_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    # Alerts without a reminder or a case cannot exist in the old shape.
    op.execute("DELETE FROM operator_task WHERE reminder_id IS NULL OR case_id IS NULL")
    op.drop_constraint(op.f('fk_operator_task_outbox_id_outbox'), 'operator_task', type_='foreignkey')
    op.drop_index('uq_operator_task_outbox_operator', table_name='operator_task', postgresql_where=sa.text('outbox_id IS NOT NULL'))
    op.alter_column('operator_task', 'reminder_id',
               existing_type=sa.BIGINT(),
               nullable=False)
    op.alter_column('operator_task', 'case_id',
               existing_type=sa.BIGINT(),
               nullable=False)
    op.drop_column('operator_task', 'outbox_id')
