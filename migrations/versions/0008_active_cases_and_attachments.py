"""active cases (主动案件) and attachments (their photos; later the records')

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachment',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('owner_kind', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=True),
    sa.Column('uploaded_by', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by'], ['person.id'], name=op.f('fk_attachment_uploaded_by_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    op.create_index('ix_attachment_owner', 'attachment', ['owner_kind', 'owner_id'], unique=False)
    op.create_table('active_case',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('grid_id', sa.BigInteger(), nullable=False),
    sa.Column('reporter_id', sa.BigInteger(), nullable=False),
    sa.Column('category_id', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('lng', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('self_handled', sa.Boolean(), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('audit_status', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('audited_by', sa.BigInteger(), nullable=True),
    sa.Column('audited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('audit_note', sa.Text(), nullable=True),
    sa.Column('possible_duplicate_of', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['audited_by'], ['person.id'], name=op.f('fk_active_case_audited_by_person')),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_active_case_category_id_category')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_active_case_community_id_community')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_active_case_grid_id_grid')),
    sa.ForeignKeyConstraint(['possible_duplicate_of'], ['active_case.id'], name=op.f('fk_active_case_possible_duplicate_of_active_case')),
    sa.ForeignKeyConstraint(['reporter_id'], ['person.id'], name=op.f('fk_active_case_reporter_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_active_case'))
    )
    op.create_index('ix_active_case_audit_pending', 'active_case', ['community_id', 'reported_at'], unique=False, postgresql_where=sa.text("audit_status = 'pending'"))
    op.create_index('ix_active_case_category_reported', 'active_case', ['category_id', 'reported_at'], unique=False)
    op.create_index('ix_active_case_community_reported', 'active_case', ['community_id', 'reported_at'], unique=False)
    op.create_index('ix_active_case_reporter_reported', 'active_case', ['reporter_id', 'reported_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_active_case_reporter_reported', table_name='active_case')
    op.drop_index('ix_active_case_community_reported', table_name='active_case')
    op.drop_index('ix_active_case_category_reported', table_name='active_case')
    op.drop_index('ix_active_case_audit_pending', table_name='active_case', postgresql_where=sa.text("audit_status = 'pending'"))
    op.drop_table('active_case')
    op.drop_index('ix_attachment_owner', table_name='attachment')
    op.drop_table('attachment')
