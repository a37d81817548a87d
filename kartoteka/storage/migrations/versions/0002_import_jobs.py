"""import jobs

Revision ID: 0002_imports
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kartoteka.storage.types

revision = "0002_imports"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the `imports` table (one row per import job, with its progress and errors)."""
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalog_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("options", kartoteka.storage.types.JSONText(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("error_sample", kartoteka.storage.types.JSONText(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    """Drop the `imports` table."""
    op.drop_table("imports")
