"""quarterly assessment: monthly pay and quality entries, conduct findings, the frozen quarter record

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_quarter',
    sa.Column('quarter', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('fund_fen', sa.BigInteger(), nullable=True),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('computed_by', sa.BigInteger(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.BigInteger(), nullable=True),
    sa.Column('history', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.ForeignKeyConstraint(['computed_by'], ['person.id'], name=op.f('fk_assessment_quarter_computed_by_person')),
    sa.ForeignKeyConstraint(['published_by'], ['person.id'], name=op.f('fk_assessment_quarter_published_by_person')),
    sa.PrimaryKeyConstraint('quarter', name=op.f('pk_assessment_quarter'))
    )
    op.create_table('conduct_finding',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('quarter', sa.String(length=7), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('entered_by', sa.BigInteger(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by'], ['person.id'], name=op.f('fk_conduct_finding_entered_by_person')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_conduct_finding_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conduct_finding'))
    )
    op.create_index(op.f('ix_conduct_finding_person_id'), 'conduct_finding', ['person_id'], unique=False)
    op.create_table('monthly_pay',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('quality_score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('entered_by', sa.BigInteger(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by'], ['person.id'], name=op.f('fk_monthly_pay_entered_by_person')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_monthly_pay_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_pay')),
    sa.UniqueConstraint('person_id', 'month', name='uq_monthly_pay_person_month')
    )


def downgrade() -> None:
    op.drop_table('monthly_pay')
    op.drop_index(op.f('ix_conduct_finding_person_id'), table_name='conduct_finding')
    op.drop_table('conduct_finding')
    op.drop_table('assessment_quarter')
