"""webhooks as records (the `webhooks` system catalog) and loop protection on events

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import kartoteka.storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME = "webhooks"
#: Listed after the user's catalogs.
POSITION = 1_000_000

_catalogs = sa.table(
    "catalogs",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("api_name", sa.String),
    sa.column("position", sa.Integer),
    sa.column("options", kartoteka.storage.types.JSONText()),
    sa.column("created_at", sa.DateTime),
)
_counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))


def _free_name(conn: sa.Connection) -> str:
    taken = {r[0] for r in conn.execute(sa.select(_catalogs.c.api_name))}
    n = 2
    while f"{NAME}_{n}" in taken:
        n += 1
    return f"{NAME}_{n}"


def upgrade() -> None:
    """Add events.cause/depth and webhooks.updated_by; add the `webhooks` system catalog."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("cause", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("depth", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("updated_by", sa.Integer(), nullable=True))
    conn = op.get_bind()
    # The name is reserved from now on: a user's catalog that had it is renamed.
    conn.execute(
        sa.update(_catalogs).where(_catalogs.c.api_name == NAME).values(api_name=_free_name(conn))
    )
    conn.execute(
        sa.insert(_catalogs).values(
            name="Webhooks",
            api_name=NAME,
            position=POSITION,
            options={"system": NAME},
            created_at=datetime.now(UTC).replace(tzinfo=None),
        )
    )
    # Running processes reload catalogs when the meta version moves.
    conn.execute(
        sa.update(_counters)
        .where(_counters.c.name == "meta_version")
        .values(value=_counters.c.value + 1)
    )


def downgrade() -> None:
    """Drop the system catalog and the columns upgrade added."""
    conn = op.get_bind()
    system = sa.func.coalesce(sa.cast(_catalogs.c.options, sa.Text), "")
    conn.execute(
        sa.delete(_catalogs).where(_catalogs.c.api_name == NAME, system.like('%"system"%'))
    )
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("updated_by")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("depth")
        batch.drop_column("cause")
