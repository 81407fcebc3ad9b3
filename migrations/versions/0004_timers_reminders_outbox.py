"""timers, reminders, outbox, operator tasks; the default policies of SPEC §3 as version 1

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


# Version 1 of each policy, as the regulation states it (editable later through the API).
ACCEPTANCE_V1 = [
    {"key": "accept.wechat", "label": "接单提醒（微信@）", "channels": ["wecom_robot"],
     "recipients": ["community_handler"], "offset_seconds": 600},
    {"key": "accept.phone", "label": "接单提醒（电话）", "channels": ["voice", "operator_task"],
     "recipients": ["community_handler"], "offset_seconds": 1200},
    {"key": "accept.escalate", "label": "接单超时上报", "channels": ["sms", "operator_task"],
     "recipients": ["business_supervisor", "department_supervisor", "community_director",
                    "community_vice_director"], "offset_seconds": 1500},
]
HANDLING_V1 = [
    {"key": "handle.first_third", "label": "督办提醒（询问进展）", "channels": ["voice", "operator_task"],
     "recipients": ["responsible_person"], "fraction": [1, 3]},
    {"key": "handle.second_third", "label": "督办提醒（限期处置）", "channels": ["voice", "operator_task"],
     "recipients": ["responsible_person"], "fraction": [2, 3]},
    {"key": "handle.deadline", "label": "超期提请督办", "channels": ["sms", "operator_task"],
     "recipients": ["business_supervisor", "department_head"], "fraction": [1, 1]},
]


def upgrade() -> None:
    op.create_table('escalation_policy',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('nodes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('quiet_hours', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], name=op.f('fk_escalation_policy_created_by_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_policy')),
    sa.UniqueConstraint('kind', 'version', name='uq_escalation_policy_kind_version')
    )
    op.create_index('uq_escalation_policy_active_kind', 'escalation_policy', ['kind'], unique=True, postgresql_where=sa.text('active'))
    op.create_table('case_timer',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('node_key', sa.String(length=40), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('skip_reason', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['passive_case.id'], name=op.f('fk_case_timer_case_id_passive_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['escalation_policy.id'], name=op.f('fk_case_timer_policy_id_escalation_policy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_timer')),
    sa.UniqueConstraint('case_id', 'generation', 'node_key', name='uq_case_timer_case_generation_node')
    )
    op.create_index('ix_case_timer_pending_due', 'case_timer', ['due_at'], unique=False, postgresql_where=sa.text("state = 'pending'"))
    op.create_table('reminder',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('timer_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('node_key', sa.String(length=40), nullable=True),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('channels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recipients', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('logged_by', sa.BigInteger(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['passive_case.id'], name=op.f('fk_reminder_case_id_passive_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['logged_by'], ['person.id'], name=op.f('fk_reminder_logged_by_person')),
    sa.ForeignKeyConstraint(['timer_id'], ['case_timer.id'], name=op.f('fk_reminder_timer_id_case_timer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder')),
    sa.UniqueConstraint('timer_id', name=op.f('uq_reminder_timer_id'))
    )
    op.create_index('ix_reminder_case_id_id', 'reminder', ['case_id', 'id'], unique=False)
    op.create_table('operator_task',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('reminder_id', sa.BigInteger(), nullable=False),
    sa.Column('operator_id', sa.BigInteger(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('call_person_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_reminder_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['passive_case.id'], name=op.f('fk_operator_task_case_id_passive_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['done_reminder_id'], ['reminder.id'], name=op.f('fk_operator_task_done_reminder_id_reminder')),
    sa.ForeignKeyConstraint(['operator_id'], ['person.id'], name=op.f('fk_operator_task_operator_id_person')),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminder.id'], name=op.f('fk_operator_task_reminder_id_reminder')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_task')),
    sa.UniqueConstraint('reminder_id', 'operator_id', name='uq_operator_task_reminder_operator')
    )
    op.create_index('ix_operator_task_open', 'operator_task', ['operator_id', 'due_at'], unique=False, postgresql_where=sa.text('done_at IS NULL'))
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('idem_key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('message', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=True),
    sa.Column('reminder_id', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['passive_case.id'], name=op.f('fk_outbox_case_id_passive_case'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminder.id'], name=op.f('fk_outbox_reminder_id_reminder')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idem_key', name=op.f('uq_outbox_idem_key'))
    )
    op.create_index(op.f('ix_outbox_case_id'), 'outbox', ['case_id'], unique=False)
    op.create_index('ix_outbox_ready', 'outbox', ['next_attempt_at'], unique=False, postgresql_where=sa.text("state = 'pending'"))
    op.add_column('passive_case', sa.Column('timer_generation', sa.Integer(), server_default='0', nullable=False))


    op.drop_index("ix_passive_case_category_id", table_name="passive_case")
    policy = sa.table("escalation_policy", sa.column("kind", sa.String), sa.column("version", sa.Integer),
                      sa.column("active", sa.Boolean), sa.column("nodes", postgresql.JSONB),
                      sa.column("created_at", sa.DateTime(timezone=True)))
    for kind, nodes in (("acceptance", ACCEPTANCE_V1), ("handling", HANDLING_V1)):
        op.execute(policy.insert().values(kind=kind, version=1, active=True, nodes=nodes, created_at=sa.func.now()))


def downgrade() -> None:
    op.create_index("ix_passive_case_category_id", "passive_case", ["category_id"], unique=False)
    op.drop_column('passive_case', 'timer_generation')
    op.drop_index('ix_outbox_ready', table_name='outbox', postgresql_where=sa.text("state = 'pending'"))
    op.drop_index(op.f('ix_outbox_case_id'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_operator_task_open', table_name='operator_task', postgresql_where=sa.text('done_at IS NULL'))
    op.drop_table('operator_task')
    op.drop_index('ix_reminder_case_id_id', table_name='reminder')
    op.drop_table('reminder')
    op.drop_index('ix_case_timer_pending_due', table_name='case_timer', postgresql_where=sa.text("state = 'pending'"))
    op.drop_table('case_timer')
    op.drop_index('uq_escalation_policy_active_kind', table_name='escalation_policy', postgresql_where=sa.text('active'))
    op.drop_table('escalation_policy')
