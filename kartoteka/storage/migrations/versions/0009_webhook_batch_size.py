"""webhooks.batch_size: several events per notify message

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add webhooks.batch_size (1: one event per message, as before)."""
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column("batch_size", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("batch_size")
