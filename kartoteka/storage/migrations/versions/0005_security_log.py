"""security log and TOTP secrets

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kartoteka.storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create security_log and add users.totp_secret."""
    op.create_table(
        "security_log",
        sa.Column("id", _BIGINT_ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("address", sa.String(length=100), nullable=True),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("detail", kartoteka.storage.types.JSONText(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_security_log_event", "security_log", ["event", "id"])
    op.create_index("ix_security_log_user", "security_log", ["user_id", "id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=120), nullable=True))


def downgrade() -> None:
    """Drop security_log and users.totp_secret."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_secret")
    op.drop_index("ix_security_log_user", table_name="security_log")
    op.drop_index("ix_security_log_event", table_name="security_log")
    op.drop_table("security_log")
