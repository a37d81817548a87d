"""The table, rows and statements the kept-SELECT tests read on both databases
(`tests/storage/test_kept.py`, `tests/storage/test_loopreads.py`)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from kartoteka.storage.engine import make_pg_engine, sqlalchemy_url
from kartoteka.storage.kept import in_ids

META = sa.MetaData()
T = sa.Table(
    "t",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50)),
    sa.Column("at", sa.DateTime),
    sa.Column("day", sa.Date),
    sa.Column("amount", sa.Numeric(12, 2)),
    sa.Column("flag", sa.Boolean),
    sa.Column("data", sa.JSON),
    sa.Column("region", sa.String(20)),
)
ROWS = [
    {
        "id": 1,
        "name": "Ann",
        "at": dt.datetime(2026, 12, 4, 10, 30, 15, 250000),
        "day": dt.date(2026, 12, 4),
        "amount": decimal.Decimal("1234.50"),
        "flag": True,
        "data": {"tags": ["a", "б"], "n": 1},
        "region": "South",
    },
    {
        "id": 2,
        "name": None,
        "at": None,
        "day": None,
        "amount": None,
        "flag": False,
        "data": None,
        "region": "North",
    },
]
BY_ID = sa.select(T).where(T.c.id == sa.bindparam("rid"))
# A rights-like clause with its own values (a text, a date, a flag): fixed in the statement.
RULED = BY_ID.where(T.c.region == "South", T.c.day >= dt.date(2026, 1, 1), T.c.flag.is_(True))


def by_ids(dialect: str) -> sa.Select[Any]:
    """The rows of some ids, the ids one parameter (`kept.in_ids`), in id order."""
    return sa.select(T).where(in_ids(T.c.id, dialect)).order_by(T.c.id)


def by_ids_ruled(dialect: str) -> sa.Select[Any]:
    """`by_ids` with a rights-like clause of its own values."""
    return by_ids(dialect).where(T.c.region == "South", T.c.flag.is_(True))


@contextmanager
def pg_engine_with_rows(url: str, prefix: str) -> Iterator[sa.Engine]:
    """A workspace-like PostgreSQL engine on a schema of its own holding `T` and `ROWS`;
    the schema is dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    made = make_pg_engine(url, schema)
    try:
        META.create_all(made)
        with made.begin() as conn:
            conn.execute(T.insert(), ROWS)
        yield made
    finally:
        made.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
