"""The platform schema is versioned with Alembic; older workspaces upgrade in place."""

from __future__ import annotations

import sqlalchemy as sa

from kartoteka.storage import schema
from kartoteka.storage.engine import current_revision, head_revision, upgrade_workspace, utcnow


def test_upgrade_from_the_first_revision_keeps_data(instance):
    ws = instance.create_workspace(f"{instance.settings.default_workspace}old")
    engine = ws.engine
    # Rebuild the workspace as it was at revision 0001: drop everything, migrate to 0001.
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


def _schema(conn) -> str:
    return str(conn.exec_driver_sql("SELECT current_schema()").scalar())
