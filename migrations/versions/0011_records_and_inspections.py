"""records and materials (资料完善): community registers with their audit trail, inspections and problems

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inspection',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('inspecting_community_id', sa.BigInteger(), nullable=True),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('inspector_id', sa.BigInteger(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('tasks', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_inspection_community_id_community')),
    sa.ForeignKeyConstraint(['inspecting_community_id'], ['community.id'], name=op.f('fk_inspection_inspecting_community_id_community')),
    sa.ForeignKeyConstraint(['inspector_id'], ['person.id'], name=op.f('fk_inspection_inspector_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection'))
    )
    op.create_index('ix_inspection_community_date', 'inspection', ['community_id', 'inspected_on'], unique=False)
    op.create_table('record',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], name=op.f('fk_record_author_id_person')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_record_community_id_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record'))
    )
    op.create_index('ix_record_community_kind_date', 'record', ['community_id', 'kind', 'occurred_on'], unique=False)
    op.create_table('inspection_problem',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.BigInteger(), nullable=False),
    sa.Column('grid_id', sa.BigInteger(), nullable=True),
    sa.Column('category_id', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('deadline_on', sa.Date(), nullable=False),
    sa.Column('follow_up', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_inspection_problem_category_id_category')),
    sa.ForeignKeyConstraint(['closed_by'], ['person.id'], name=op.f('fk_inspection_problem_closed_by_person')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_inspection_problem_grid_id_grid')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_inspection_problem_inspection_id_inspection'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['person.id'], name=op.f('fk_inspection_problem_owner_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_problem'))
    )
    op.create_index('ix_inspection_problem_inspection', 'inspection_problem', ['inspection_id'], unique=False)
    op.create_index('ix_inspection_problem_open_deadline', 'inspection_problem', ['deadline_on'], unique=False, postgresql_where=sa.text('closed_at IS NULL'))
    op.create_table('record_revision',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('by_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['person.id'], name=op.f('fk_record_revision_by_id_person')),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_record_revision_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_revision'))
    )
    op.create_index('ix_record_revision_record', 'record_revision', ['record_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_record_revision_record', table_name='record_revision')
    op.drop_table('record_revision')
    op.drop_index('ix_inspection_problem_open_deadline', table_name='inspection_problem', postgresql_where=sa.text('closed_at IS NULL'))
    op.drop_index('ix_inspection_problem_inspection', table_name='inspection_problem')
    op.drop_table('inspection_problem')
    op.drop_index('ix_record_community_kind_date', table_name='record')
    op.drop_table('record')
    op.drop_index('ix_inspection_community_date', table_name='inspection')
    op.drop_table('inspection')
