"""A new workspace's schema replayed (`storage.fresh`, decision 0031): the second empty
workspace of a process gets exactly what Alembic made of the first (tables, columns,
indexes, constraints, rows), without Alembic; a migration's "now" is the new workspace's
now; a recording that names its schema or carries another moment is not kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from kartoteka.storage import engine as storage_engine
from kartoteka.storage import fresh


def _snapshot(engine: sa.Engine) -> dict[str, Any]:
    """What a workspace's database is made of and holds, moments as their type."""
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        for table in sorted(insp.get_table_names()):
            columns = [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in insp.get_columns(table)
            ]
            indexes = sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            )
            keys = sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(table)
            )
            uniques = sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table))
            checks = sorted(str(c["sqltext"]) for c in insp.get_check_constraints(table))
            primary = insp.get_pk_constraint(table)["constrained_columns"]
            rows = sorted(
                repr(tuple("<moment>" if fresh._moment(v) is not None else v for v in row))
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))
            )
            out[table] = (columns, indexes, keys, uniques, checks, primary, rows)
        if engine.dialect.name == "sqlite":
            out["sqlite_master"] = sorted(
                tuple(r)
                for r in conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master")
            )
        else:
            out["pg_indexes"] = sorted(
                (name, definition.replace(schema, "<schema>"))
                for name, definition, schema in conn.exec_driver_sql(
                    "SELECT indexname, indexdef, schemaname FROM pg_indexes"
                    " WHERE schemaname = current_schema()"
                )
            )
    return out


def test_the_second_empty_workspace_is_replayed_as_alembic_made_the_first(
    instance: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
):
    runs: list[str] = []
    upgrade = storage_engine.command.upgrade
    monkeypatch.setattr(
        storage_engine.command, "upgrade", lambda cfg, rev: (runs.append(rev), upgrade(cfg, rev))
    )
    fresh.forget()
    made = instance.create_workspace(settings.default_workspace + "a")  # by Alembic
    assert runs == ["head"]
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    replayed = instance.create_workspace(settings.default_workspace + "b")
    assert runs == ["head"]  # no Alembic this time
    assert _snapshot(replayed.engine) == _snapshot(made.engine)
    assert storage_engine.current_revision(replayed.engine) == storage_engine.head_revision()
    with replayed.engine.connect() as conn:  # migration 0007's "now" is this workspace's
        moments = conn.execute(sa.text("SELECT created_at FROM catalogs")).scalars().all()
    assert moments and all(_moment(m) >= started.replace(microsecond=0) for m in moments)
    # The workspace works: a catalog, a record, a read.
    from kartoteka.catalogs import service as catalogs
    from kartoteka.context import Actor
    from kartoteka.records import service as records

    actor = Actor.system(replayed)
    spec = {
        "name": "Клиенты",
        "api_name": "clients",
        "fields": [{"name": "Имя", "api_name": "name", "type": "text"}],
    }
    cat = catalogs.create_catalog(actor, spec)
    rid = records.create_record(actor, cat.id, {"name": "Анна"})["id"]
    assert records.get_record(actor, cat.id, rid)["values"]["name"] == "Анна"


def _replay(value: Any, at: dt.datetime) -> Any:
    return value(at) if isinstance(value, fresh._Moment) else value


def _moment(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def test_a_workspace_that_is_not_empty_is_migrated_by_alembic(instance: Any, settings: Any):
    ws = instance.create_workspace(settings.default_workspace + "c")
    storage_engine.upgrade_workspace(ws.engine)  # at head already: nothing replayed
    assert storage_engine.current_revision(ws.engine) == storage_engine.head_revision()
    with ws.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM catalogs")).scalar()
    assert count == len(_snapshot(ws.engine)["catalogs"][-1])


def test_a_recording_that_names_its_schema_or_another_moment_is_not_kept():
    start = dt.datetime(2026, 12, 5, 10, 0, 0)
    end = start + dt.timedelta(seconds=2)
    now = start + dt.timedelta(seconds=1)
    plain = [("CREATE TABLE t (id INTEGER)", (), False)]
    assert fresh._replayable(plain, "ws_x", start, end) == plain
    assert (
        fresh._replayable([("CREATE TABLE ws_x.t (id INTEGER)", (), False)], "ws_x", start, end)
        is None
    )
    assert (
        fresh._replayable(
            [("INSERT INTO t VALUES (%(s)s)", {"s": "ws_x"}, False)], "ws_x", start, end
        )
        is None
    )
    # A moment of now (psycopg's datetime, SQLite's text) is kept as "now"; another is not.
    for value in (now, now.strftime("%Y-%m-%d %H:%M:%S.%f")):
        kept = fresh._replayable([("INSERT INTO t VALUES (?)", (value,), False)], None, start, end)
        assert kept is not None
        later = dt.datetime(2027, 1, 1, 9, 30, 0, 5)
        replayed = fresh._params(kept[0][1], lambda v, at=later: _replay(v, at))
        assert replayed == (
            (later if isinstance(value, dt.datetime) else "2027-01-01 09:30:00.000005"),
        )
    old = dt.datetime(2020, 1, 1)
    assert (
        fresh._replayable([("INSERT INTO t VALUES (?)", (old,), False)], None, start, end) is None
    )
    many = [("INSERT INTO t VALUES (%(a)s)", [{"a": now}, {"a": 1}], True)]
    kept = fresh._replayable(many, None, start, end)
    assert (
        kept is not None
        and isinstance(kept[0][1][0]["a"], fresh._Moment)
        and kept[0][1][1] == {"a": 1}
    )


def test_statements_without_parameters_are_one_text_on_postgresql():
    recorded = [
        ("CREATE TABLE a (id INTEGER);", {}, False),
        ("CREATE TABLE b (id INTEGER)", {}, False),
        ("INSERT INTO a VALUES (%(x)s)", {"x": 1}, False),
        ("CREATE INDEX i ON a (id)", {}, False),
        ("INSERT INTO b VALUES (%(x)s)", [{"x": 1}, {"x": 2}], True),
    ]
    assert fresh._grouped(recorded) == [
        ("CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER)", {}, False),
        ("INSERT INTO a VALUES (%(x)s)", {"x": 1}, False),
        ("CREATE INDEX i ON a (id)", {}, False),
        ("INSERT INTO b VALUES (%(x)s)", [{"x": 1}, {"x": 2}], True),
    ]
