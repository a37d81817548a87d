"""Kept statements run on libpq (`storage.pgraw`, decision 0030): prepared once per
connection under their own names, parameters as text, rows loaded as psycopg's cursor
loads them; a statement the server lost or refuses is read again as before and
prepared anew; at most `PREPARED_MOST` kept per connection; a read cut off mid-statement
closes its connection."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PG_URL
from support.kept_rows import BY_ID, RULED, T, by_ids, by_ids_ruled, pg_engine_with_rows

from kartoteka.storage import pgraw
from kartoteka.storage.engine import read_connection, reading
from kartoteka.storage.kept import KeptSelect, _kept_form, all_rows, first_row, ids_value
from kartoteka.storage.loopreads import read_on_loop

pytestmark = pytest.mark.skipif(PG_URL is None, reason="libpq is PostgreSQL's")


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    assert PG_URL is not None
    with pg_engine_with_rows(PG_URL, "raw") as made:
        yield made


def _prepared(conn: sa.Connection) -> list[str]:
    """This connection's statements prepared under our names, as the server lists them."""
    rows = conn.exec_driver_sql(
        "SELECT name FROM pg_prepared_statements WHERE left(name, 3) = 'kt_' ORDER BY name"
    )
    return [name for (name,) in rows]


def _names(conn: sa.Connection) -> dict[bytes, bytes]:
    return dict(conn.connection.driver_connection._kt_raw.names)  # type: ignore[union-attr]


def test_kept_statements_are_prepared_once_per_connection_and_run_on_libpq(engine: sa.Engine):
    with read_connection(engine) as conn:
        driver = conn.connection.driver_connection
        for _ in range(3):
            assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
            ids = ids_value("postgresql", [2, 1])
            assert [r.id for r in all_rows(conn, by_ids("postgresql"), "ids", ids)] == [1, 2]
        assert not hasattr(driver, "_kt_cursor")  # psycopg's cursor never ran them
        assert not conn.in_transaction()
        assert _prepared(conn) == ["kt_1", "kt_2"]
        assert sorted(_names(conn).values()) == [b"kt_1", b"kt_2"]


def test_parameters_sent_as_text_read_what_sqlalchemy_reads(engine: sa.Engine):
    """The statement's own values of every kind (a quote, Cyrillic, a decimal, a moment,
    a date, a flag, NULL by `IS`) go as text and the server infers their types."""
    with engine.begin() as conn:
        conn.execute(
            T.insert(),
            [{"id": 3, "name": "O'Brien «ё»", "amount": decimal.Decimal("1000.55"),
              "at": dt.datetime(2026, 1, 2, 3, 4, 5), "day": dt.date(2026, 5, 1),
              "flag": True, "region": "West"}],
        )  # fmt: skip
    statement = BY_ID.where(
        T.c.name == "O'Brien «ё»",
        T.c.amount >= decimal.Decimal("1000.5"),
        T.c.at < dt.datetime(2026, 1, 2, 3, 4, 6),
        T.c.day.between(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        T.c.flag.is_(True),
        T.c.data.is_(None),
    )
    with read_connection(engine) as conn:
        expected = conn.execute(statement, {"rid": 3}).first()
        got = first_row(conn, statement, "rid", 3)
        assert expected is not None and tuple(got) == tuple(expected)
        assert [type(v) for v in got] == [type(v) for v in expected]
        assert first_row(conn, statement, "rid", 1) is None
        assert len(_names(conn)) == 1  # run on libpq


@pytest.mark.parametrize("how", ["DEALLOCATE ALL", "DISCARD ALL"])
def test_a_statement_the_connection_lost_is_read_again_and_prepared_anew(
    engine: sa.Engine, how: str
):
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
        conn.exec_driver_sql(how)
        assert _prepared(conn) == []
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"  # refused, read again
        assert first_row(conn, BY_ID, "rid", 2).id == 2  # prepared anew
        assert _prepared(conn) == ["kt_2"]


def test_a_column_that_changed_type_is_read_again_and_prepared_anew(engine: sa.Engine):
    """The server refuses a prepared statement whose result's types changed ("cached plan
    must not change result type"); the read is made again, as SQLAlchemy reads it."""
    with read_connection(engine) as conn:
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
        with engine.begin() as other:
            other.exec_driver_sql("ALTER TABLE t ALTER COLUMN name TYPE text")
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
        assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
        assert _prepared(conn) == ["kt_1", "kt_2"] or _prepared(conn) == ["kt_2"]


def test_a_statement_the_server_will_not_prepare_runs_on_the_cursor(engine: sa.Engine):
    """A parameter whose type the SQL alone does not tell (`$2 IS NOT NULL`): psycopg's
    cursor sends its type, so the statement runs there from then on."""
    statement = BY_ID.where(sa.bindparam("five", 5, type_=sa.types.NullType()).is_not(None))
    with read_connection(engine) as conn:
        for _ in range(2):
            assert first_row(conn, statement, "rid", 1).name == "Ann"
        form = _kept_form(conn, statement, "rid")
        assert isinstance(form, KeptSelect) and form.raw is None
        assert conn.connection.driver_connection._kt_cursor is not None


def test_a_connection_keeps_at_most_prepared_most_statements(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(pgraw, "PREPARED_MOST", 2)
    ids = ids_value("postgresql", [1, 2])
    with read_connection(engine) as conn:
        for _ in range(2):
            assert first_row(conn, BY_ID, "rid", 1).name == "Ann"
            assert first_row(conn, RULED, "rid", 1).name == "Ann"
            assert [r.id for r in all_rows(conn, by_ids("postgresql"), "ids", ids)] == [1, 2]
            assert [r.id for r in all_rows(conn, by_ids_ruled("postgresql"), "ids", ids)] == [1]
            assert len(_prepared(conn)) == 2
        assert len(_names(conn)) == 2


def test_a_kept_read_on_the_loop_cut_off_mid_statement_closes_its_connection(
    engine: sa.Engine,
):
    # Reads no table: the server goes on sleeping after the connection is closed, and a
    # lock on `t` would hold the fixture's DROP SCHEMA until it wakes.
    slow = sa.select(sa.bindparam("rid", type_=sa.Integer).label("id"), sa.func.pg_sleep(5))
    lent: list[Any] = []

    def read() -> Any:
        with reading(engine) as conn:
            lent.append(conn)
            return first_row(conn, slow, "rid", 1)

    async def run() -> None:
        task = asyncio.create_task(read_on_loop(engine, read))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    asyncio.run(run())
    assert time.monotonic() - started < 2  # not waited out
    assert lent[0].invalidated or lent[0].closed

    def again() -> Any:
        with reading(engine) as conn:
            return first_row(conn, BY_ID, "rid", 1).name

    assert asyncio.run(read_on_loop(engine, again)) == "Ann"


def test_a_connection_whose_server_went_away_is_replaced(engine: sa.Engine):
    """The server ends a kept connection's backend: the next read on it fails as
    SQLAlchemy's reads fail (a DBAPI error, the connection invalidated), the one after
    it reads on a new connection."""

    def pid() -> Any:
        with reading(engine) as conn:
            assert first_row(conn, BY_ID, "rid", 1).name == "Ann"  # prepared on libpq
            return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    def name() -> Any:
        with reading(engine) as conn:
            return first_row(conn, BY_ID, "rid", 1).name

    before = asyncio.run(read_on_loop(engine, pid))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(before)})")
    time.sleep(0.2)
    try:
        assert asyncio.run(read_on_loop(engine, name)) == "Ann"
    except sa.exc.DBAPIError:
        pass  # the read that found the connection gone
    assert asyncio.run(read_on_loop(engine, name)) == "Ann"
    assert asyncio.run(read_on_loop(engine, pid)) != before
