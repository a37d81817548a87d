"""Per-workspace counters (event sequence, meta version, autonumbers) taken inside a transaction.

The row lock held until commit is what makes the event sequence contiguous under
concurrent writers on PostgreSQL; SQLite serialises writers anyway.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .schema import counters


def take(conn: Connection, name: str, n: int = 1) -> int:
    """Advance counter `name` by `n` and return its new value (first taken = new - n + 1)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    base = insert(counters).values(name=name, value=n)
    stmt = base.on_conflict_do_update(
        index_elements=[counters.c.name], set_={"value": counters.c.value + n}
    ).returning(counters.c.value)
    return int(conn.execute(stmt).scalar_one())


def insert_id(conn: Connection, stmt: sa.Insert) -> int:
    """Execute an INSERT of one row and return its new primary key."""
    key = conn.execute(stmt).inserted_primary_key
    assert key is not None
    return int(key[0])


def peek(conn: Connection, name: str) -> int:
    """Current value of a counter (0 if never taken)."""
    value = conn.execute(sa.select(counters.c.value).where(counters.c.name == name)).scalar()
    return int(value or 0)
