"""Set-based writes for batches: explicit ids and one driver-level executemany per table
(PostgreSQL: one COPY per table).

SQLAlchemy's generic executemany (with RETURNING) costs more per row than the
database does; here each column's bind processor is looked up once and the rows go
to the driver as plain tuples or dicts.
"""

from __future__ import annotations

import functools
import itertools
import operator
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from .types import JSONText

_MISSING = object()


class Same:
    """A column holding one value on every row of `insert_columns` (bound once)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def insert_many(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT rows (all with the same keys) in one executemany."""
    if not rows:
        return
    keys = list(rows[0])
    get = operator.itemgetter(*keys)
    if len(keys) == 1:  # itemgetter of one key gives the value, not a tuple
        columns: list[Sequence[Any]] = [[get(row) for row in rows]]
    else:
        columns = list(zip(*map(get, rows), strict=True))
    given: dict[str, Sequence[Any] | Same] = {}
    for key, column in zip(keys, columns, strict=True):
        # Rows of one batch share values such as the write time: one object, bound once.
        given[key] = Same(column[0]) if len(set(map(id, column))) == 1 else column
    insert_columns(conn, table, len(rows), given)


def insert_columns(
    conn: Connection,
    table: sa.Table,
    count: int,
    columns: dict[str, Sequence[Any] | Same],
    bound: frozenset[str] = frozenset(),
) -> None:
    """INSERT `count` rows given column by column (each a sequence of `count` values, or
    `Same`), in one executemany (PostgreSQL: COPY); the columns named in `bound` hold
    driver values already (e.g. JSON text built by the caller)."""
    if not count:
        return
    dialect = conn.dialect
    keys = list(columns)
    if dialect.name == "sqlite" and not any(
        c.default is not None and c.key not in columns for c in table.c
    ):  # (a Python-side default left out: SQLAlchemy's statement fills it in)
        _insert_sqlite(conn, table, count, columns, bound)
        return
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup or []) if compiled.positional else keys
    # Each column's bind processor looked up once and mapped over its column; the rows
    # are zipped back in C.
    values: list[Any] = []
    for key in order:
        column = columns[key]
        binder = None if key in bound else _binder(table.c[key].type, dialect)
        values.append(_applied(column, binder))
    tuples = _zipped(values, count)
    if dialect.name == "postgresql" and count >= COPY_FROM:
        kinds = binary_types(dialect, [table.c[key] for key in order], values)
        copy_rows(conn, table.name, order, tuples, kinds)
        return
    params: list[Any] = (
        tuples if compiled.positional else [dict(zip(order, t, strict=True)) for t in tuples]
    )
    conn.exec_driver_sql(str(compiled), params)


#: From this many rows `insert_many` sends them with COPY on PostgreSQL: an executemany
#: there is a statement per row (~100 microseconds each), COPY a stream of rows.
COPY_FROM = 8


def _insert_sqlite(
    conn: Connection,
    table: sa.Table,
    count: int,
    columns: dict[str, Sequence[Any] | Same],
    bound: frozenset[str],
) -> None:
    """`insert_columns` on SQLite: multi-row INSERTs (a few rows: one executemany).

    A JSON document is bound as orjson's UTF-8 bytes and made TEXT by the statement
    (`CAST(? AS TEXT)` reads a blob's bytes as text in the database's encoding, UTF-8):
    the same stored text as binding a str, without decoding each document to a str for
    the driver to encode back."""
    prep = conn.dialect.identifier_preparer
    keys = list(columns)
    marks: list[str] = []
    values: list[Any] = []
    for key in keys:
        column = columns[key]
        kind = table.c[key].type
        as_bytes = key not in bound and isinstance(kind, JSONText)
        marks.append("CAST(? AS TEXT)" if as_bytes else "?")
        binder = _json_bytes if as_bytes else None if key in bound else _binder(kind, conn.dialect)
        values.append(_applied(column, binder))
    names = ", ".join(prep.quote(k) for k in keys)
    head = f"INSERT INTO {prep.format_table(table)} ({names}) VALUES "
    one = f"({', '.join(marks)})"
    if count < MULTI_ROWS_FROM:
        conn.exec_driver_sql(head + one, _zipped(values, count))
        return
    # Many rows: INSERT ... VALUES (...), (...), ... of up to `per` rows per statement.
    # The driver runs each statement in one step without the GIL (an executemany takes
    # the GIL back after every row: a thread writing beside busy Python waits for it
    # row by row), and binds a flat tuple in C.
    per = max(1, min(MULTI_ROWS, SQLITE_MAX_PARAMS // len(keys)))
    for start in range(0, count, per):
        n = min(per, count - start)
        part = [
            itertools.repeat(v.value, n) if isinstance(v, Same) else v[start : start + n]
            for v in values
        ]
        flat = tuple(itertools.chain.from_iterable(zip(*part, strict=True)))
        conn.exec_driver_sql(_rows_sql(head, one, n), flat)


#: From this many rows SQLite gets multi-row INSERTs (fewer: one executemany).
MULTI_ROWS_FROM = 16
#: Rows per multi-row INSERT on SQLite, and its bound on parameters per statement
#: (SQLITE_MAX_VARIABLE_NUMBER is 32,766 since SQLite 3.32).
MULTI_ROWS = 500
SQLITE_MAX_PARAMS = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999


@functools.lru_cache(maxsize=256)
def _rows_sql(head: str, one: str, n: int) -> str:
    """`head` followed by `n` copies of the row's marks `one` (kept: the driver's own
    statement cache finds the same text again)."""
    return head + ", ".join(itertools.repeat(one, n))


def _applied(column: Sequence[Any] | Same, binder: Any) -> Sequence[Any] | Same:
    """A column with `binder` applied to each of its values (to a `Same` value once)."""
    if binder is None:
        return column
    if isinstance(column, Same):
        return Same(binder(column.value))
    return list(map(binder, column))


def _json_bytes(value: Any) -> bytes | None:
    """A JSON document as UTF-8 bytes (None stays NULL)."""
    return None if value is None else orjson.dumps(value)


def _zipped(values: list[Any], count: int) -> list[tuple[Any, ...]]:
    """Rows from columns (a `Same` repeated), zipped in C."""
    columns = [itertools.repeat(v.value, count) if isinstance(v, Same) else v for v in values]
    return list(zip(*columns, strict=True))


def copy_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    binary: Sequence[str] | None = None,
) -> None:
    """`COPY table (columns) FROM STDIN` of driver-level values, in the caller's
    transaction (PostgreSQL). psycopg writes each value in COPY's text format, or in
    its binary format when `binary` names every column's type (`binary_types`)."""
    names = ", ".join(f'"{c}"' for c in columns)
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    sql = f'COPY "{table}" ({names}) FROM STDIN'
    if binary is not None:
        sql += " (FORMAT BINARY)"
    with dbapi.cursor() as cursor, cursor.copy(sql) as copy:
        if binary is not None:
            copy.set_types(list(binary))
        write = copy.write_row
        for row in rows:
            write(row)


#: PostgreSQL column types COPY may send in the binary format, with the one Python type
#: (exactly, `bool` is no `int` here) every value of such a column must have (or None).
#: Binary values cost the client a third of the text format's (an import's chunk:
#: ~6 microseconds a row less) and the server no parsing.
_BINARY: dict[str, tuple[str, type]] = {
    "BIGINT": ("int8", int),
    "INTEGER": ("int4", int),
    "SMALLINT": ("int2", int),
    "TEXT": ("text", str),
    "VARCHAR": ("varchar", str),
    "DATE": ("date", date),
    "TIMESTAMP WITHOUT TIME ZONE": ("timestamp", datetime),
    "BOOLEAN": ("bool", bool),
}


def binary_types(
    dialect: Any, table_columns: Sequence[Any], values: Sequence[Any]
) -> list[str] | None:
    """The binary COPY types of these columns when every one is of a type in `_BINARY` and
    holds only values of its Python type (naive date-times); else None (text format)."""
    out = []
    for column, given in zip(table_columns, values, strict=True):
        ddl = column.type.compile(dialect=dialect).partition("(")[0].strip().upper()
        binary = _BINARY.get(ddl)
        if binary is None:
            return None
        name, kind = binary
        present = [given.value] if isinstance(given, Same) else given
        kinds = set(map(type, present))
        kinds.discard(type(None))
        if kinds - {kind}:
            return None
        if kind is datetime and any(v is not None and v.tzinfo is not None for v in present):
            return None
        out.append(name)
    return out


def _binder(type_: Any, dialect: Any) -> Any:
    """The column's bind processor remembering what it made of each distinct value
    (None: the driver takes values as they are)."""
    proc = type_._cached_bind_processor(dialect)
    if isinstance(type_, JSONText):
        # History changes and event payloads: orjson straight away, without the type
        # decorator's layers of calls (two per row and table of a batch).
        return _json_text
    if proc is None or isinstance(type_, sa.JSON):
        return proc  # JSON documents differ row by row (and are not hashable)
    fast = _iso_binder(proc) if isinstance(type_, sa.Date | sa.DateTime) else None
    if fast is not None:
        return fast
    memo: dict[Any, Any] = {}

    def bind(value: Any) -> Any:
        key = (value.__class__, value)  # 1, 1.0 and True are equal keys otherwise
        try:
            bound = memo.get(key, _MISSING)
        except TypeError:  # unhashable (lists): bind it as it is
            return proc(value)
        if bound is _MISSING:
            if len(memo) > 10_000:
                memo.clear()
            bound = memo[key] = proc(value)
        return bound

    return bind


#: Probes telling whether a dialect's date or date-time text is the ISO form `isoformat`
#: writes in C (SQLite's default storage formats are).
_PROBE_MOMENT = datetime(999, 2, 3, 4, 5, 6, 7)
_PROBE_DAY = date(999, 2, 3)


def _iso_binder(proc: Any) -> Any:
    """A date or naive date-time bound by `isoformat` when that gives exactly what the
    dialect's processor gives (SQLite: its `%`-formatting of a dict per value cost ~2
    microseconds, and a date-time column of an import rarely repeats a value); None
    when the processor writes another form."""
    try:
        moment = proc(_PROBE_MOMENT) == _PROBE_MOMENT.isoformat(" ", "microseconds")
        day = proc(_PROBE_DAY) == _PROBE_DAY.isoformat()
    except (TypeError, ValueError):  # a processor of other values refuses the probe
        return None
    if moment:
        iso_moment = datetime.isoformat

        def bind_moment(value: Any) -> Any:
            if value.__class__ is datetime and value.tzinfo is None:
                return iso_moment(value, " ", "microseconds")
            return proc(value)

        return bind_moment
    if day and proc(_PROBE_MOMENT) == _PROBE_DAY.isoformat():
        iso_day = date.isoformat

        def bind_day(value: Any) -> Any:
            return iso_day(value) if value.__class__ is date else proc(value)

        return bind_day
    return None


def _json_text(value: Any) -> str | None:
    """`JSONText`'s bind processing: the document as JSON text (None stays NULL)."""
    return None if value is None else orjson.dumps(value).decode()


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


# ----- whole batches as one statement on PostgreSQL ----------------------------------------
# An executemany on psycopg is one statement per row (about 100 microseconds each, even
# pipelined); a multi-row VALUES list with thousands of placeholders is too long for
# psycopg's query cache and is parsed again on every call (about 50 ms per 500 rows).
# One JSON document unpacked by `json_to_recordset` is one short statement whatever the
# batch size, and orjson writes the document in C. SQLite runs an executemany in C
# against a local file, which is already cheap.
def _bound_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> str:
    keys = list(rows[0])
    procs = {k: table.c[k].type._cached_bind_processor(conn.dialect) for k in keys}
    active = [(k, p) for k, p in procs.items() if p is not None]
    out = []
    for row in rows:
        bound = dict(row)
        for k, proc in active:
            bound[k] = proc(row[k])
        out.append(bound)
    return orjson.dumps(out).decode()


def _recordset(conn: Connection, table: sa.Table, keys: list[str]) -> str:
    """`json_to_recordset(CAST(:rows AS json)) AS v(col type, ...)` for these columns."""
    cols = ", ".join(f'"{k}" {table.c[k].type.compile(dialect=conn.dialect)}' for k in keys)
    return f"json_to_recordset(CAST(:rows AS json)) AS v({cols})"


def insert_rows(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    skip_conflicts_on: list[str] | None = None,
) -> None:
    """INSERT rows (all with the same keys) as one statement; with `skip_conflicts_on`,
    rows clashing with that unique key are left out (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        stmt = sa.insert(table)
        if skip_conflicts_on:
            stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=skip_conflicts_on)
        conn.execute(stmt, list(rows))
        return
    keys = list(rows[0])
    names = ", ".join(f'"{k}"' for k in keys)
    sql = (
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM {_recordset(conn, table, keys)}'
    )
    if skip_conflicts_on:
        sql += " ON CONFLICT ({}) DO NOTHING".format(", ".join(f'"{k}"' for k in skip_conflicts_on))
    conn.execute(sa.text(sql), {"rows": _bound_rows(conn, table, rows)})


def update_rows(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    key: str = "id",
    same: dict[str, Any] | None = None,
) -> None:
    """UPDATE one row per dict (matched on `key`), setting its other keys; `same` holds
    values set on every row (e.g. the time of the write)."""
    if not rows:
        return
    keys = list(rows[0])
    changed = [k for k in keys if k != key]
    same = same or {}
    if conn.dialect.name != "postgresql":
        stmt = (
            sa.update(table)
            .where(table.c[key] == sa.bindparam(f"_{key}"))
            .values({**{k: sa.bindparam(f"_{k}") for k in changed}, **same})
        )
        conn.execute(stmt, [{f"_{k}": row[k] for k in keys} for row in rows])
        return
    sets = [f'"{k}" = v."{k}"' for k in changed] + [f'"{k}" = :same_{k}' for k in same]
    sql = (
        f'UPDATE "{table.name}" AS t SET {", ".join(sets)} FROM {_recordset(conn, table, keys)} '
        f'WHERE t."{key}" = v."{key}"'
    )
    params = {"rows": _bound_rows(conn, table, rows)}
    params.update({f"same_{k}": v for k, v in same.items()})
    conn.execute(sa.text(sql), params)


def pg_array_text(values: Iterable[Any], texts: bool = False) -> str:
    """A PostgreSQL array's text (`{1,2}`, `{"a","b \\"c\\""}`) for whole numbers or
    (`texts`) strings, to be cast by the server. psycopg dumps a list parameter element
    by element: 2,000 ids cost 1.1 ms of client CPU as a list, 0.08 ms as this text."""
    if not texts:
        return "{" + ",".join(map(str, map(int, values))) + "}"
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def pg_any(column: Any, param: Any, texts: bool = False) -> Any:
    """`column = ANY(<param, an array's text (`pg_array_text`), cast by the server>)`."""
    return column == sa.any_(sa.cast(param, ARRAY(sa.Text() if texts else sa.BigInteger())))


def json_each_in(column: Any, param: Any) -> Any:
    """SQLite: `column IN <param, a JSON array, unpacked by json_each>`."""
    return column.in_(sa.select(sa.func.json_each(param).table_valued("value").c.value))


def _pg_any(column: Any, values: Iterable[Any], texts: bool = False) -> Any:
    text = sa.bindparam(None, pg_array_text(values, texts), type_=sa.Text, unique=True)
    return pg_any(column, text, texts)


def id_in(conn: Connection, column: Any, ids: Sequence[int]) -> Any:
    """`column IN ids`: one array parameter on PostgreSQL (a list of hundreds of
    placeholders is not cached by psycopg and costs milliseconds to parse each time)."""
    if conn.dialect.name == "postgresql":
        return _pg_any(column, ids)
    return column.in_(list(ids))


def values_in(conn: Connection, column: Any, values: Sequence[Any]) -> Any:
    """`column IN values` as ONE bound parameter whatever their number, so a chunk's keys
    are one statement the driver and SQLAlchemy cache (an expanded IN list is a new
    statement of hundreds of placeholders each time): an array on PostgreSQL, a JSON
    array unpacked by `json_each` on SQLite. None when the values are not all text or
    all whole numbers (the caller falls back to IN lists)."""
    if not values:
        return None
    first = type(values[0])
    if first not in (str, int) or any(type(v) is not first for v in values):
        return None
    # Only where the column holds that kind of value (a text key of a UUID column, say,
    # has no `=` with a text array on PostgreSQL).
    kind = sa.String if first is str else sa.Integer
    if not isinstance(getattr(column, "type", None), kind):
        return None
    if conn.dialect.name == "postgresql":
        return _pg_any(column, values, texts=first is str)
    doc = sa.bindparam(None, orjson.dumps(list(values)).decode(), type_=sa.Text, unique=True)
    return json_each_in(column, doc)


def analyze(conn: Connection, table: sa.Table) -> None:
    """Refresh the planner's statistics of a table after a bulk load (PostgreSQL: without
    them a fresh table's GROUP BY is planned for ten rows; SQLite plans from its indexes)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")
