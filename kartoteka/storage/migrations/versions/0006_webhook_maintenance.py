"""notices, webhook failure tracking, an index for delivery maintenance

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kartoteka.storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create notices; add webhooks.failing_since/last_success_at; index deliveries by age."""
    op.create_table(
        "notices",
        sa.Column("id", _BIGINT_ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", kartoteka.storage.types.JSONText(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("read_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notices_read", "notices", ["read_at", "id"])
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("failing_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_success_at", sa.DateTime(), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_age", "webhook_deliveries", ["webhook_id", "status", "updated_at"]
    )


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_webhook_deliveries_age", table_name="webhook_deliveries")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("last_success_at")
        batch.drop_column("failing_since")
    op.drop_index("ix_notices_read", table_name="notices")
    op.drop_table("notices")
