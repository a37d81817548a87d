"""One transaction for a whole chunk of an import (or a whole dry run).

The write path opens its own transaction per batch (`engine.begin()`). An import wants
a chunk's batches — the retries after a refused row included — and the job's
checkpoint to commit together, so that a process killed at any moment leaves either
the whole chunk and its checkpoint or neither (resume never writes a row twice). The
actor handed to the write path carries a stand-in engine whose `begin()` is a
savepoint inside the chunk's transaction; commits are announced (`after_commit`) once
the real transaction has committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Connection

from kartoteka.context import Actor
from kartoteka.records import hooks


class _SharedConnection:
    """What `engine.connect()` gives inside the transaction: the one open connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execution_options(self, **_options: Any) -> _SharedConnection:
        """Options do not matter inside the shared transaction."""
        return self

    def __enter__(self) -> Connection:
        return self._conn

    def __exit__(self, *_exc: Any) -> None:
        return None


class SavepointEngine:
    """Stands in for a workspace engine: every `begin()` is a savepoint of one transaction.

    `commit_later` collects the event ranges the write path would announce after its
    commit; the owner of the transaction announces them once it really commits.
    """

    def __init__(self, conn: Connection, real: Any) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.real = real
        self.commit_later: list[tuple[int, int]] = []

    def connect(self) -> _SharedConnection:
        """The shared connection."""
        return _SharedConnection(self.conn)

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A savepoint: a failed batch rolls back alone, as its own transaction would."""
        with self.conn.begin_nested():
            yield self.conn

    def __getattr__(self, name: str) -> Any:
        # Anything else (pool status, url) is the real engine's.
        return getattr(self.real, name)


def _with_engine(actor: Actor, engine: SavepointEngine, via: str | None = None) -> Actor:
    ws = dataclasses.replace(actor.workspace, engine=engine)  # type: ignore[arg-type]
    return dataclasses.replace(actor, workspace=ws, via=via or actor.via)


@contextlib.contextmanager
def chunk(actor: Actor) -> Iterator[tuple[Actor, Connection]]:
    """A committed transaction for one chunk: (actor writing inside it, its connection)."""
    real = actor.workspace.engine
    with real.begin() as conn:
        engine = SavepointEngine(conn, real)
        yield _with_engine(actor, engine), conn
    if engine.commit_later:
        first = min(f for f, _ in engine.commit_later)
        last = max(last for _, last in engine.commit_later)
        hooks.run_after_commit(actor, first, last)


class ChunkGroup:
    """Consecutive chunks of an import in one transaction, committed every `rows` rows
    (or `seconds`): each chunk still writes its checkpoint, so a kill leaves the chunks
    of the last commit and their checkpoint, and resume carries on after them.

    Fewer, larger commits write each page the chunks share once: a link's index by
    target (`ix_links_dst`) takes keys all over its pages, and with a commit per 2,000
    rows a million-row import wrote most of those pages again at every commit.
    """

    def __init__(self, actor: Actor, rows: int, seconds: float) -> None:
        self.outer = actor
        self.rows = rows
        self.seconds = seconds
        #: The open group: its transaction's context and what it yields.
        self._open: tuple[_Chunk, tuple[Actor, Connection]] | None = None
        self._count = 0
        self._since = 0.0

    def begin(self) -> tuple[Actor, Connection]:
        """The open group's (actor writing inside it, its connection); opened if none is."""
        if self._open is None:
            opening = chunk(self.outer)
            self._open = opening, opening.__enter__()
            self._count, self._since = 0, time.monotonic()
        return self._open[1]

    def full(self, rows: int) -> bool:
        """Count a chunk's rows in: whether the group should commit now."""
        self._count += rows
        return self._count >= self.rows or time.monotonic() - self._since >= self.seconds

    def commit(self) -> bool:
        """Commit the open group (False: none was open)."""
        return self._close(None)

    def rollback(self, exc: BaseException) -> None:
        """Roll the open group back (`exc`: why)."""
        self._close(exc)

    def _close(self, exc: BaseException | None) -> bool:
        opened, self._open = self._open, None
        if opened is None:
            return False
        opened[0].__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)
        return True


_Chunk = contextlib.AbstractContextManager[tuple[Actor, Connection]]


@contextlib.contextmanager
def rolled_back(actor: Actor) -> Iterator[Actor]:
    """An actor whose writes all happen in one transaction that is rolled back at the end.

    The dry run goes through the very same write calls as a real import, so counts and
    errors (unique values, links, keys repeated across chunks) are exactly the real ones.
    The actor's `via` is "dry_run" so request-webhook hooks can tell.
    """
    real = actor.workspace.engine
    with real.connect() as conn:
        tx = conn.begin()
        try:
            yield _with_engine(actor, SavepointEngine(conn, real), "dry_run")
        finally:
            tx.rollback()
