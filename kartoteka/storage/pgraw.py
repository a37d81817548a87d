"""A kept SELECT run on libpq itself, prepared once per connection (PostgreSQL, issue 16).

psycopg's `Cursor.execute` of a prepared statement spends ~30 us of Python per call on a
2-vCPU VM (its prepare manager, the query's conversion and dumping, its generators and
result bookkeeping) around ~20 us of libpq's own work: as much as the rest of a record's
GET on SQLite. A kept statement (`storage.kept`) does not need any of it: its SQL and
parameters are fixed but for one value. Here it runs on the connection's `PGconn` (the
libpq wrapper psycopg is built on, in C): prepared under its own name the first time a
connection runs it, then sent as `send_query_prepared` with the parameters as text (the
server infers their types, as for any prepared statement without them), its rows loaded
by psycopg's `Transformer` with the connection's own adapters, exactly as a cursor would.

Only a connection in autocommit and idle (every read connection on PostgreSQL) runs
statements this way: psycopg opens a transaction lazily at a cursor's first statement,
which a statement sent beside it would escape. A statement the server refuses (its
prepared form lost to a `DEALLOCATE ALL`, a column whose type changed) raises psycopg's
error as a cursor would, and its name is forgotten on that connection, so the next call
prepares it again. A statement the server will not prepare (`Refused`) goes back to the
cursor. See docs/decisions/0030-kept-reads-run-on-libpq.md.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

from .loopreads import wait_for_socket

#: Statements one connection keeps prepared; the least recently used is deallocated.
PREPARED_MOST = 100

_PARAM = re.compile(r"%\(([^)]+)\)s|%%")
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_IDLE = pq.TransactionStatus.IDLE
_ACTIVE = pq.TransactionStatus.ACTIVE


class Refused(Exception):
    """The server refused to prepare a statement (a parameter whose type it cannot infer
    from the SQL alone, say): it is run by psycopg's cursor instead."""


class RawForm:
    """A kept statement's SQL for libpq (`$1`, `$2`… for psycopg's `%(name)s`) and the
    order of its parameters' names."""

    __slots__ = ("query", "names")

    def __init__(self, sql: str) -> None:
        names: list[str] = []

        def number(m: re.Match[str]) -> str:
            name = m.group(1)
            if name is None:  # "%%"
                return "%"
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.query = _PARAM.sub(number, sql).encode()
        self.names = tuple(names)


class _State:
    """What one connection keeps for its raw statements."""

    __slots__ = ("names", "count", "tx")

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        #: query -> its prepared name on this connection, least recently used first.
        self.names: OrderedDict[bytes, bytes] = OrderedDict()
        self.count = 0
        self.tx = Transformer(driver)


def usable(driver: Any) -> bool:
    """Whether `driver` (a psycopg connection) may run a kept statement on libpq now:
    autocommit, idle, UTF-8, no pipeline."""
    pgconn = driver.pgconn
    return (
        driver.autocommit
        and pgconn.transaction_status == _IDLE
        and driver._pipeline is None
        and pgconn.parameter_status(b"client_encoding") == b"UTF8"
    )


def run(driver: psycopg.Connection[Any], form: RawForm, params: dict[str, Any]) -> Any:
    """Run `form` with `params` on `driver` (`usable`); the rows as tuples and each
    column's type code (the description's), as `(rows, codes)`."""
    state: _State | None = getattr(driver, "_kt_raw", None)
    if state is None:
        state = driver._kt_raw = _State(driver)  # type: ignore[attr-defined]
    pgconn = driver.pgconn
    name = state.names.get(form.query)
    if name is None:
        name = _prepare(driver, state, form.query)
    else:
        state.names.move_to_end(form.query)
    tx = state.tx
    values = tx.dump_sequence([params[n] for n in form.names], [PyFormat.TEXT] * len(form.names))
    pgconn.send_query_prepared(name, values)
    result = _result(pgconn)
    if result.status != _TUPLES_OK:
        state.names.pop(form.query, None)  # prepared again at the next call
        raise errors.error_from_result(result, encoding="utf-8")
    tx.set_pgresult(result)
    rows = tx.load_rows(0, result.ntuples, tuple)
    return rows, [result.ftype(i) for i in range(result.nfields)]


def _prepare(driver: psycopg.Connection[Any], state: _State, query: bytes) -> bytes:
    pgconn = driver.pgconn
    if len(state.names) >= PREPARED_MOST:
        _old, stale = state.names.popitem(last=False)
        pgconn.send_query(b"DEALLOCATE " + stale)
        _result(pgconn)  # whatever it says: the name is not used again
    state.count += 1
    name = b"kt_%d" % state.count
    pgconn.send_prepare(name, query)
    result = _result(pgconn)
    if result.status != _COMMAND_OK:
        raise Refused(errors.error_from_result(result, encoding="utf-8"))
    state.names[query] = name
    return name


def _result(pgconn: pq.abc.PGconn) -> Any:
    """The result of what was sent, its error if any, the wait for it on the loop inside
    a loop read (`wait_for_socket`). Cut off mid-statement (a cancelled request), the
    connection is closed: the server may still be answering."""
    try:
        while pgconn.flush():
            wait_for_socket(pgconn.socket, write=True)
        result = None
        while True:
            pgconn.consume_input()
            while pgconn.is_busy():
                wait_for_socket(pgconn.socket)
                pgconn.consume_input()
            got = pgconn.get_result()
            if got is None:
                break
            if result is None or got.status == pq.ExecStatus.FATAL_ERROR:
                result = got
    except BaseException:
        if pgconn.transaction_status == _ACTIVE:
            pgconn.finish()
        raise
    if result is None:  # english-ok: psycopg's words for a connection that said nothing
        raise psycopg.OperationalError("the server sent no result")
    return result
