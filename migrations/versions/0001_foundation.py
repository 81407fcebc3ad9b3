"""foundation

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('category',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['category.id'], name=op.f('fk_category_parent_id_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category')),
    sa.UniqueConstraint('code', name=op.f('uq_category_code'))
    )
    op.create_index(op.f('ix_category_parent_id'), 'category', ['parent_id'], unique=False)
    op.create_table('person',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('wecom_userid', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('username', name=op.f('uq_person_username'))
    )
    op.create_table('street',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('district_name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street')),
    sa.UniqueConstraint('code', name=op.f('uq_street_code'))
    )
    op.create_table('community',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('street_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_community_street_id_street')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community')),
    sa.UniqueConstraint('code', name=op.f('uq_community_code'))
    )
    op.create_table('grid',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('grid_worker_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_grid_community_id_community')),
    sa.ForeignKeyConstraint(['grid_worker_id'], ['person.id'], name=op.f('fk_grid_grid_worker_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid')),
    sa.UniqueConstraint('code', name=op.f('uq_grid_code'))
    )
    op.create_index(op.f('ix_grid_community_id'), 'grid', ['community_id'], unique=False)
    op.create_index(op.f('ix_grid_grid_worker_id'), 'grid', ['grid_worker_id'], unique=False)
    op.create_table('operator_community',
    sa.Column('operator_id', sa.BigInteger(), nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_operator_community_community_id_community')),
    sa.ForeignKeyConstraint(['operator_id'], ['person.id'], name=op.f('fk_operator_community_operator_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('operator_id', 'community_id', name=op.f('pk_operator_community'))
    )
    op.create_index(op.f('ix_operator_community_community_id'), 'operator_community', ['community_id'], unique=False)
    op.create_table('passive_case',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('district_case_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('category_code', sa.String(length=32), nullable=True),
    sa.Column('category_id', sa.BigInteger(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('lat', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('lng', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('complexity', sa.String(length=20), server_default='normal', nullable=False),
    sa.Column('district_community_code', sa.String(length=32), nullable=True),
    sa.Column('community_id', sa.BigInteger(), nullable=True),
    sa.Column('responsible_person_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('original_deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extension_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extension_requested_deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('extension_granted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extension_denied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_text', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recalled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatch_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('extension_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reopen_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reminder_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('acceptance_timed_out', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('progress_note', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("complexity IN ('simple', 'normal', 'complex', 'difficult')", name=op.f('ck_passive_case_complexity_valid')),
    sa.CheckConstraint("source IN ('hotline', 'leader', 'online', 'media', 'department', 'petition', 'video')", name=op.f('ck_passive_case_source_valid')),
    sa.CheckConstraint("status IN ('received', 'dispatched', 'accepted', 'in_progress', 'extension_requested', 'returned', 'handled', 'replied', 'closed', 'reopened', 'recalled')", name=op.f('ck_passive_case_status_valid')),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_passive_case_category_id_category')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_passive_case_community_id_community')),
    sa.ForeignKeyConstraint(['responsible_person_id'], ['person.id'], name=op.f('fk_passive_case_responsible_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passive_case')),
    sa.UniqueConstraint('district_case_id', name=op.f('uq_passive_case_district_case_id'))
    )
    op.create_index(op.f('ix_passive_case_category_id'), 'passive_case', ['category_id'], unique=False)
    op.create_index('ix_passive_case_community_received', 'passive_case', ['community_id', 'received_at'], unique=False)
    op.create_index('ix_passive_case_received_at', 'passive_case', ['received_at'], unique=False)
    op.create_index('ix_passive_case_responsible_person_id', 'passive_case', ['responsible_person_id'], unique=False)
    op.create_index('ix_passive_case_status_deadline', 'passive_case', ['status', 'deadline_at'], unique=False)
    op.create_table('person_role',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_person_role_community_id_community')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_person_role_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_role')),
    sa.UniqueConstraint('person_id', 'role', 'community_id', name='uq_person_role_person_role_community', postgresql_nulls_not_distinct=True)
    )
    op.create_index(op.f('ix_person_role_community_id'), 'person_role', ['community_id'], unique=False)
    op.create_index(op.f('ix_person_role_person_id'), 'person_role', ['person_id'], unique=False)
    op.create_table('case_event',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=True),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_person_id', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_person_id'], ['person.id'], name=op.f('fk_case_event_actor_person_id_person')),
    sa.ForeignKeyConstraint(['case_id'], ['passive_case.id'], name=op.f('fk_case_event_case_id_passive_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_event'))
    )
    op.create_index('ix_case_event_case_id_id', 'case_event', ['case_id', 'id'], unique=False)
    op.create_table('district_event',
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('district_case_id', sa.String(length=64), nullable=True),
    sa.Column('case_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['passive_case.id'], name=op.f('fk_district_event_case_id_passive_case')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_district_event'))
    )



def downgrade() -> None:

    op.drop_table('district_event')
    op.drop_index('ix_case_event_case_id_id', table_name='case_event')
    op.drop_table('case_event')
    op.drop_index(op.f('ix_person_role_person_id'), table_name='person_role')
    op.drop_index(op.f('ix_person_role_community_id'), table_name='person_role')
    op.drop_table('person_role')
    op.drop_index('ix_passive_case_status_deadline', table_name='passive_case')
    op.drop_index('ix_passive_case_responsible_person_id', table_name='passive_case')
    op.drop_index('ix_passive_case_received_at', table_name='passive_case')
    op.drop_index('ix_passive_case_community_received', table_name='passive_case')
    op.drop_index(op.f('ix_passive_case_category_id'), table_name='passive_case')
    op.drop_table('passive_case')
    op.drop_index(op.f('ix_operator_community_community_id'), table_name='operator_community')
    op.drop_table('operator_community')
    op.drop_index(op.f('ix_grid_grid_worker_id'), table_name='grid')
    op.drop_index(op.f('ix_grid_community_id'), table_name='grid')
    op.drop_table('grid')
    op.drop_table('community')
    op.drop_table('street')
    op.drop_table('person')
    op.drop_index(op.f('ix_category_parent_id'), table_name='category')
    op.drop_table('category')

