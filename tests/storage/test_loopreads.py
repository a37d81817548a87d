"""PostgreSQL reads on the event loop (`storage.loopreads`, decision 0026): the read's own
synchronous code runs in a greenlet and its connections wait on the loop, so the loop
serves others while a read waits; each read has its own connection, kept between reads;
a read cut off mid-statement leaves no connection behind in an unknown state; the kept
select reads on psycopg what SQLAlchemy reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PG_URL
from sqlalchemy.util.concurrency import in_greenlet
from support.kept_rows import BY_ID, RULED, T, by_ids, by_ids_ruled, pg_engine_with_rows

from kartoteka.storage import loopreads
from kartoteka.storage.engine import (
    held_connection,
    read_connection,
    reading,
)
from kartoteka.storage.kept import all_rows, first_row, ids_value
from kartoteka.storage.loopreads import (
    LOOP_READS,
    LoopWaitingConnection,
    loop_reads,
    may_read_on_loop,
    read_on_loop,
)

pytestmark = pytest.mark.skipif(PG_URL is None, reason="PostgreSQL's reads on the loop")


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    assert PG_URL is not None
    with pg_engine_with_rows(PG_URL, "loop") as made:
        yield made


def _on_loop(engine: sa.Engine, call: Any) -> Any:
    async def run() -> Any:
        return await read_on_loop(engine, call)

    return asyncio.run(run())


def test_a_read_on_the_loop_runs_in_a_greenlet_on_a_connection_of_its_own(engine: sa.Engine):
    def read() -> Any:
        assert in_greenlet()
        with reading(engine) as conn:
            assert held_connection(engine) is conn  # this read's, for a nested read
            assert conn.engine is loop_reads(engine).engine  # type: ignore[union-attr]
            driver = conn.connection.driver_connection
            assert isinstance(driver, LoopWaitingConnection) and driver.autocommit
            return conn.execute(sa.select(T.c.name).where(T.c.id == 1)).scalar()

    assert _on_loop(engine, read) == "Ann"
    checked_out = engine.pool.checkedout()  # type: ignore[attr-defined]
    assert checked_out == 0  # the request threads' pool was not touched
    # Off the loop the same functions give the usual pooled connections.
    with reading(engine) as conn:
        assert conn.engine is engine and held_connection(engine) is conn


def test_while_one_read_waits_for_the_server_the_loop_serves_others(engine: sa.Engine):
    ticks: list[float] = []

    def slow() -> Any:
        with reading(engine) as conn:
            return conn.exec_driver_sql("SELECT pg_sleep(0.4), 'slow'").all()[0][1]

    def quick() -> Any:
        with reading(engine) as conn:
            return conn.execute(sa.select(T.c.name).where(T.c.id == 1)).scalar()

    async def ticker() -> None:
        for _ in range(8):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    async def run() -> tuple[Any, ...]:
        started = time.monotonic()
        got = await asyncio.gather(
            read_on_loop(engine, slow), read_on_loop(engine, quick), ticker()
        )
        return (*got, started)

    slow_name, quick_name, _, started = asyncio.run(run())
    assert (slow_name, quick_name) == ("slow", "Ann")
    # The ticker ran all along while the slow read waited: no stall of the loop.
    assert len(ticks) == 8 and ticks[-1] - started < 0.38


def test_concurrent_reads_hold_their_own_connections(engine: sa.Engine):
    seen: dict[str, tuple[Any, Any]] = {}

    def read(name: str) -> None:
        with reading(engine) as conn:
            conn.exec_driver_sql("SELECT pg_sleep(0.05)").all()
            seen[name] = (conn, held_connection(engine))

    async def run() -> None:
        await asyncio.gather(*(read_on_loop(engine, lambda n=n: read(n)) for n in "abc"))

    asyncio.run(run())
    conns = [conn for conn, _ in seen.values()]
    assert len({id(c) for c in conns}) == 3
    assert all(conn is held for conn, held in seen.values())


def test_connections_are_kept_between_reads(engine: sa.Engine):
    def read() -> Any:
        with reading(engine) as conn:
            conn.execute(sa.select(T.c.id)).all()
            return conn

    first, second = _on_loop(engine, read), _on_loop(engine, read)
    assert first is second and not first.closed and not first.in_transaction()


def test_a_failed_statement_is_raised_and_the_connection_stays_usable(engine: sa.Engine):
    def failing() -> Any:
        with reading(engine) as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table").all()

    with pytest.raises(sa.exc.ProgrammingError, match="no_such_table"):
        _on_loop(engine, failing)

    def read() -> Any:
        with reading(engine) as conn:
            return conn.execute(sa.select(T.c.name).where(T.c.id == 1)).scalar()

    assert _on_loop(engine, read) == "Ann"


def test_a_read_cut_off_mid_statement_leaves_no_connection_in_an_unknown_state(
    engine: sa.Engine,
):
    lent: list[Any] = []

    def slow() -> Any:
        with reading(engine) as conn:
            lent.append(conn)
            conn.exec_driver_sql("SELECT pg_sleep(5)").all()

    async def run() -> None:
        task = asyncio.create_task(read_on_loop(engine, slow))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    asyncio.run(run())
    assert time.monotonic() - started < 2  # not waited out
    assert lent[0].closed or lent[0].invalidated
    reads = loop_reads(engine)
    assert reads is not None and lent[0] not in reads._idle

    def read() -> Any:
        with reading(engine) as conn:
            return conn.execute(sa.select(T.c.name).where(T.c.id == 1)).scalar()

    assert _on_loop(engine, read) == "Ann"


def test_reads_beyond_the_limit_wait_on_the_loop_for_their_turn(engine: sa.Engine):
    running: list[int] = []
    now = [0]

    def slow() -> Any:
        now[0] += 1
        running.append(now[0])
        try:
            with reading(engine) as conn:
                return conn.exec_driver_sql("SELECT pg_sleep(0.1), 1").all()[0][1]
        finally:
            now[0] -= 1

    async def run() -> list[Any]:
        return await asyncio.gather(*(read_on_loop(engine, slow) for _ in range(LOOP_READS + 4)))

    assert asyncio.run(run()) == [1] * (LOOP_READS + 4)
    assert max(running) == LOOP_READS  # the four others waited for a turn
    reads = loop_reads(engine)
    assert reads is not None and len(reads._idle) == LOOP_READS  # kept for the next reads
    assert may_read_on_loop(engine)
    assert not may_read_on_loop(sa.create_engine("sqlite://"))


def test_disposing_the_engine_closes_what_the_loop_keeps(engine: sa.Engine):
    def read() -> Any:
        with reading(engine) as conn:
            conn.execute(sa.select(T.c.id)).all()
            return conn

    kept = _on_loop(engine, read)
    engine.dispose()
    assert kept.closed
    again = _on_loop(engine, read)  # a disposed engine is used again: connects anew
    assert again is not kept and not again.closed


def test_outside_a_greenlet_the_connection_waits_as_psycopgs_own(engine: sa.Engine):
    reads = loop_reads(engine)
    assert reads is not None
    with reads.engine.connect() as conn:
        assert not in_greenlet()
        assert conn.exec_driver_sql("SELECT 41 + 1").scalar() == 42


def _off_and_on_the_loop(
    engine: sa.Engine, by_sqlalchemy: Callable[[Any], Any], kept: Callable[[Any], Any]
) -> list[tuple[Any, list[Any]]]:
    """SQLAlchemy's reading and seven kept ones (psycopg prepares at the fifth), in a
    request thread and on the loop."""

    def both() -> tuple[Any, list[Any]]:
        with read_connection(engine) as conn:
            return by_sqlalchemy(conn), [kept(conn) for _ in range(7)]

    return [both(), _on_loop(engine, both)]


@pytest.mark.parametrize("statement", [BY_ID, RULED], ids=["plain", "with a rule"])
@pytest.mark.parametrize("rid", [1, 2, 3])
def test_the_kept_select_reads_on_psycopg_what_sqlalchemy_reads(
    engine: sa.Engine, statement: Any, rid: int
):
    readings = _off_and_on_the_loop(
        engine,
        lambda conn: conn.execute(statement, {"rid": rid}).first(),
        lambda conn: first_row(conn, statement, "rid", rid),
    )
    for expected, got in readings:
        if expected is None:
            assert got == [None] * 7
            continue
        for row in got:
            assert type(row).__name__ == "KeptRow"  # read on the driver, not by SQLAlchemy
            assert tuple(row) == tuple(expected)
            assert [type(v) for v in row] == [type(v) for v in expected]
            assert row._fields == expected._fields


def test_the_kept_select_on_psycopg_raises_as_sqlalchemy_does(engine: sa.Engine):
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE t")
    with read_connection(engine) as conn, pytest.raises(sa.exc.ProgrammingError, match='"t"'):
        first_row(conn, BY_ID, "rid", 1)
    assert loopreads.LOOP_READS == LOOP_READS


@pytest.mark.parametrize("make", [by_ids, by_ids_ruled], ids=["plain", "with a rule"])
@pytest.mark.parametrize("ids", [[1], [2, 1], [], list(range(1, 2001))])
def test_all_rows_of_an_id_list_read_on_psycopg_what_sqlalchemy_reads(
    engine: sa.Engine, make: Any, ids: list[int]
):
    statement = make("postgresql")
    value = ids_value("postgresql", ids)

    readings = _off_and_on_the_loop(
        engine,
        lambda conn: conn.execute(statement, {"ids": value}).all(),
        lambda conn: all_rows(conn, statement, "ids", value),
    )
    for expected, got in readings:
        for rows in got:
            assert [type(r).__name__ for r in rows] == ["KeptRow"] * len(rows)
            assert [tuple(r) for r in rows] == [tuple(r) for r in expected]
            assert [[type(v) for v in r] for r in rows] == [[type(v) for v in r] for r in expected]
    wanted = {1, 2} & set(ids) if make is by_ids else {1} & set(ids)
    assert [r.id for r in expected] == sorted(wanted)


def test_kept_reads_in_autocommit_open_no_transaction(engine: sa.Engine):
    """A read connection is in autocommit: SQLAlchemy's begin and rollback around a kept
    statement would be bookkeeping alone, so none is opened (the statement runs on libpq,
    `tests/storage/test_pgraw.py`). A connection in a transaction still reads inside it,
    on psycopg's cursor, one per connection (a new one per statement cost ~6 us)."""

    def reads() -> list[Any]:
        with read_connection(engine) as conn:
            first = first_row(conn, BY_ID, "rid", 1)
            assert not conn.in_transaction()
            rows = all_rows(conn, by_ids("postgresql"), "ids", ids_value("postgresql", [2, 1]))
            assert not conn.in_transaction()
            return [first.name, [r.id for r in rows]]

    assert reads() == _on_loop(engine, reads) == ["Ann", [1, 2]]
    with engine.begin() as conn:  # a write's transaction: the kept read sees its change
        conn.execute(T.update().where(T.c.id == 1).values(name="Changed"))
        assert first_row(conn, BY_ID, "rid", 1).name == "Changed"
        driver = conn.connection.driver_connection
        cursor = driver._kt_cursor
        assert first_row(conn, BY_ID, "rid", 2).name is None
        assert driver._kt_cursor is cursor and conn.in_transaction()
        cursor.close()
        assert first_row(conn, BY_ID, "rid", 1).name == "Changed"
        assert driver._kt_cursor is not cursor


def test_a_brief_wait_the_server_missed_pauses_the_brief_waits(monkeypatch: pytest.MonkeyPatch):
    """A loop read waits up to `BRIEF_WAIT_MS` on its socket before the loop; once the
    answer did not come in that time `BRIEF_MISSES` times in a row, the next waits go to
    the loop at once for `BRIEF_PAUSE`: a slow server blocks the loop that often per pause."""
    import socket

    polls: list[Any] = []
    real = loopreads.select.poll

    def counted() -> Any:
        polls.append(1)
        return real()

    monkeypatch.setattr(loopreads.select, "poll", counted)
    monkeypatch.setattr(loopreads, "_brief_off_until", 0.0)
    monkeypatch.setattr(loopreads, "_brief_missed", 0)
    monkeypatch.setattr(loopreads, "BRIEF_MISSES", 2)
    quiet, other = socket.socketpair()
    try:
        assert loopreads._answered_soon(quiet.fileno()) is False  # nothing came: one miss
        other.send(b"x")
        assert loopreads._answered_soon(quiet.fileno()) is True  # answered: misses forgotten
        quiet.recv(1)
        assert loopreads._answered_soon(quiet.fileno()) is False
        assert loopreads._answered_soon(quiet.fileno()) is False  # two in a row: paused
        assert len(polls) == 4
        other.send(b"x")
        assert loopreads._answered_soon(quiet.fileno()) is False  # paused: not even polled
        assert len(polls) == 4
        monkeypatch.setattr(loopreads, "_brief_off_until", time.monotonic() - 1)
        assert loopreads._answered_soon(quiet.fileno()) is True  # the pause over
        assert len(polls) == 5
    finally:
        quiet.close()
        other.close()
