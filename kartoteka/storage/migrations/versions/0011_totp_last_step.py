"""the last accepted TOTP time step per user (a code is accepted once)

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add users.totp_last_step."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop users.totp_last_step."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
