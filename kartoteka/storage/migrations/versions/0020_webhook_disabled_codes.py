"""the code and parameters of why a webhook was switched off, beside its English text

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kartoteka.storage.types import JSONText

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add webhooks.disabled_reason_code and webhooks.disabled_reason_params (where still
    missing). Webhooks switched off before keep their English text and no code."""
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("webhooks")}
    if "disabled_reason_code" in have:
        # A workspace stamped back to an older revision may have the columns already.
        return
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("disabled_reason_code", sa.String(60), nullable=True))
        batch.add_column(sa.Column("disabled_reason_params", JSONText, nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("disabled_reason_params")
        batch.drop_column("disabled_reason_code")
