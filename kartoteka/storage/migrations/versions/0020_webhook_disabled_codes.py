"""the code and parameters of why a webhook was switched off, beside its English text

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from kartoteka.storage.migrations.columns import add_code_and_params, drop_code_and_params

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add webhooks.disabled_reason_code and webhooks.disabled_reason_params (where still
    missing). Webhooks switched off before keep their English text and no code."""
    add_code_and_params("webhooks", "disabled_reason_code", "disabled_reason_params")


def downgrade() -> None:
    """Drop both columns."""
    drop_code_and_params("webhooks", "disabled_reason_code", "disabled_reason_params")
