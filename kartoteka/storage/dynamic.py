"""Catalog tables: one real table per catalog, one real column per field.

DDL goes through Alembic's `Operations` so the same call works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "updated_by", "version")


def table_name(catalog_id: int) -> str:
    """Name of a catalog's table."""
    return f"c{catalog_id}"


def _system_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.Integer),
        sa.Column("updated_by", sa.Integer),
        # Grows by one with every write of the row: the ETag clients send back in
        # If-Match (optimistic concurrency, docs/api.md "Concurrent edits").
        version_column(),
    ]


def version_column() -> sa.Column:
    """The `version` system column (also added to older tables by migration 0012)."""
    return sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("1"))


def catalog_table(catalog_id: int, columns: Iterable[tuple[str, sa.types.TypeEngine]]) -> sa.Table:
    """A `Table` object for a catalog, on its own MetaData (rebuilt when fields change)."""
    md = sa.MetaData()
    cols = _system_columns() + [sa.Column(name, type_) for name, type_ in columns]
    return sa.Table(table_name(catalog_id), md, *cols, sqlite_autoincrement=True)


def _ops(conn: Connection) -> Operations:
    return Operations(MigrationContext.configure(conn))


def create_catalog_table(conn: Connection, table: sa.Table) -> None:
    """Create a catalog table with indexes on its timestamps."""
    table.create(conn)
    sa.Index(f"ix_{table.name}_created_at", table.c.created_at).create(conn)
    sa.Index(f"ix_{table.name}_updated_at", table.c.updated_at).create(conn)


def drop_catalog_table(conn: Connection, catalog_id: int) -> None:
    """Drop a catalog table and its indexes."""
    _ops(conn).drop_table(table_name(catalog_id))


def add_column(conn: Connection, catalog_id: int, name: str, type_: sa.types.TypeEngine) -> None:
    """Add one nullable column to a catalog table."""
    _ops(conn).add_column(table_name(catalog_id), sa.Column(name, type_, nullable=True))


def drop_column(conn: Connection, catalog_id: int, name: str) -> None:
    """Drop one column (and, on SQLite, its indexes first, which SQLite requires)."""
    drop_column_index(conn, catalog_id, name)
    _ops(conn).drop_column(table_name(catalog_id), name)


def index_name(catalog_id: int, column: str) -> str:
    """Name of the index on one field column."""
    return f"ix_{table_name(catalog_id)}_{column}"


def create_column_index(conn: Connection, catalog_id: int, column: str, unique: bool) -> None:
    """Index a field column; non-unique indexes end in `id` so keyset pages use them."""
    cols = [column] if unique else [column, "id"]
    _ops(conn).create_index(
        index_name(catalog_id, column), table_name(catalog_id), cols, unique=unique
    )


def drop_column_index(conn: Connection, catalog_id: int, column: str) -> None:
    """Drop the index of a field column if it exists."""
    name = index_name(catalog_id, column)
    insp = sa.inspect(conn)
    existing = {ix["name"] for ix in insp.get_indexes(table_name(catalog_id))}
    if name in existing:
        _ops(conn).drop_index(name, table_name=table_name(catalog_id))
