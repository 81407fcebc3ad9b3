"""login failures: the sliding windows that lock an account or an address out for a while

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failure',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    op.create_index('ix_login_failure_address_at', 'login_failure', ['address', 'at'], unique=False)
    op.create_index('ix_login_failure_username_at', 'login_failure', ['username', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_failure_username_at', table_name='login_failure')
    op.drop_index('ix_login_failure_address_at', table_name='login_failure')
    op.drop_table('login_failure')
