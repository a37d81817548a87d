"""Set-based writes for batches: explicit ids and one driver-level executemany per table.

SQLAlchemy's generic executemany (with RETURNING) costs more per row than the
database does; here each column's bind processor is looked up once and the rows go
to the driver as plain tuples or dicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_MISSING = object()


def insert_many(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT rows (all with the same keys) in one executemany."""
    if not rows:
        return
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=keys)
    procs = {k: table.c[k].type._cached_bind_processor(dialect) for k in keys}
    active = [(k, proc) for k, proc in procs.items() if proc is not None]
    # Rows of one batch share values such as the write time; bind each distinct one once.
    memo: dict[tuple[str, Any], Any] = {}
    converted = []
    for row in rows:
        out = dict(row)
        for k, proc in active:
            value = row[k]
            try:
                key = (k, value)
                bound = memo.get(key, _MISSING)
                if bound is _MISSING:
                    bound = memo[key] = proc(value)
            except TypeError:  # unhashable (lists, dicts): bind it as it is
                bound = proc(value)
            out[k] = bound
        converted.append(out)
    if compiled.positional:
        order = compiled.positiontup or []
        params: list[Any] = [tuple(row[k] for k in order) for row in converted]
    else:
        params = converted
    conn.exec_driver_sql(str(compiled), params)


def reserve_ids(conn: Connection, table: sa.Table, count: int) -> list[int]:
    """Take `count` new primary keys for `table`, in order, inside the caller's transaction.

    PostgreSQL: from the column's sequence. SQLite: from `sqlite_sequence`, which the
    writer owns while it holds the write lock (BEGIN IMMEDIATE), so no one else can
    take the same ids; inserting explicit ids moves the sequence past them.
    """
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%(t)s, 'id')) FROM generate_series(1, %(n)s)",
            {"t": table.name, "n": count},
        )
        return [int(r[0]) for r in rows]
    last = conn.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)
    ).scalar()
    if last is None:
        last = conn.exec_driver_sql(f'SELECT max(id) FROM "{table.name}"').scalar() or 0
    start = int(last) + 1
    return list(range(start, start + count))
