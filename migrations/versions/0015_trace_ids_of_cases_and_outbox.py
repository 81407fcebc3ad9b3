"""trace ids: a case keeps the request id that created it, and its outbox rows carry it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default, no index: adding them rewrites nothing, and nobody queries by them
    # (they are for following a case through the logs).
    op.add_column('passive_case', sa.Column('trace_id', sa.String(length=64), nullable=True))
    op.add_column('outbox', sa.Column('trace_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('outbox', 'trace_id')
    op.drop_column('passive_case', 'trace_id')
