"""the X-Request-ID of the API request behind each event and notify delivery

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add events.request_id and webhook_deliveries.request_id (where still missing)."""
    inspector = sa.inspect(op.get_bind())
    for table in ("events", "webhook_deliveries"):
        # A workspace stamped back to an older revision may have the column already.
        if any(c["name"] == "request_id" for c in inspector.get_columns(table)):
            continue
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("request_id", sa.String(128), nullable=True))


def downgrade() -> None:
    """Drop both request_id columns."""
    for table in ("events", "webhook_deliveries"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("request_id")
