"""scenarios: definitions, their versions, durable runs and their steps; notices.user_id

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kartoteka.storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = kartoteka.storage.types.JSONText


def upgrade() -> None:
    """Create the scenario tables; notices may be addressed to one user."""
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trigger_type", sa.String(length=30), nullable=False),
        sa.Column("catalog_id", sa.Integer(), nullable=True),
        sa.Column("definition", _JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("start_seq", sa.BigInteger(), nullable=False),
        sa.Column("next_fire_at", sa.DateTime(), nullable=True),
        sa.Column("checked_until", sa.DateTime(), nullable=True),
        sa.Column("http_next_at", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_scenarios_trigger", "scenarios", ["trigger_type", "active"])
    op.create_table(
        "scenario_versions",
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", _JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("scenario_id", "version"),
    )
    op.create_table(
        "scenario_runs",
        sa.Column("id", _BIGINT_ID, nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("trigger", _JSON(), nullable=False),
        sa.Column("catalog_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("state", _JSON(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=300), nullable=True),
        sa.Column("parent_run_id", sa.BigInteger(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("watch_catalog_id", sa.Integer(), nullable=True),
        sa.Column("watch_record_id", sa.BigInteger(), nullable=True),
        sa.Column("steps_done", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scenario_id", "key", name="uq_scenario_runs_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_scenario_runs_due", "scenario_runs", ["status", "due_at"])
    op.create_index("ix_scenario_runs_scenario", "scenario_runs", ["scenario_id", "id"])
    op.create_index(
        "ix_scenario_runs_watch", "scenario_runs", ["watch_catalog_id", "watch_record_id"]
    )
    op.create_index("ix_scenario_runs_finished", "scenario_runs", ["finished_at"])
    op.create_table(
        "scenario_steps",
        sa.Column("id", _BIGINT_ID, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("pc", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("input", _JSON(), nullable=True),
        sa.Column("output", _JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["scenario_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "n", name="uq_scenario_steps_n"),
        sqlite_autoincrement=True,
    )

    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
    op.create_index("ix_notices_user", "notices", ["user_id", "read_at"])


def downgrade() -> None:
    """Drop the scenario tables and notices.user_id."""
    op.drop_index("ix_notices_user", table_name="notices")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("user_id")
    op.drop_table("scenario_steps")
    op.drop_index("ix_scenario_runs_finished", table_name="scenario_runs")
    op.drop_index("ix_scenario_runs_watch", table_name="scenario_runs")
    op.drop_index("ix_scenario_runs_scenario", table_name="scenario_runs")
    op.drop_index("ix_scenario_runs_due", table_name="scenario_runs")
    op.drop_table("scenario_runs")
    op.drop_table("scenario_versions")
    op.drop_index("ix_scenarios_trigger", table_name="scenarios")
    op.drop_table("scenarios")
