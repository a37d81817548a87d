"""import jobs: owner process and heartbeat, so a job cut off by a crash is reported

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add imports.owner (host:pid:start of the process running it) and imports.heartbeat_at."""
    with op.batch_alter_table("imports") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
