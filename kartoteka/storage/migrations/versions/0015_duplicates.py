"""duplicate rules per catalog and one normalised key per rule and record

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kartoteka.storage.types import JSONText

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create duplicate_rules and duplicate_keys."""
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "duplicate_rules" not in have:
        op.create_table(
            "duplicate_rules",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("catalog_id", sa.Integer, nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("fields", JSONText, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("created_by", sa.Integer),
            sqlite_autoincrement=True,
        )
        op.create_index("ix_duplicate_rules_catalog", "duplicate_rules", ["catalog_id"])
    if "duplicate_keys" not in have:
        op.create_table(
            "duplicate_keys",
            sa.Column("rule_id", sa.Integer, primary_key=True),
            sa.Column("record_id", sa.BigInteger, primary_key=True),
            sa.Column("key", sa.String(255), nullable=False),
        )
        op.create_index("ix_duplicate_keys_key", "duplicate_keys", ["rule_id", "key", "record_id"])


def downgrade() -> None:
    """Drop duplicate_keys and duplicate_rules."""
    op.drop_index("ix_duplicate_keys_key", "duplicate_keys")
    op.drop_table("duplicate_keys")
    op.drop_index("ix_duplicate_rules_catalog", "duplicate_rules")
    op.drop_table("duplicate_rules")
