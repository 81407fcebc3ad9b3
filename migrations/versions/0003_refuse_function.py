"""liandong_refuse(code): lets a single statement abort itself with a named reason

Used by the webhook's one-statement intake to roll back when a racing twin claimed its event id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION liandong_refuse(code text) RETURNS boolean
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = code, HINT = 'liandong_refuse';
        END
        $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION liandong_refuse(text)")
