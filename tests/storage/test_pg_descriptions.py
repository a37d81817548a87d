"""PostgreSQL: each connection describes a result shape once (`storage.pgcursor`), and
the description is the one psycopg would build, whatever the shape, on every connection,
and after the table changes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from kartoteka.storage.pgcursor import DescribedOnceCursor


def _described(conn: sa.Connection, sql: str) -> tuple[list[Any], list[Any]]:
    """The kept description of `sql`'s result and the one psycopg builds for it."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    assert isinstance(cursor, DescribedOnceCursor)
    cursor.execute(sql)
    kept = cursor.description
    built = psycopg.Cursor.description.fget(cursor)  # type: ignore[attr-defined]
    cursor.close()
    return kept, built


def _same(kept: list[Any], built: list[Any]) -> bool:
    return [tuple(c) for c in kept] == [tuple(c) for c in built] and [
        c.type_display for c in kept
    ] == [c.type_display for c in built]


def test_descriptions_are_psycopgs_own(instance: Any):
    engine = instance.workspace(instance.settings.default_workspace).engine
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's cursors are PostgreSQL's")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE shapes (id integer, name text, price numeric(12, 2), at timestamptz,"
            " tags varchar(20)[], flag boolean)"
        )
        shapes = [
            "SELECT * FROM shapes",
            "SELECT id, name AS title, price FROM shapes",
            "SELECT 1 AS one, 'x'::varchar(3) AS short, now() AS at",
            "SELECT count(*) FROM shapes",
        ]
        for sql in shapes:
            for _ in range(3):  # built, then kept
                kept, built = _described(conn, sql)
                assert _same(kept, built), sql
        first, _ = _described(conn, shapes[1])
        again, _ = _described(conn, shapes[1])
        assert again is not first and again == first  # a new list each time
        conn.exec_driver_sql("ALTER TABLE shapes ALTER COLUMN price TYPE numeric(14, 4)")
        conn.exec_driver_sql("ALTER TABLE shapes ADD COLUMN note text")
        kept, built = _described(conn, "SELECT * FROM shapes")
        assert _same(kept, built) and kept[-1].name == "note"
        assert kept[2].type_display == "numeric(14,4)"
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("UPDATE shapes SET flag = true")  # no result: no description
        assert cursor.description is None
        conn.exec_driver_sql("DROP TABLE shapes")
