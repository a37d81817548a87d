"""A new workspace's schema: what migrated the process's first empty workspace, replayed.

Alembic takes an empty workspace to head in ~110 ms on SQLite on a 2-vCPU VM, nearly all
of it Python: 20 revision scripts loaded, ~130 operations built and compiled, a version
UPDATE compiled per revision. What it sends to an empty database is the same every time
for one dialect and one head: PostgreSQL's workspaces are chosen by `search_path`, so no
statement names a schema, and no statement names SQLite's file. So the first empty
workspace a process migrates records the statements that change it (SQLAlchemy's
`before_cursor_execute` on that connection); the next empty ones replay them on the
driver, in the same transaction and under the same lock (on PostgreSQL those without
parameters in one round trip, `_grouped`). Statements that only read
(`SELECT`, SQLite's `PRAGMA …_info`/`…_list`) steered the migrations on an empty database
and are not replayed.

A recording is not kept when a statement it would replay names the recording's schema,
or carries a moment that is not "now" (a migration's `created_at` of now is replayed as
the new workspace's now). See docs/decisions/0031-new-workspaces-replay-their-schema.md.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: (dialect name, head revision) -> the statements that took an empty workspace to head:
#: (SQL, parameters, executemany).
_recorded: dict[tuple[str, str], list[tuple[str, Any, bool]]] = {}
_lock = threading.Lock()

_READS = re.compile(r"\s*(SELECT\b|PRAGMA\s+[\w.]*(_info|_list|table_xinfo)\b)", re.IGNORECASE)


def replay(conn: Connection, head: str) -> bool:
    """Replay the recorded statements on `conn` (an empty workspace, in a transaction);
    False when none are recorded for its dialect and `head`."""
    with _lock:
        statements = _recorded.get((conn.dialect.name, head))
    if statements is None:
        return False
    now = _now()
    for sql, params, _many in statements:
        conn.exec_driver_sql(
            sql, _params(params, lambda v: v(now) if isinstance(v, _Moment) else v)
        )
    return True


@contextmanager
def recording(conn: Connection, head: str, schema: str | None) -> Iterator[None]:
    """Record what `conn` sends in the block (the migration of an empty workspace to
    `head`), kept for `replay` if the block succeeds and the statements may be replayed
    (`schema`: the workspace's, which none may name)."""
    key = (conn.dialect.name, head)
    with _lock:
        if key in _recorded:
            yield
            return
    got: list[tuple[str, Any, bool]] = []

    def note(_c: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if not _READS.match(sql):
            got.append((sql, params, many))

    started = _now()
    sa.event.listen(conn, "before_cursor_execute", note)
    try:
        yield
    finally:
        sa.event.remove(conn, "before_cursor_execute", note)
    kept = _replayable(got, schema, started, _now())
    if kept is not None:
        if key[0] == "postgresql":
            kept = _grouped(kept)
        with _lock:
            _recorded.setdefault(key, kept)


def forget() -> None:
    """Drop what was recorded (tests of the migrations themselves)."""
    with _lock:
        _recorded.clear()


class _Moment:
    """A recorded "now" in a statement's parameters."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def __call__(self, now: dt.datetime) -> Any:
        return self.make(now)


#: A moment as psycopg is given it (a datetime) and as SQLite is (SQLAlchemy's text).
_AS_DATETIME = _Moment(lambda now: now)
_AS_TEXT = _Moment(lambda now: now.strftime("%Y-%m-%d %H:%M:%S.%f"))
_SQLITE_MOMENT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?")


def _replayable(
    got: list[tuple[str, Any, bool]], schema: str | None, started: dt.datetime, ended: dt.datetime
) -> list[tuple[str, Any, bool]] | None:
    """`got` with its moments of "now" marked, or None if it may not be replayed."""
    moments: list[dt.datetime] = []

    def mark(value: Any) -> Any:
        moment = _moment(value)
        if moment is None:
            return value
        moments.append(moment)
        return _AS_DATETIME if isinstance(value, dt.datetime) else _AS_TEXT

    out = []
    for sql, params, many in got:
        if schema and (schema in sql or schema in repr(params)):
            return None
        out.append((sql, _params(params, mark), many))
    if not all(started <= m <= ended for m in moments):
        return None  # a moment of its own (not now): not replayed
    return out


def _grouped(statements: list[tuple[str, Any, bool]]) -> list[tuple[str, Any, bool]]:
    """Consecutive statements without parameters as one text (PostgreSQL runs such a text
    of several statements in one round trip, psycopg sending it by the simple protocol)."""
    out: list[tuple[str, Any, bool]] = []
    for sql, params, many in statements:
        if not params and not many and out and not out[-1][1] and not out[-1][2]:
            out[-1] = (f"{out[-1][0].rstrip().rstrip(';')};\n{sql}", out[-1][1], False)
        else:
            out.append((sql, params, many))
    return out


def _moment(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _SQLITE_MOMENT.fullmatch(value):
        return dt.datetime.fromisoformat(value)
    return None


def _params(params: Any, each: Any) -> Any:
    """`params` (a dict, a tuple, or a list of either) with `each` applied to each value."""
    if isinstance(params, dict):
        return {k: each(v) for k, v in params.items()}
    if isinstance(params, tuple):
        return tuple(each(v) for v in params)
    if isinstance(params, list):
        return [_params(p, each) for p in params]
    return params


def _now() -> dt.datetime:
    """Now as migrations store it: naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
