"""The connection a SQLite engine keeps for the event loop's reads (issue 16, decision
0023): each read still begins and rolls back its own deferred transaction; only the pool
checkout is saved. It survives a failed read, is replaced when invalidated, sees schema
changes made elsewhere, and is closed when its engine is disposed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from kartoteka.storage.engine import ON_THE_LOOP, held_connection, make_sqlite_engine, reading
from kartoteka.storage.kept import first_row


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    made = make_sqlite_engine(tmp_path / "t.db")
    with made.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    yield made
    made.dispose()


@pytest.fixture
def on_the_loop() -> Iterator[None]:
    """Read as a bounded read on the event loop does (`api.direct`)."""
    token = ON_THE_LOOP.set(True)
    yield
    ON_THE_LOOP.reset(token)


def _read_x(engine: sa.Engine) -> tuple[sa.Connection, list[int]]:
    with reading(engine) as conn:
        return conn, [row[0] for row in conn.exec_driver_sql("SELECT x FROM t ORDER BY x")]


def test_reads_on_the_loop_share_one_connection_in_their_own_transactions(
    engine: sa.Engine, on_the_loop: None
):
    with reading(engine) as first:
        first.exec_driver_sql("SELECT x FROM t").all()
        assert first.in_transaction() and held_connection(engine) is first
    # Between reads: no transaction (no snapshot pinned, WAL checkpoints go on), and not
    # the thread's held connection, which only a read in progress is.
    assert not first.in_transaction() and not first.closed
    assert held_connection(engine) is None
    with engine.begin() as writer:
        writer.exec_driver_sql("INSERT INTO t VALUES (2)")
    second, values = _read_x(engine)
    assert second is first and values == [1, 2]
    checked_out = engine.pool.checkedout()
    _read_x(engine)
    assert engine.pool.checkedout() == checked_out == 1


def test_off_the_loop_reads_check_a_connection_out(engine: sa.Engine):
    conn, values = _read_x(engine)
    assert values == [1] and conn.closed
    assert engine.pool.checkedout() == 0


def test_a_read_in_progress_is_not_lent_again(engine: sa.Engine, on_the_loop: None):
    with reading(engine) as outer, reading(engine) as inner:
        assert inner is not outer
    assert inner.closed and not outer.closed


def test_a_failed_read_is_rolled_back_and_the_connection_kept(engine: sa.Engine, on_the_loop: None):
    with pytest.raises(sa.exc.OperationalError), reading(engine) as failed:
        failed.exec_driver_sql("SELECT x FROM t").all()
        failed.exec_driver_sql("SELECT nope FROM t")
    assert not failed.in_transaction() and held_connection(engine) is None
    with pytest.raises(LookupError), reading(engine) as raised:
        raised.exec_driver_sql("SELECT x FROM t").all()
        raise LookupError
    assert raised is failed and not raised.in_transaction()
    again, values = _read_x(engine)
    assert again is failed and values == [1]


def test_an_invalidated_connection_is_replaced(engine: sa.Engine, on_the_loop: None):
    with reading(engine) as first:
        first.invalidate()
    second, values = _read_x(engine)
    assert second is not first and values == [1] and first.closed
    assert engine.pool.checkedout() == 1


def test_a_schema_change_elsewhere_is_seen(engine: sa.Engine, on_the_loop: None):
    """The field designer alters a catalog's table on another connection; the kept one
    reads the new column in its next read (SQLite prepares its statements again)."""
    kept, _ = _read_x(engine)
    with engine.begin() as designer:
        designer.exec_driver_sql("ALTER TABLE t ADD COLUMN y TEXT DEFAULT 'new'")
    with reading(engine) as conn:
        assert conn is kept
        assert conn.exec_driver_sql("SELECT * FROM t").mappings().all() == [{"x": 1, "y": "new"}]
    with engine.begin() as designer:
        designer.exec_driver_sql("ALTER TABLE t DROP COLUMN y")
    with reading(engine) as conn:
        assert conn.exec_driver_sql("SELECT * FROM t").mappings().all() == [{"x": 1}]


def test_dispose_closes_the_kept_connection(engine: sa.Engine, on_the_loop: None):
    kept, _ = _read_x(engine)
    engine.dispose()  # a workspace closed, deleted or restored from a backup
    assert kept.closed and engine.pool.checkedout() == 0
    fresh, values = _read_x(engine)
    assert fresh is not kept and values == [1]
    # Disposed while a read is in progress (another thread deletes the workspace): the
    # read finishes on its connection, which is closed when it ends.
    with reading(engine) as reader:
        engine.dispose()
        assert reader is fresh and reader.exec_driver_sql("SELECT x FROM t").scalar() == 1
    assert fresh.closed
    after, _ = _read_x(engine)
    assert after not in (kept, fresh) and not after.closed
    assert _read_x(engine)[0] is after  # kept again from the next read on


def test_a_read_begun_on_the_driver_is_ended_by_the_kept_connection(
    engine: sa.Engine, on_the_loop: None
):
    statement = sa.text("SELECT x FROM t WHERE x >= :low ORDER BY x").columns(
        sa.column("x", sa.Integer)
    )
    with reading(engine) as first:
        assert first_row(first, statement, "low", 1) == (1,)
        driver = first.connection.driver_connection
        assert driver.in_transaction and not first.in_transaction()
    assert not driver.in_transaction  # rolled back: no snapshot pinned between reads
    with engine.begin() as writer:
        writer.exec_driver_sql("INSERT INTO t VALUES (0)")
    with reading(engine) as second:
        assert second is first
        assert first_row(second, statement, "low", 0) == (0,)
