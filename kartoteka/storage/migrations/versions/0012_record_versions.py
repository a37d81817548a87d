"""record versions: a `version` system column on every catalog table

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kartoteka.storage.dynamic import table_name, version_column

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_catalogs = sa.table("catalogs", sa.column("id", sa.Integer))


def _catalog_tables() -> list[str]:
    """Tables of the workspace's catalogs that exist and lack the column (system ones have
    no `c<id>` table)."""
    conn = op.get_bind()
    insp = sa.inspect(conn)
    existing = set(insp.get_table_names())
    names = [table_name(r[0]) for r in conn.execute(sa.select(_catalogs.c.id))]
    return [
        n
        for n in names
        if n in existing and "version" not in {c["name"] for c in insp.get_columns(n)}
    ]


def upgrade() -> None:
    """Every existing record starts at version 1."""
    for name in _catalog_tables():
        op.add_column(name, version_column())


def downgrade() -> None:
    """Drop the column."""
    conn = op.get_bind()
    insp = sa.inspect(conn)
    names = [table_name(r[0]) for r in conn.execute(sa.select(_catalogs.c.id))]
    for name in names:
        if name in set(insp.get_table_names()):
            with op.batch_alter_table(name) as batch:
                batch.drop_column("version")
