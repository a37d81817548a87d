"""the code and parameters of a failed scenario step's error, beside its English text

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from kartoteka.storage.migrations.columns import add_code_and_params, drop_code_and_params

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add scenario_steps.error_code and scenario_steps.error_params (where still missing)."""
    add_code_and_params("scenario_steps", "error_code", "error_params")


def downgrade() -> None:
    """Drop both columns."""
    drop_code_and_params("scenario_steps", "error_code", "error_params")
