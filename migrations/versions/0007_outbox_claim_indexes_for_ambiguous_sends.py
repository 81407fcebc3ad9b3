"""outbox: claim indexes that also cover ambiguous sends being looked up

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

The claim takes ready messages (pending, or checking: an ambiguous send whose vendor records are
to be searched) and messages whose lease ran out (sending, looking_up). Each half gets its own
partial index so the claim stays an index scan however many sent rows the table holds.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_outbox_ready', table_name='outbox')
    op.create_index('ix_outbox_ready', 'outbox', ['next_attempt_at'], unique=False,
                    postgresql_where=sa.text("state IN ('pending', 'checking')"))
    op.create_index('ix_outbox_leased', 'outbox', ['lease_until'], unique=False,
                    postgresql_where=sa.text("state IN ('sending', 'looking_up')"))


def downgrade() -> None:
    # Messages mid-lookup go back to the state the previous version knew: a person decides.
    op.execute("UPDATE outbox SET state = 'unknown', lease_until = NULL WHERE state IN ('checking', 'looking_up')")
    op.drop_index('ix_outbox_leased', table_name='outbox')
    op.drop_index('ix_outbox_ready', table_name='outbox')
    op.create_index('ix_outbox_ready', 'outbox', ['next_attempt_at'], unique=False,
                    postgresql_where=sa.text("state = 'pending'"))
