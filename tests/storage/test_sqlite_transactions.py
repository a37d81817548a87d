"""SQLite transactions begin on the driver's connection (issue 16: through SQLAlchemy's
execute path the `BEGIN` was a seventh of a record's GET), and behave as before: writers
take the write lock up front, readers read a snapshot, and a busy database is reported
as SQLAlchemy reports it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from kartoteka.storage.engine import make_sqlite_engine, read_connection


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    made = make_sqlite_engine(tmp_path / "t.db")
    with made.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    return made


def test_a_writer_takes_the_write_lock_at_begin(engine: sa.Engine):
    with engine.connect() as writer, engine.connect() as other:
        writer.begin()  # BEGIN IMMEDIATE: the lock is taken before any statement
        other.connection.driver_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
        with pytest.raises(sa.exc.OperationalError, match="locked") as caught:
            other.begin()
        assert "BEGIN IMMEDIATE" in str(caught.value)
        writer.rollback()
        # The refused connection is usable again once the lock is free.
        other.rollback()
        with other.begin():
            other.exec_driver_sql("INSERT INTO t VALUES (2)")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2


def test_a_reader_reads_one_snapshot_beside_a_writer(engine: sa.Engine):
    with read_connection(engine) as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
        with engine.begin() as writer:  # a reader never blocks a writer (WAL)
            writer.exec_driver_sql("INSERT INTO t VALUES (3)")
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
        reader.rollback()
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
