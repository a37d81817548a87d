"""catalog rights per group and record sharing

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kartoteka.storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_rights",
        sa.Column("catalog_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("rights", kartoteka.storage.types.JSONText(), nullable=False),
        sa.PrimaryKeyConstraint("catalog_id", "group_id"),
    )
    op.create_table(
        "record_shares",
        sa.Column("catalog_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("can_edit", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("catalog_id", "record_id", "user_id"),
    )
    op.create_index("ix_record_shares_user", "record_shares", ["user_id", "catalog_id"])


def downgrade() -> None:
    op.drop_index("ix_record_shares_user", table_name="record_shares")
    op.drop_table("record_shares")
    op.drop_table("catalog_rights")
