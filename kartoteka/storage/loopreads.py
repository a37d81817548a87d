"""PostgreSQL reads run on the event loop, waiting on the socket there (issue 16, decision 0026).

A bounded read (one record by its id) on PostgreSQL ran in a request thread, so a slow or
distant database server would never stall the loop. The hop there and back cost more
CPU than the read itself: on a 2-vCPU VM a bare `run_in_executor` round trip is ~130 us
of CPU (two thread wake-ups and the loop's self-pipe), a GET of one record ~400 us of
its ~1,000.

Here the read's ordinary synchronous code (the same service function, the same
SQLAlchemy statements) runs on the loop's thread in a greenlet (`greenlet_spawn`, what
SQLAlchemy's asyncio extension is built on), and every wait of its connections for the
database goes to the loop: `LoopWaitingConnection.wait` drives psycopg's generator there
(a future woken by the socket), so while one read waits for its rows the loop serves
other requests, exactly as an `async` driver would. No second read path: the code reading is
the code every other read runs; only where the waiting happens changes.

The loop's reads use their own engine (`keep_loop_engine`): the same URL and schema,
autocommit (a read of committed data per statement, as `read_connection` gives), and its
own pool, so they never wait for a connection a request thread holds; a pool checkout
on the loop must never block. At most `LOOP_READS` of one engine run at once on each
loop; the others wait on the loop for their turn (`read_on_loop`), which costs less than
a hop to a request thread (sending the surplus to threads made both kinds of work
contend for the interpreter: over HTTP, 32 connections, ~1,000 us of server CPU per GET
against ~680 with every GET on the loop).
"""

from __future__ import annotations

import asyncio
import select
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from greenlet import getcurrent
from psycopg import waiting
from psycopg.pq import TransactionStatus
from psycopg.waiting import Ready, Wait
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.util import await_only, greenlet_spawn
from sqlalchemy.util.concurrency import in_greenlet

T = TypeVar("T")

#: Reads of one engine that run on one loop at once; more wait there for their turn. Each
#: holds one connection of the loop engine's pool (a nested read takes an overflow one).
LOOP_READS = 8
#: psycopg's interval between checks for an interruption while waiting.
_WAIT_INTERVAL = 0.1
#: How long (ms) a loop read first waits for the server's answer on its socket, the loop
#: blocked, before handing the wait to the loop. An indexed read is answered in ~50–100 us
#: on a quiet machine; the loop's future and reader for one wait cost ~45 us of CPU on a
#: 2-vCPU VM (docs/decisions/0030). A slower answer costs the loop this much once.
BRIEF_WAIT_MS = 1
#: After `BRIEF_MISSES` brief waits in a row the server did not answer within, waits go
#: straight to the loop for `BRIEF_PAUSE` seconds: a slow server blocks a loop for at most
#: that many brief waits per pause; a lone late answer (a busy moment) pauses nothing.
BRIEF_MISSES = 3
BRIEF_PAUSE = 0.1
_brief_off_until = 0.0
_brief_missed = 0


class LoopWaitingConnection(psycopg.Connection[Any]):
    """A psycopg connection that, inside a loop read's greenlet, waits on the event loop.

    psycopg runs every operation as a generator that says when it would block (read or
    write the socket); `wait` drives it. Outside a greenlet this is psycopg's own blocking
    wait. Inside one, the generator is driven on the running loop (`_on_loop`), and the
    greenlet gives way to the loop until the socket is ready.
    """

    def wait(self, gen: Any, interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        if not in_greenlet():
            return super().wait(gen, interval, timeout)
        try:
            # What needs no waiting (a rollback with no transaction open) ends here,
            # without a round trip through the loop; nor does an answer that comes
            # within the brief wait.
            first = next(gen)
            fileno = self.pgconn.socket
            while first == Wait.R and _answered_soon(fileno):
                first = gen.send(Ready.R)
        except StopIteration as done:
            return done.value
        try:
            if timeout is None:
                return await_only(_on_loop(gen, fileno, first, interval))
            return await_only(
                waiting.wait_async(
                    _resumed(first, gen), self.pgconn.socket, interval=interval, timeout=timeout
                )
            )
        except BaseException:
            # Interrupted mid-statement (a cancelled request): the server may still be
            # answering, so the connection is in an unknown state. Closed, it is
            # invalidated by SQLAlchemy and never handed out again.
            if self.pgconn.transaction_status == TransactionStatus.ACTIVE:
                self.pgconn.finish()
            raise


async def _on_loop(gen: Any, fileno: int, state: Any, interval: float) -> Any:
    """Drive `gen` (its first step `state` taken) on the running loop.

    A wait for the server's answer, nearly every wait of a read, is one future woken by
    the socket; psycopg's `wait_async` also arms a timer per wait for its interval,
    which a read cancelled by its task does not need. Anything else (a full send
    buffer) goes to `wait_async` as it is.
    """
    while state == Wait.R:
        await _ready_on_loop(fileno, write=False)
        try:
            state = gen.send(Ready.R)
        except StopIteration as done:
            return done.value
    return await waiting.wait_async(_resumed(state, gen), fileno, interval=interval)


def _answered_soon(fileno: int) -> bool:
    """Whether `fileno` is readable within `BRIEF_WAIT_MS` (the loop's thread waits); no
    brief wait for `BRIEF_PAUSE` after `BRIEF_MISSES` the server did not answer."""
    global _brief_off_until, _brief_missed
    if _brief_off_until and time.monotonic() < _brief_off_until:
        return False
    poll = select.poll()
    poll.register(fileno, select.POLLIN)
    if poll.poll(BRIEF_WAIT_MS):
        _brief_missed = 0
        return True
    _brief_missed += 1
    if _brief_missed >= BRIEF_MISSES:
        _brief_missed = 0
        _brief_off_until = time.monotonic() + BRIEF_PAUSE
    return False


def wait_for_socket(fileno: int, write: bool = False) -> None:
    """Wait until `fileno` is readable (or writable): inside a loop read briefly on
    the socket and then on the loop (the greenlet gives way), elsewhere blocking."""
    if not in_greenlet():
        poll = select.poll()
        poll.register(fileno, select.POLLOUT if write else select.POLLIN)
        poll.poll()
        return
    if write or not _answered_soon(fileno):
        await_only(_ready_on_loop(fileno, write))


async def _ready_on_loop(fileno: int, write: bool) -> None:
    """One wait for `fileno`: a future woken by the socket."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    try:
        (loop.add_writer if write else loop.add_reader)(fileno, _wake, ready)
    except (OSError, ValueError) as exc:
        # english-ok: psycopg's own words for a socket gone; SQLAlchemy invalidates the
        # connection and the request answers with its coded server error.
        raise psycopg.OperationalError("connection socket closed") from exc
    try:
        await ready
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fileno)


def _wake(answered: asyncio.Future[None]) -> None:
    if not answered.done():
        answered.set_result(None)


def _resumed(first: Any, gen: Any) -> Any:
    """`gen`, whose first step (`first`, what it waits for) was already taken."""
    state = first
    while True:
        ready = yield state
        try:
            state = gen.send(ready)
        except StopIteration as done:
            return done.value


class LoopReads:
    """One PostgreSQL engine's reads on the loop: their engine, their turns on each
    loop, the connections kept between them and which read holds which."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: Per event loop: the turns its reads take (`LOOP_READS` at once).
        self._turns: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = weakref.WeakKeyDictionary()
        #: The last loop asked for and its turns (a process serves from one loop).
        self._last: tuple[weakref.ref[Any], asyncio.Semaphore] | None = None
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        #: Moves on when the engine is disposed: connections lent before are not kept.
        self._generation = 0
        #: Whether the engine's first connection was made (`prepare`).
        self.prepared = False
        #: Per loop read's greenlet: the connections it holds, newest last.
        self._held: weakref.WeakKeyDictionary[Any, list[Connection]] = weakref.WeakKeyDictionary()

        @event.listens_for(engine, "engine_connect")
        def on_connect(conn: Connection) -> None:
            if in_greenlet():
                self._held.setdefault(getcurrent(), []).append(conn)

    def held(self) -> Connection | None:
        """The newest still-open connection the current loop read holds, if any."""
        conns = self._held.get(getcurrent())
        while conns:
            conn = conns[-1]
            if not conn.closed and not conn.invalidated:
                return conn
            conns.pop()
        return None

    @contextmanager
    def kept(self) -> Iterator[Connection]:
        """A read connection kept between loop reads (no pool checkout and return per
        read: a fifth of a record's read). Lent to one read at a time; one that was
        invalidated or closed (its server went away) is closed instead of kept, as are
        those beyond `LOOP_READS` and any lent before the engine was disposed."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
            generation = self._generation
        if conn is not None and (conn.closed or conn.invalidated):
            conn.close()  # its server went away while it was kept
            conn = None
        if conn is None:
            conn = self.engine.connect().execution_options(kt_read=True)
        else:
            self._held.setdefault(getcurrent(), []).append(conn)
        keep = False
        try:
            yield conn
        finally:
            try:
                if conn.in_transaction():
                    conn.rollback()  # autocommit: no round trip, only SQLAlchemy's state
                keep = not conn.closed and not conn.invalidated
            except Exception:  # a connection gone: closed below, not kept
                keep = False
            held = self._held.get(getcurrent())
            if held is not None and conn in held:
                held.remove(conn)
            with self._lock:
                keep = keep and generation == self._generation and len(self._idle) < LOOP_READS
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def turns(self) -> asyncio.Semaphore:
        """The running loop's turns for this engine's reads."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]
        with self._lock:
            turns = self._turns.get(loop)
            if turns is None:
                turns = self._turns[loop] = asyncio.Semaphore(LOOP_READS)
            self._last = (weakref.ref(loop), turns)
        return turns

    def prepare(self) -> None:
        """Make the engine's first connection, in the calling thread (not the loop's).

        SQLAlchemy learns about the server on an engine's first connection (its
        version, settings) with its statements run under a thread lock. A read in a
        greenlet that waits for the server while holding it would block the loop's
        thread for good as soon as a second read asked for the lock.
        """
        with self.engine.connect():
            pass
        self.prepared = True

    def close(self) -> None:
        """Close the kept connections and the loop engine's pool (its workspace engine
        was disposed; reads after it connect anew)."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
            self.prepared = False
        for conn in idle:
            conn.close()
        self.engine.dispose()


#: Per workspace engine (PostgreSQL): its reads on the loop.
_loop_reads: weakref.WeakKeyDictionary[Engine, LoopReads] = weakref.WeakKeyDictionary()


def keep_loop_engine(engine: Engine, url: str, connect_args: dict[str, Any]) -> None:
    """Give a PostgreSQL `engine` an engine for its reads on the loop (same URL and
    connection arguments, autocommit, its own pool), disposed with it."""
    loop = sa.create_engine(
        url,
        connect_args=connect_args,
        isolation_level="AUTOCOMMIT",
        pool_size=LOOP_READS,
        # A nested read (a metadata check while a record is read) takes a second one;
        # never wait for a connection on the loop.
        max_overflow=-1,
        pool_pre_ping=False,
    )

    @event.listens_for(loop, "do_connect")
    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        make = lambda: LoopWaitingConnection.connect(*cargs, **cparams)  # noqa: E731
        if in_greenlet():  # connecting (DNS, TLS, authentication) waits in a thread
            return await_only(asyncio.to_thread(make))
        return make()

    reads = _loop_reads[engine] = LoopReads(loop)
    event.listen(engine, "engine_disposed", lambda _engine: reads.close())


def loop_reads(engine: Engine) -> LoopReads | None:
    """`engine`'s reads on the loop, if it has them (PostgreSQL)."""
    return _loop_reads.get(engine)


def may_read_on_loop(engine: Engine) -> bool:
    """Whether `engine`'s bounded reads run on the loop (PostgreSQL)."""
    return engine in _loop_reads


async def read_on_loop(engine: Engine, call: Callable[[], T]) -> T:
    """`call()` on the loop's thread in a greenlet, when its turn comes: its reads of
    `engine` use the loop engine and wait on the loop (`read_connection`,
    `held_connection`)."""
    reads = _loop_reads[engine]
    async with reads.turns():
        if not reads.prepared:
            await asyncio.to_thread(reads.prepare)
        return await greenlet_spawn(call)


def loop_connection(engine: Engine) -> Connection | None:
    """Inside a loop read: a read connection of `engine`'s loop engine, else None."""
    if not in_greenlet():
        return None
    reads = _loop_reads.get(engine)
    if reads is None:
        return None
    return reads.engine.connect().execution_options(kt_read=True)


def kept_loop_connection(engine: Engine) -> AbstractContextManager[Connection] | None:
    """Inside a loop read: a kept read connection of `engine`'s loop engine for a
    with-block (`LoopReads.kept`), else None."""
    if not in_greenlet():
        return None
    reads = _loop_reads.get(engine)
    return reads.kept() if reads is not None else None


def loop_held_connection(engine: Engine) -> Connection | None:
    """Inside a loop read: the loop engine's connection this read holds, else None."""
    reads = _loop_reads.get(engine) if in_greenlet() else None
    return reads.held() if reads is not None else None
