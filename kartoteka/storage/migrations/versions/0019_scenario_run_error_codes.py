"""the code and parameters of a failed or skipped scenario run's error, beside its English text

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from kartoteka.storage.migrations.columns import add_code_and_params, drop_code_and_params

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add scenario_runs.error_code and scenario_runs.error_params (where still missing)."""
    add_code_and_params("scenario_runs", "error_code", "error_params")


def downgrade() -> None:
    """Drop both columns."""
    drop_code_and_params("scenario_runs", "error_code", "error_params")
