"""ledger: an index by community and deadline (a community's ledger sorted by 办理期限)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_passive_case_community_deadline', 'passive_case', ['community_id', 'deadline_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_passive_case_community_deadline', table_name='passive_case')
