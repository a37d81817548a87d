"""the code and parameters of a delivery's failure, beside its English protocol detail

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kartoteka.storage.types import JSONText

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

#: table -> (code column, parameters column)
COLUMNS = {
    "webhook_deliveries": ("last_error_code", "last_error_params"),
    "delivery_attempts": ("error_code", "error_params"),
}


def upgrade() -> None:
    """Add the code and parameters columns (where still missing)."""
    inspector = sa.inspect(op.get_bind())
    for table, (code, params) in COLUMNS.items():
        if code in {c["name"] for c in inspector.get_columns(table)}:
            # A workspace stamped back to an older revision may have the columns already.
            continue
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(code, sa.String(60), nullable=True))
            batch.add_column(sa.Column(params, JSONText, nullable=True))


def downgrade() -> None:
    """Drop them."""
    for table, (code, params) in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_column(params)
            batch.drop_column(code)
