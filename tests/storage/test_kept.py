"""storage.kept: a SELECT compiled once and run on SQLite's driver cursor reads exactly
what SQLAlchemy's execution of it reads (types processed, the caller's transaction and
snapshot, errors raised as SQLAlchemy raises them), and hands back to SQLAlchemy what it
cannot keep exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.kept_rows import BY_ID, META, ROWS, RULED, T, by_ids, by_ids_ruled

from kartoteka.storage.engine import make_sqlite_engine, read_connection
from kartoteka.storage.kept import KeptSelect, _Unkept, all_rows, first_row, ids_value


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    made = make_sqlite_engine(tmp_path / "t.db")
    META.create_all(made)
    with made.begin() as conn:
        conn.execute(T.insert(), ROWS)
    yield made
    made.dispose()


@pytest.mark.parametrize("statement", [BY_ID, RULED], ids=["plain", "with a rule"])
@pytest.mark.parametrize("rid", [1, 2, 3])
def test_it_reads_what_sqlalchemy_reads(engine, statement, rid):
    with read_connection(engine) as conn:
        expected = conn.execute(statement, {"rid": rid}).first()
    with read_connection(engine) as conn:
        got = first_row(conn, statement, "rid", rid)
    if expected is None:
        assert got is None
        return
    assert type(got).__name__ == "KeptRow"  # read on the driver, not by SQLAlchemy
    assert tuple(got) == tuple(expected)
    assert [type(v) for v in got] == [type(v) for v in expected]
    assert got._fields == expected._fields


def test_it_reads_inside_the_callers_transaction_and_snapshot(engine):
    with read_connection(engine) as conn:
        assert not conn.in_transaction()
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
        # A read's deferred transaction, begun on the driver (SQLAlchemy's objects for it
        # cost more than the BEGIN): one snapshot for the rest of the read.
        assert conn.connection.driver_connection.in_transaction
        assert not conn.in_transaction()
        with engine.begin() as writer:
            writer.execute(T.update().where(T.c.id == 1).values(name="Bob"))
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
        # A statement SQLAlchemy runs adopts the transaction, in the same snapshot.
        assert conn.execute(sa.select(T.c.name).where(T.c.id == 1)).scalar() == "Ann"
        assert conn.in_transaction()
        conn.rollback()
        assert not conn.connection.driver_connection.in_transaction
        assert first_row(conn, BY_ID, "rid", 1).name == "Bob"


def test_a_read_begun_on_the_driver_ends_with_the_connection(engine):
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
        driver = conn.connection.driver_connection
        assert driver.in_transaction and not conn.in_transaction()
    # Back in the pool, rolled back by its reset: no snapshot pinned, writers' changes seen.
    assert not driver.in_transaction
    with engine.begin() as writer:
        writer.execute(T.update().where(T.c.id == 1).values(name="Bob"))
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1).name == "Bob"


def test_a_write_connection_begins_as_sqlalchemy_does(engine):
    with engine.connect() as conn:
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
        assert conn.in_transaction()  # BEGIN IMMEDIATE, through SQLAlchemy
        conn.execute(T.update().where(T.c.id == 1).values(name="Cy"))
        conn.commit()
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1).name == "Cy"


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(engine):
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1) is not None
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE t")
    with read_connection(engine) as conn, pytest.raises(sa.exc.OperationalError) as raised:
        assert KeptSelect(BY_ID, conn.dialect, "rid")  # kept, so the driver raises
        first_row(conn, BY_ID, "rid", 1)
    assert "no such table" in str(raised.value)


def test_a_connection_gone_is_invalidated_as_sqlalchemy_does(engine):
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1) is not None
        conn.connection.driver_connection.close()
        with pytest.raises(sa.exc.ProgrammingError, match="closed database"):
            first_row(conn, BY_ID, "rid", 1)
        assert conn.invalidated
    with read_connection(engine) as conn:  # the pool made a new one
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"


def test_a_column_added_elsewhere_does_not_disturb_the_kept_form(engine):
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE t ADD COLUMN extra TEXT")
    with read_connection(engine) as conn:
        row = first_row(conn, BY_ID, "rid", 1)
    assert row.name == "Ann" and len(row) == len(T.c)


def test_what_it_cannot_keep_exactly_goes_through_sqlalchemy(engine):
    expanding = sa.select(T).where(T.c.id == sa.bindparam("rid"), T.c.id.in_([1, 2]))
    per_call = sa.select(T).where(
        T.c.id == sa.bindparam("rid"), T.c.name != sa.bindparam("n", callable_=lambda: "x")
    )
    twice = sa.select(T).where(T.c.id == sa.bindparam("rid"), T.c.id <= sa.bindparam("rid"))
    processed = sa.select(T).where(T.c.at == sa.bindparam("when", type_=sa.DateTime))
    for statement, name in ((expanding, "rid"), (per_call, "rid"), (twice, "rid")):
        with pytest.raises(_Unkept):
            KeptSelect(statement, engine.dialect, name)
        with read_connection(engine) as conn:
            assert first_row(conn, statement, name, 1).name == "Ann"
    with pytest.raises(_Unkept):
        KeptSelect(processed, engine.dialect, "when")
    with read_connection(engine) as conn:
        assert first_row(conn, processed, "when", ROWS[0]["at"]).id == 1


def test_rows_read_positionally_and_by_name_as_sqlalchemys(engine):
    with read_connection(engine) as conn:
        row = first_row(conn, BY_ID, "rid", 1)
    assert type(row).__name__ == "KeptRow"
    assert row[0] == row.id == 1 and row[1] == row.name == "Ann"
    assert row._fields == tuple(c.name for c in T.c)
    assert isinstance(row, tuple) and row == tuple(row)


@pytest.mark.parametrize("make", [by_ids, by_ids_ruled], ids=["plain", "with a rule"])
@pytest.mark.parametrize("ids", [[1], [2, 1], [1, 2, 3], [], list(range(1, 2001))])
def test_all_rows_of_an_id_list_read_what_sqlalchemy_reads(engine, make, ids):
    statement = make("sqlite")
    value = ids_value("sqlite", ids)
    with read_connection(engine) as conn:
        expected = conn.execute(statement, {"ids": value}).all()
        got = all_rows(conn, statement, "ids", value)
    assert [type(r).__name__ for r in got] == ["KeptRow"] * len(got)  # on the driver
    assert [tuple(r) for r in got] == [tuple(r) for r in expected]
    assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in expected]
    wanted = {1, 2} & set(ids) if make is by_ids else {1} & set(ids)
    assert [r.id for r in got] == sorted(wanted)


def test_all_rows_goes_through_sqlalchemy_where_it_cannot_keep(engine):
    expanding = by_ids("sqlite").where(T.c.id.in_([1, 2]))
    with read_connection(engine) as conn:
        rows = all_rows(conn, expanding, "ids", ids_value("sqlite", [1, 2, 3]))
    assert [r.id for r in rows] == [1, 2] and type(rows[0]).__name__ == "Row"
