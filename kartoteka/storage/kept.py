"""A SELECT compiled once and run on the driver's cursor: the record's GET and a page's
lookups by ids (issue 16).

SQLAlchemy's execution of a cached statement (the compiled-cache lookup, an execution
context, bind and result processing set up per call, a `CursorResult` and its `Row`)
cost a record's GET more than the indexed read itself: ~19% of the event loop's time
per request. `KeptSelect` does once per statement what SQLAlchemy redoes per call: the
SQL text, the positional parameters with their bind processors applied (the statement's
own values; the rights clause's values are fixed in its cached object), and each
column's result processor. Each call then binds the one changing parameter, executes on
the driver's cursor inside the caller's SQLAlchemy transaction (begun as SQLAlchemy
begins it, so the read's snapshot and its rollback are unchanged), and processes the
row's values as SQLAlchemy would. The statement is still built and compiled by
SQLAlchemy, from the same rights clause; only its execution is ours.

SQLite (positional parameters) and psycopg (named ones; its result processors may depend
on the server's column types, so they are taken from the first row's description; on a
connection in autocommit the statement runs on libpq itself, prepared once, `pgraw`). A
statement it cannot keep exactly (expanding or literal-execute parameters, parameters
computed per execution, another driver) is run by SQLAlchemy as before. A list of ids
is kept as one parameter (`in_ids`). See
docs/decisions/0025-a-records-select-is-run-on-sqlites-driver.md, 0026, 0028 and 0030.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import pgraw
from .bulk import json_each_in, pg_any, pg_array_text


class _Unkept(Exception):
    """The statement needs SQLAlchemy's execution (see `KeptSelect`)."""


class KeptSelect:
    """One SELECT's SQL, parameters and result processing, for the driver's cursor."""

    __slots__ = ("sql", "params", "at", "row", "columns", "processors", "described", "raw")

    def __init__(self, statement: Any, dialect: Any, name: str) -> None:
        compiled = statement.compile(dialect=dialect)
        processors = compiled._bind_processors
        named = dialect.name == "postgresql" and dialect.driver == "psycopg"
        if (
            not (dialect.name == "sqlite" and compiled.positional)
            and not (named and not compiled.positional and dialect.paramstyle == "pyformat")
        ) or (
            compiled.post_compile_params
            or compiled.literal_execute_params
            or any(b.callable is not None for b in compiled.binds.values())
            or name not in compiled.binds
            or (compiled.positional and compiled.positiontup.count(name) != 1)
            or processors.get(name) is not None  # it would need processing per call
        ):
            raise _Unkept
        values = compiled.construct_params({name: None})
        self.sql: str = compiled.string
        # The statement's own values, processed once; the changing one is bound per call.
        processed = {
            key: proc(value) if (proc := processors.get(key)) is not None else value
            for key, value in values.items()
        }
        self.params: list[Any] | dict[str, Any]
        if compiled.positional:
            order = compiled.positiontup
            self.params = [processed[key] for key in order]
            self.at: Any = order.index(name)
        else:
            self.params, self.at = processed, name
        columns = compiled._result_columns
        fields = tuple(c.keyname for c in columns)
        # Read positionally and by name, as SQLAlchemy's `Row` is.
        names = {f: property(itemgetter(i)) for i, f in enumerate(fields) if _plain(f)}
        self.row = type("KeptRow", (tuple,), {"__slots__": (), "_fields": fields, **names})
        self.columns = [c.type for c in columns]
        self.processors: list[tuple[int, Callable[[Any], Any]]] = []
        # SQLite's processors depend on the column types alone; psycopg's may depend on
        # what the server reports for each column too (`described`, at the first row).
        self.described = not named
        if self.described:
            self._processors(dialect, [None] * len(self.columns))
        #: psycopg: the statement for libpq (`pgraw`), run there on a connection that may.
        self.raw = pgraw.RawForm(self.sql) if named else None

    def _processors(self, dialect: Any, codes: list[Any]) -> None:
        self.processors = [
            (i, proc)
            for i, (kind, code) in enumerate(zip(self.columns, codes, strict=True))
            if (proc := kind._cached_result_processor(dialect, code)) is not None
        ]

    def _cursor(self, conn: Connection, value: Any) -> Any:
        """The driver's cursor having run the statement for `value`, inside `conn`'s
        transaction (begun here if none is)."""
        driver: Any = conn.connection.driver_connection
        sqlite = type(driver) is sqlite3.Connection
        if not conn.in_transaction():
            if sqlite and conn.get_execution_options().get("kt_read"):
                # A read's deferred transaction, begun on the driver: SQLAlchemy's own
                # transaction objects cost a GET more than the BEGIN and ROLLBACK do. A
                # statement SQLAlchemy runs later in the read adopts it (storage.engine);
                # the read's end rolls it back (`LoopConnection`, the pool's reset).
                if not driver.in_transaction:
                    driver.execute("BEGIN")
            elif sqlite or not driver.autocommit:
                conn.begin()
            # else: PostgreSQL in autocommit (every read connection): each statement is
            # its own transaction, and SQLAlchemy's begin and rollback would be
            # bookkeeping alone (~8 % of a GET's CPU on the loop).
        params = self.params.copy()
        params[self.at] = value  # type: ignore[index]
        if sqlite:
            cursor = driver.execute(self.sql, params)
        else:
            cursor = _pg_cursor(driver).execute(self.sql, params)
        if not self.described:
            self._processors(conn.dialect, [d[1] for d in cursor.description])
            self.described = True
        return cursor

    def _raw_rows(self, conn: Connection, value: Any) -> list[Any] | None:
        """The rows for `value` run on libpq (`pgraw`), or None when this connection
        may not run it there now."""
        driver: Any = conn.connection.driver_connection
        if not pgraw.usable(driver):
            return None
        params = self.params.copy()
        params[self.at] = value  # type: ignore[index]
        try:
            rows, codes = pgraw.run(driver, self.raw, params)  # type: ignore[arg-type]
        except pgraw.Refused:
            self.raw = None  # psycopg's cursor runs it from now on
            return None
        except BaseException:
            if driver.closed:  # cut off mid-statement: never handed out again
                conn.invalidate()
            raise
        if not self.described:
            self._processors(conn.dialect, codes)
            self.described = True
        return rows  # type: ignore[no-any-return]

    def _row(self, raw: Any) -> Any:
        if self.processors:
            values = list(raw)
            for i, proc in self.processors:
                values[i] = proc(values[i])
            raw = values
        return self.row(raw)

    def first(self, conn: Connection, value: Any) -> Any:
        """The first row for `value` (a tuple with `_fields`, as SQLAlchemy's `Row` reads
        positionally), or None."""
        if self.raw is not None and (rows := self._raw_rows(conn, value)) is not None:
            raw = rows[0] if rows else None
        else:
            raw = self._cursor(conn, value).fetchone()
        return None if raw is None else self._row(raw)

    def all(self, conn: Connection, value: Any) -> list[Any]:
        """Every row for `value`."""
        raws = self._raw_rows(conn, value) if self.raw is not None else None
        if raws is None:
            raws = self._cursor(conn, value).fetchall()
        if not self.processors:
            return list(map(self.row, raws))
        return [self._row(raw) for raw in raws]


def _pg_cursor(driver: Any) -> Any:
    """The psycopg connection's cursor for kept statements, made once per connection (a
    cursor per statement cost ~6 us of CPU). Each use reads all it needs before the next
    one executes; it is closed with its connection."""
    cursor = getattr(driver, "_kt_cursor", None)
    if cursor is None or cursor.closed:
        cursor = driver._kt_cursor = driver.cursor()
    return cursor


#: statement -> (the dialect its kept form was made for, the form or None: unkept).
_kept: weakref.WeakKeyDictionary[Any, tuple[Any, KeptSelect | None]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _plain(name: str) -> bool:
    return name.isidentifier() and not name.startswith("_") and name not in ("count", "index")


def end_driver_read(conn: Connection) -> None:
    """Roll back a read's transaction that `KeptSelect` began on SQLite's driver and
    SQLAlchemy never adopted (the read ran kept statements only)."""
    driver = conn.connection.driver_connection
    if type(driver) is sqlite3.Connection and driver.in_transaction:
        driver.rollback()


def _kept_form(conn: Connection, statement: Any, name: str) -> KeptSelect | None:
    dialect = conn.dialect
    with _lock:
        known = _kept.get(statement)
    if known is None or known[0] is not dialect:
        try:
            kept: KeptSelect | None = KeptSelect(statement, dialect, name)
        except _Unkept:
            kept = None
        known = (dialect, kept)
        with _lock:
            _kept[statement] = known
    return known[1]


def first_row(conn: Connection, statement: Any, name: str, value: Any) -> Any:
    """`conn.execute(statement, {name: value}).first()`, kept (`KeptSelect`) where it can be.

    `statement` must be a long-lived object (cached by its caller): its kept form lives as
    long as it does, and is made again for another dialect object (an engine made anew).
    """
    kept = _kept_form(conn, statement, name)
    if kept is not None:
        try:
            return kept.first(conn, value)
        except (sqlite3.Error, psycopg.Error):
            # Read again by SQLAlchemy: it raises the error as it always does and
            # invalidates a connection that is gone, which the pool then replaces.
            pass
    return conn.execute(statement, {name: value}).first()


def all_rows(conn: Connection, statement: Any, name: str, value: Any) -> list[Any]:
    """`conn.execute(statement, {name: value}).all()`, kept where it can be (as
    `first_row`)."""
    kept = _kept_form(conn, statement, name)
    if kept is not None:
        try:
            return kept.all(conn, value)
        except (sqlite3.Error, psycopg.Error):
            pass  # as in first_row
    return list(conn.execute(statement, {name: value}).all())


def in_ids(column: Any, dialect: str, name: str = "ids") -> Any:
    """`column IN <the ids>` with the ids as ONE parameter, `name`, whatever their number:
    a JSON array unpacked by `json_each` on SQLite, an array's text on PostgreSQL. A statement
    with it is kept (one changing parameter); pass the value made by `ids_value`."""
    param = sa.bindparam(name, type_=sa.Text)  # no bind processor: the statement is kept
    if dialect == "postgresql":
        return pg_any(column, param)
    return json_each_in(column, param)


def ids_value(dialect: str, ids: Any) -> Any:
    """The value of an `in_ids` parameter for these ids (ints)."""
    if dialect == "postgresql":
        return pg_array_text(ids)
    return orjson.dumps(list(ids)).decode()
