"""A psycopg cursor that describes a result shape once (issue 16).

SQLAlchemy reads `cursor.description` after every statement that returns rows, and
psycopg builds it anew each time: one `Column` per result column, each decoding its name
and looking its type up. For a record of a 20-field catalog (26 columns) that was 66 us
of a 182 us GET on PostgreSQL, more than the statement's round trip. The columns a
result describes depend only on what libpq reports for each (name, type, modifier,
size), the connection's encoding and its type registry, so each connection keeps the
description per such shape and hands it out as a new list each time. `Column` objects
hold no reference to their cursor; sharing them is what a result of the same shape
would build anyway.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import psycopg

#: Shapes kept at most per connection (a workspace's statements return a few hundred).
MAX_SHAPES = 1024

#: Per connection (its type registry decides each column's type): shape -> description.
_kept: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], list[Any]]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


class DescribedOnceCursor(psycopg.Cursor[Any]):
    """`psycopg.Cursor` whose `description` is built once per result shape."""

    @property
    def description(self) -> list[psycopg.Column] | None:
        res = self.pgresult
        count = res.nfields if res is not None else 0
        if not count:
            return super().description
        conn = self.connection
        shapes = _kept.get(conn)
        if shapes is None:
            with _lock:
                shapes = _kept.setdefault(conn, {})
        fname, ftype, fmod, fsize = res.fname, res.ftype, res.fmod, res.fsize  # type: ignore[union-attr]
        key = (
            conn.pgconn.parameter_status(b"client_encoding"),
            tuple((fname(i), ftype(i), fmod(i), fsize(i)) for i in range(count)),
        )
        kept = shapes.get(key)
        if kept is None:
            kept = super().description
            if kept is None:
                return None
            if len(shapes) >= MAX_SHAPES:
                shapes.clear()
            shapes[key] = kept
        return list(kept)
