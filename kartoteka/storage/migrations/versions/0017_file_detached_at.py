"""when a file left the record value that held it (docs/decisions/0020)

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add files.detached_at (where still missing)."""
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("files")}
    if "detached_at" in have:
        # A workspace stamped back to an older revision may have the column already.
        return
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("detached_at", sa.DateTime, nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("files") as batch:
        batch.drop_column("detached_at")
