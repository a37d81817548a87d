"""the code and parameters of a failed or skipped scenario run's error, beside its English text

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kartoteka.storage.types import JSONText

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add scenario_runs.error_code and scenario_runs.error_params (where still missing)."""
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("scenario_runs")}
    if "error_code" in have:
        # A workspace stamped back to an older revision may have the columns already.
        return
    with op.batch_alter_table("scenario_runs") as batch:
        batch.add_column(sa.Column("error_code", sa.String(60), nullable=True))
        batch.add_column(sa.Column("error_params", JSONText, nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("scenario_runs") as batch:
        batch.drop_column("error_params")
        batch.drop_column("error_code")
