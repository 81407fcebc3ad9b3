"""delivery attempts, the senders' send log and pauses (rate limits across replicas), community robot keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('send_log',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('rate_key', sa.String(length=80), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_send_log'))
    )
    op.create_index('ix_send_log_key_sent_at', 'send_log', ['rate_key', 'sent_at'], unique=False)
    op.create_table('sender_pause',
    sa.Column('rate_key', sa.String(length=80), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('rate_key', name=op.f('pk_sender_pause'))
    )
    op.create_table('delivery_attempt',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=True),
    sa.Column('provider_ref', sa.String(length=100), nullable=True),
    sa.Column('request_summary', sa.String(length=300), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_delivery_attempt_outbox_id_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempt'))
    )
    op.create_index('ix_delivery_attempt_outbox_id', 'delivery_attempt', ['outbox_id', 'id'], unique=False)
    op.add_column('community', sa.Column('wecom_robot_key', sa.String(length=100), nullable=True))



def downgrade() -> None:

    op.drop_column('community', 'wecom_robot_key')
    op.drop_index('ix_delivery_attempt_outbox_id', table_name='delivery_attempt')
    op.drop_table('delivery_attempt')
    op.drop_table('sender_pause')
    op.drop_index('ix_send_log_key_sent_at', table_name='send_log')
    op.drop_table('send_log')

