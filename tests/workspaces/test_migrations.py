"""The platform schema is versioned with Alembic; older workspaces upgrade in place."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from kartoteka.storage import schema
from kartoteka.storage.engine import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_workspace,
    utcnow,
)

#: The code and parameters of stored errors, added by 0016, 0018, 0019 and 0020 through
#: kartoteka/storage/migrations/columns.py: table -> (code column, parameters column).
ERROR_CODE_COLUMNS = {
    "scenario_steps": ("error_code", "error_params"),
    "webhook_deliveries": ("last_error_code", "last_error_params"),
    "delivery_attempts": ("error_code", "error_params"),
    "scenario_runs": ("error_code", "error_params"),
    "webhooks": ("disabled_reason_code", "disabled_reason_params"),
}


def test_upgrade_from_the_first_revision_keeps_data(instance):
    ws = instance.create_workspace(f"{instance.settings.default_workspace}old")
    engine = ws.engine
    # Rebuild the workspace as it was at revision 0001: drop everything, migrate to 0001.
    _empty(engine)
    upgrade_workspace(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.users).values(
                email="old@example.com",
                name="Old",
                is_admin=True,
                active=True,
                profile={},
                auth_epoch=0,
                created_at=utcnow(),
            )
        )
    instance.dbs._migrated.discard(ws.name)
    results = instance.migrate_all()
    assert any(name == ws.name for name, *_ in results)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        emails = [r[0] for r in conn.execute(sa.select(schema.users.c.email))]
    assert emails == ["old@example.com"]


def test_the_error_code_columns_go_down_and_come_back_as_the_schema_has_them(instance):
    ws = instance.create_workspace(f"{instance.settings.default_workspace}codes")
    with ws.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0015")
    assert {table: _error_columns(ws.engine, table) for table in ERROR_CODE_COLUMNS} == {
        table: {} for table in ERROR_CODE_COLUMNS
    }
    upgrade_workspace(ws.engine)
    for table, (code, params) in ERROR_CODE_COLUMNS.items():
        declared = schema.metadata.tables[table].c
        assert _error_columns(ws.engine, table) == {
            code: (declared[code].type.compile(ws.engine.dialect), True),
            params: (declared[params].type.compile(ws.engine.dialect), True),
        }, table


def _error_columns(engine, table: str) -> dict[str, tuple[str, bool]]:
    """The code and parameters columns `table` has: name -> (type, nullable)."""
    wanted = ERROR_CODE_COLUMNS[table]
    with engine.connect() as conn:
        columns = sa.inspect(conn).get_columns(table)
    return {
        c["name"]: (c["type"].compile(conn.dialect), c["nullable"])
        for c in columns
        if c["name"] in wanted
    }


def _schema(conn) -> str:
    return str(conn.exec_driver_sql("SELECT current_schema()").scalar())


#: Another process migrating a workspace: it opens its engine, says "ready", waits for a
#: line on stdin, migrates and prints "done" (or the error).
OTHER_PROCESS = """
import sys
from kartoteka.storage.engine import make_pg_engine, make_sqlite_engine, upgrade_workspace
from pathlib import Path
kind, where, schema = sys.argv[1:4]
engine = make_pg_engine(where, schema) if kind == "pg" else make_sqlite_engine(Path(where))
print("ready", flush=True)
sys.stdin.readline()
try:
    upgrade_workspace(engine)
except Exception as exc:
    print("failed", type(exc).__name__, exc, flush=True)
else:
    print("done", flush=True)
"""


def test_processes_starting_together_migrate_a_workspace_once(instance):
    """Two processes finding one workspace behind (a deploy starting several workers)
    migrate it one after the other; the second finds the work done, neither fails."""
    import subprocess
    import sys

    ws = instance.create_workspace(f"{instance.settings.default_workspace}race")
    _empty(ws.engine)
    url = ws.engine.url
    if url.get_backend_name() == "postgresql":
        with ws.engine.connect() as conn:
            args = ["pg", url.render_as_string(hide_password=False), _schema(conn)]
    else:
        args = ["sqlite", str(url.database), ""]
    with subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        assert other.stdout is not None and other.stdin is not None
        try:
            assert other.stdout.readline().strip() == "ready"
            other.stdin.write("go\n")
            other.stdin.flush()
            upgrade_workspace(ws.engine)
            answer = other.stdout.readline().strip()
        finally:
            other.stdin.close()
            if other.wait(60) is None:
                other.kill()
    assert answer == "done"
    assert current_revision(ws.engine) == head_revision()


def _empty(engine: sa.Engine) -> None:
    """Drop every table of a workspace, as if it had never been migrated."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            name = _schema(conn)
            assert name.startswith("ws_")
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for name in sa.inspect(conn).get_table_names():
                conn.exec_driver_sql(f'DROP TABLE "{name}"')
