"""the code and parameters of a delivery's failure, beside its English protocol detail

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from kartoteka.storage.migrations.columns import add_code_and_params, drop_code_and_params

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
    for table, (code, params) in COLUMNS.items():
        add_code_and_params(table, code, params)


def downgrade() -> None:
    """Drop them."""
    for table, (code, params) in COLUMNS.items():
        drop_code_and_params(table, code, params)
