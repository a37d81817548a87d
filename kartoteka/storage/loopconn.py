"""The one connection a SQLite engine keeps for the event loop's reads (decision 0023)."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection, Engine

from .kept import end_driver_read

if TYPE_CHECKING:
    from .engine import _Held


class LoopConnection:
    """The read connection one SQLite engine keeps for the reads run on the event loop.

    Checking a connection out of the pool and back (events, the held-connection list,
    the pool's reset) was a fifth of a record's service read on the loop (issue 16,
    decision 0023). The loop runs one such read at a time and never awaits inside one,
    so one connection kept between reads serves them all: each read still begins its own
    deferred transaction and rolls it back, so it sees what a pooled read would. The
    connection is lent to one read at a time (a nested read, or another thread's loop,
    asking meanwhile gets None and uses the pool), is replaced when it was invalidated
    or closed, and is closed when its engine is disposed (a workspace closed, deleted or
    restored).
    """

    def __init__(self, engine: Engine, held: _Held) -> None:
        self._engine = weakref.ref(engine)
        self._held = held
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._busy = False
        self._stale = False

    def lend(self) -> LoopConnection | None:
        """Self, lent to the caller until its with-block ends, or None when in use."""
        with self._lock:
            if self._busy:
                return None
            self._busy = True
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            try:
                self._conn = self._connect(conn)
            except BaseException:
                self._busy = False
                raise
        else:
            # Held while lent, as a pooled read's connection is (`held_connection`).
            self._held.conns.append(conn)
        return self

    def _connect(self, old: Connection | None) -> Connection:
        if old is not None and not old.closed:
            old.close()
        engine = self._engine()
        assert engine is not None  # the engine lends this, so it is alive
        return engine.connect().execution_options(kt_read=True)

    def __enter__(self) -> Connection:
        assert self._conn is not None
        return self._conn

    def __exit__(self, *failure: object) -> None:
        """End the read's transaction and keep the connection (close it when stale)."""
        conn = self._conn
        assert conn is not None
        try:
            if conn.in_transaction():
                conn.rollback()
            elif not (conn.invalidated or conn.closed):
                end_driver_read(conn)  # a read begun on the driver (`storage.kept`)
        except BaseException:
            self._conn = None
            conn.close()
            raise
        finally:
            if conn in self._held.conns:
                self._held.conns.remove(conn)
            with self._lock:
                self._busy = False
                stale, self._stale = self._stale, False
        if stale:
            self.close()

    def close(self) -> None:
        """Close the kept connection now, or when its current read ends."""
        with self._lock:
            if self._busy:
                self._stale = True
                return
            conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            conn.close()
