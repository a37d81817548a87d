"""storage.bulk: whole batches as one statement (PostgreSQL) or an executemany (SQLite)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from conftest_support import *  # noqa: F403

from kartoteka.storage import bulk, schema


def _attempt(delivery_id: int, attempt: int, body: str) -> dict:
    return {
        "delivery_id": delivery_id,
        "attempt": attempt,
        "at": datetime(2026, 1, 2, 3, 4, 5),
        "request_body": body,
        "response_status": 200,
        "response_body": "ok",
        "error": None,
        "duration_ms": 3,
    }


def test_insert_update_and_id_in(ws):
    w, d, a = schema.webhooks, schema.webhook_deliveries, schema.delivery_attempts
    now = datetime(2026, 1, 2, 3, 4, 5)
    catalog = ws.meta().catalog("webhooks").id
    with ws.engine.begin() as conn:
        hook = conn.execute(
            sa.insert(w).values(
                url="http://127.0.0.1:9/h", catalog_id=catalog, kind="notify",
                events=["record.created"], fields=[], secret="whsec_x", active=True,
                ordered=False, start_seq=0, created_at=now, updated_at=now,
            ).returning(w.c.id)
        ).scalar_one()  # fmt: skip
        rows = [
            {
                "webhook_id": hook,
                "event_seq": seq,
                "webhook_msg_id": f"evt_{seq}_{hook}",
                "payload": '{"quote": "\\"", "emoji": "✓"}',
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for seq in (1, 2, 3)
        ]
        bulk.insert_rows(conn, d, rows, skip_conflicts_on=["webhook_id", "event_seq"])
        bulk.insert_rows(conn, d, rows[:2], skip_conflicts_on=["webhook_id", "event_seq"])
        ids = conn.execute(sa.select(d.c.id).order_by(d.c.event_seq)).scalars().all()
        assert len(ids) == 3
        bulk.insert_rows(conn, a, [_attempt(i, 1, "b'\\n") for i in ids])
        later = datetime(2026, 5, 6, 7, 8, 9)
        bulk.update_rows(
            conn,
            d,
            [{"id": ids[0], "status": "done", "attempts": 1, "last_error": None},
             {"id": ids[1], "status": "failed", "attempts": 2, "last_error": "HTTP 503"}],
            same={"updated_at": later},
        )  # fmt: skip
        got = conn.execute(
            sa.select(d.c.id, d.c.status, d.c.attempts, d.c.last_error, d.c.updated_at)
            .where(bulk.id_in(conn, d.c.id, ids[:2]))
            .order_by(d.c.id)
        ).all()
        assert [tuple(r) for r in got] == [
            (ids[0], "done", 1, None, later),
            (ids[1], "failed", 2, "HTTP 503", later),
        ]
        third = conn.execute(sa.select(d.c.status, d.c.payload).where(d.c.id == ids[2])).one()
        assert tuple(third) == ("pending", '{"quote": "\\"", "emoji": "✓"}')
        bodies = conn.execute(sa.select(a.c.request_body, a.c.at)).all()
        assert {tuple(b) for b in bodies} == {("b'\\n", now)}


def test_insert_many_keeps_every_value_as_given(ws):
    """`insert_many` of enough rows to be a COPY on PostgreSQL (an executemany on SQLite):
    JSON with quotes, tabs, newlines and backslashes, NULLs, times and text come back
    exactly as given."""
    h = schema.history
    at = datetime(2026, 1, 2, 3, 4, 5)
    nasty = ["tab\there", "line\nbreak", "back\\slash \\N", 'quote " ✓', "", "\\.", "\r"]
    rows = [
        {
            "catalog_id": 1,
            "record_id": 10_000 + i,
            "at": at,
            "user_id": None if i % 2 else i,
            "action": "create",
            "changes": {"text": {"old": None, "new": nasty[i % len(nasty)]}, "n": i},
        }
        for i in range(bulk.COPY_FROM * 3)
    ]
    with ws.engine.begin() as conn:
        bulk.insert_many(conn, h, rows)
        got = conn.execute(
            sa.select(h.c.record_id, h.c.at, h.c.user_id, h.c.action, h.c.changes)
            .where(h.c.record_id >= 10_000)
            .order_by(h.c.record_id)
        ).all()
    assert [tuple(r) for r in got] == [
        (r["record_id"], at, r["user_id"], "create", r["changes"]) for r in rows
    ]


def test_values_in_is_one_parameter_for_texts_and_whole_numbers(ws):
    """`values_in` matches exactly the listed texts (quotes, case, unicode) or ids, and
    leaves mixed or other values to IN lists (None)."""
    h = schema.history
    at = datetime(2026, 1, 2, 3, 4, 5)
    actions = ["create", "update", "it's", 'say "x"', "ёж", "Create", "a,b", "{x}", "back\\slash",
               "NULL", "", " pad ", 'q\\"']  # fmt: skip
    rows = [
        {"catalog_id": 2, "record_id": 20_000 + i, "at": at, "user_id": None,
         "action": a, "changes": {}}
        for i, a in enumerate(actions * 1000)
    ]  # fmt: skip
    with ws.engine.begin() as conn:
        bulk.insert_many(conn, h, rows)

        def ids(match):
            q = sa.select(h.c.record_id).where(h.c.catalog_id == 2, match)
            return set(conn.execute(q).scalars())

        wanted = ["it's", 'say "x"', "ёж", "missing", "a,b", "{x}", "back\\slash", "NULL", "",
                  " pad ", 'q\\"']  # fmt: skip
        match = bulk.values_in(conn, h.c.action, wanted)
        assert match is not None
        assert ids(match) == {r["record_id"] for r in rows if r["action"] in wanted}
        some = [20_000, 20_007, 31_999, 99_999_999]
        assert ids(bulk.values_in(conn, h.c.record_id, some)) == {20_000, 20_007, 31_999}
        assert ids(bulk.id_in(conn, h.c.record_id, some)) == {20_000, 20_007, 31_999}
        assert ids(bulk.id_in(conn, h.c.record_id, [])) == set()
    assert bulk.values_in(conn, h.c.record_id, [1, "1"]) is None
    assert bulk.values_in(conn, h.c.record_id, ["1"]) is None  # text keys, integer column
    assert bulk.values_in(conn, h.c.record_id, [True, 1]) is None
    assert bulk.values_in(conn, h.c.at, [at]) is None
    assert bulk.values_in(conn, h.c.record_id, []) is None


def test_dates_and_times_are_bound_as_the_dialect_binds_them(ws):
    """`insert_many` binds dates and naive date-times with `isoformat` where that is the
    dialect's own text (SQLite): the stored text is the one SQLAlchemy writes, for whole
    seconds, microseconds, early years, an aware time and a date in a date-time column."""
    from datetime import UTC, date

    moments = [
        datetime(2026, 1, 2, 3, 4, 5),
        datetime(2026, 1, 2, 3, 4, 5, 60),
        datetime(9, 12, 31, 23, 59, 59, 999_999),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        date(2026, 5, 6),
    ]
    dialect = ws.engine.dialect
    for type_ in (sa.DateTime(), sa.Date()):
        own = type_._cached_bind_processor(dialect) or (lambda v: v)
        ours = bulk._binder(type_, dialect) or (lambda v: v)
        for value in moments:
            assert ours(value) == own(value), (type_, value)


def test_copy_is_binary_only_when_every_value_fits_its_column():
    """PostgreSQL's COPY goes in the binary format only when every column is of a plain
    type and holds values of exactly its Python type; anything else (a flag in a number
    column, an aware time, a date-time in a date column, a numeric) keeps the text
    format, where the server converts as it always did."""
    from datetime import UTC, date
    from decimal import Decimal

    from sqlalchemy.dialects import postgresql

    dialect = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    t = sa.Table(
        "copy_probe", sa.MetaData(), sa.Column("a", sa.BigInteger), sa.Column("b", sa.Text),
        sa.Column("c", sa.DateTime), sa.Column("d", sa.Boolean), sa.Column("e", sa.Date),
        sa.Column("f", sa.Numeric(10, 2)), sa.Column("g", sa.String(20)),
    )  # fmt: skip
    a, b, c, d, e, f, g = t.c
    fitting = [[1, None], ["x", None], bulk.Same(datetime(2026, 1, 1)), [True, False],
               [date(2026, 1, 1), None], ["y", "z"]]  # fmt: skip
    assert bulk.binary_types(dialect, [a, b, c, d, e, g], fitting) == [
        "int8", "text", "timestamp", "bool", "date", "varchar"
    ]  # fmt: skip
    assert bulk.binary_types(dialect, [a, c], [[None], bulk.Same(None)]) == ["int8", "timestamp"]
    assert bulk.binary_types(dialect, [a], [[1, True]]) is None
    assert bulk.binary_types(dialect, [b], [[1]]) is None
    assert bulk.binary_types(dialect, [c], [[datetime(2026, 1, 1, tzinfo=UTC)]]) is None
    assert bulk.binary_types(dialect, [e], [[datetime(2026, 1, 1)]]) is None
    assert bulk.binary_types(dialect, [f], [[Decimal("1.00")]]) is None


def test_json_documents_are_stored_as_text(ws):
    """JSON columns hold text on every dialect: SQLite gets orjson's bytes made TEXT by
    the statement, never a blob (JSON functions and text comparisons read it alike)."""
    h = schema.history
    doc = {"name": {"old": None, "new": 'Привет ✓ "q" \\ \n'}}
    rows = [
        {"catalog_id": 1, "record_id": 20_000 + i, "at": datetime(2026, 1, 2), "user_id": None,
         "action": "create", "changes": doc}
        for i in range(bulk.COPY_FROM * 2)
    ]  # fmt: skip
    with ws.engine.begin() as conn:
        bulk.insert_many(conn, h, rows)
        kinds = conn.execute(
            sa.select(h.c.changes, sa.cast(h.c.changes, sa.Text)).where(h.c.record_id >= 20_000)
        ).all()
        if conn.dialect.name == "sqlite":
            types = conn.exec_driver_sql(
                "SELECT DISTINCT typeof(changes) FROM history WHERE record_id >= 20000"
            ).all()
            assert types == [("text",)]
    assert all(parsed == doc for parsed, _ in kinds)
    assert {text for _, text in kinds} == {
        '{"name":{"old":null,"new":"Привет ✓ \\"q\\" \\\\ \\n"}}'
    }


def test_many_rows_go_as_multi_row_inserts_of_every_value(ws, monkeypatch):
    """From `MULTI_ROWS_FROM` rows SQLite gets multi-row INSERTs of up to `MULTI_ROWS`
    rows (the last one shorter), bounded by the parameters a statement may take: every
    row comes back as given, a column shared by all rows (`Same`) included, and the
    statements are as many as the parts (PostgreSQL: a COPY, no INSERT)."""
    h = schema.history
    at = datetime(2026, 1, 2, 3, 4, 5)
    monkeypatch.setattr(bulk, "MULTI_ROWS", 7)
    count = 7 * 3 + 2
    columns = {
        "catalog_id": bulk.Same(5),
        "record_id": [30_000 + i for i in range(count)],
        "at": bulk.Same(at),
        "user_id": [None if i % 3 else i for i in range(count)],
        "action": bulk.Same("create"),
        "changes": [{"n": i, "text": f'строка {i} \\ " \n'} for i in range(count)],
    }
    statements: list[str] = []
    with ws.engine.begin() as conn:
        sa.event.listen(conn, "before_cursor_execute",
                        lambda *a: statements.append(a[2]))  # fmt: skip
        bulk.insert_columns(conn, h, count, columns)
        got = conn.execute(
            sa.select(h.c.catalog_id, h.c.record_id, h.c.at, h.c.user_id, h.c.action, h.c.changes)
            .where(h.c.record_id >= 30_000)
            .order_by(h.c.record_id)
        ).all()
    assert [tuple(r) for r in got] == [
        (5, 30_000 + i, at, columns["user_id"][i], "create", columns["changes"][i])  # type: ignore[index]
        for i in range(count)
    ]
    inserts = [s for s in statements if s.startswith(("INSERT", "COPY"))]
    if ws.engine.dialect.name == "sqlite":
        assert [s.count("(?, ?") for s in inserts] == [7, 7, 7, 2]
        monkeypatch.setattr(bulk, "SQLITE_MAX_PARAMS", 6 * 3)  # three rows of six columns
        statements.clear()
        with ws.engine.begin() as conn:
            sa.event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
            bulk.insert_columns(conn, h, 20, {**columns, "record_id": list(range(40_000, 40_020)),
                                              "user_id": [None] * 20,
                                              "changes": [{}] * 20})  # fmt: skip
        assert [s.count("(?, ?") for s in statements if s.startswith("INSERT")] == [3] * 6 + [2]
    else:
        assert inserts == []  # one COPY on psycopg's own cursor
