"""indexes: the statistics of a day or month read only that period's cases; the ledger by 提醒次数

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_passive_case_accepted_at', 'passive_case', ['accepted_at'], unique=False, postgresql_where=sa.text('accepted_at IS NOT NULL'))
    op.create_index('ix_passive_case_closed_at', 'passive_case', ['closed_at'], unique=False, postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.create_index('ix_passive_case_community_reminders', 'passive_case', ['community_id', 'reminder_count', 'id'], unique=False)
    op.create_index('ix_passive_case_deadline_at', 'passive_case', ['deadline_at'], unique=False)
    op.create_index('ix_passive_case_dispatched_at', 'passive_case', ['dispatched_at'], unique=False, postgresql_where=sa.text('dispatched_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_passive_case_dispatched_at', table_name='passive_case', postgresql_where=sa.text('dispatched_at IS NOT NULL'))
    op.drop_index('ix_passive_case_deadline_at', table_name='passive_case')
    op.drop_index('ix_passive_case_community_reminders', table_name='passive_case')
    op.drop_index('ix_passive_case_closed_at', table_name='passive_case', postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.drop_index('ix_passive_case_accepted_at', table_name='passive_case', postgresql_where=sa.text('accepted_at IS NOT NULL'))
