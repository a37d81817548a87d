"""Loading a workspace's metadata: catalogs, fields, settings, rights and view filters.

Depends on storage and the models only, so the workspace (`context.Workspace`) can be
handed this loader without the services above it: `workspaces.Instance` passes
`load_meta` to every `Workspace` it opens.
"""

from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.storage import counters, schema
from kartoteka.storage.engine import held_connection, read_connection

from . import system
from .models import Catalog, Field, WorkspaceMeta

META_COUNTER = "meta_version"
META_TTL = 1.0  # seconds another process's schema change may take to be noticed


def load_meta(ws: Workspace) -> WorkspaceMeta:
    """The workspace's catalogs, re-read when the meta version moved (checked once a second).

    The check reads one counter. When this thread already holds a connection to the
    workspace (a write transaction asking for a field's options, a read in progress) it
    runs there: asking the pool for a second connection while holding one is how a burst
    of writers starved the pool (each holding one, all waiting for another). Inside a
    transaction the check also sees the metadata of that transaction's snapshot.
    """
    holder = ws.meta_holder
    cached: WorkspaceMeta | None = holder.get("meta")
    now = time.monotonic()
    if cached is not None and now - holder.get("checked", 0.0) < META_TTL:
        return cached
    held = held_connection(ws.engine)
    if held is not None and _may_borrow(held):
        fresh = _on_held(held, cached)
        if fresh is None:  # the held transaction cannot read: keep the cached copy for now
            assert cached is not None
            return cached
    else:
        with read_connection(ws.engine) as conn:
            fresh = _current(conn, cached)
    holder["meta"] = fresh
    holder["checked"] = now
    return fresh


def _may_borrow(conn: Connection) -> bool:
    """Whether a metadata read may run on a connection its owner holds: inside its
    transaction, or where starting one has no effect (a read connection; PostgreSQL,
    where the transaction is rolled back at once). A plain SQLite connection outside a
    transaction would begin with `BEGIN IMMEDIATE` and wait for the write lock."""
    return (
        conn.in_transaction()
        or bool(conn.get_execution_options().get("kt_read"))
        or conn.dialect.name == "postgresql"
    )


def _on_held(conn: Connection, cached: WorkspaceMeta | None) -> WorkspaceMeta | None:
    """`_current` on a connection someone else holds, leaving it as it was: a
    transaction begun here is rolled back. None when its transaction cannot read (an
    aborted PostgreSQL transaction) and there is a cached copy to keep using."""
    started = not conn.in_transaction()
    try:
        return _current(conn, cached)
    except sa.exc.DBAPIError:
        if cached is None:
            raise
        return None
    finally:
        if started and conn.in_transaction():
            conn.rollback()


def _current(conn: Connection, cached: WorkspaceMeta | None) -> WorkspaceMeta:
    """The cached metadata if its version is still the current one, else a fresh read."""
    version = counters.peek(conn, META_COUNTER)
    if cached is not None and cached.version == version:
        return cached
    return _read_meta(conn, version)


def invalidate(ws: Workspace) -> None:
    """Forget cached metadata (after this process changed it)."""
    ws.meta_holder.pop("meta", None)


def bump_meta(conn: Connection) -> None:
    """Tell every process that catalogs, fields, views or rights changed."""
    counters.take(conn, META_COUNTER)


def _read_fields(conn: Connection) -> dict[int, list[Field]]:
    field_rows = conn.execute(
        sa.select(schema.fields).order_by(schema.fields.c.position, schema.fields.c.id)
    ).all()
    by_catalog: dict[int, list[Field]] = {}
    for r in field_rows:
        by_catalog.setdefault(r.catalog_id, []).append(
            Field(
                id=r.id,
                catalog_id=r.catalog_id,
                name=r.name,
                api_name=r.api_name,
                type=r.type,
                column=r.column_name,
                required=r.required,
                unique=r.is_unique,
                indexed=r.indexed,
                options=r.options or {},
                position=r.position,
            )
        )
    return by_catalog


def _read_catalogs(conn: Connection) -> list[Catalog]:
    by_catalog = _read_fields(conn)
    c = schema.catalogs
    rows = conn.execute(sa.select(c).order_by(c.c.position, c.c.id))
    return system.apply(
        [
            Catalog(
                id=r.id,
                name=r.name,
                api_name=r.api_name,
                title_field_id=r.title_field_id,
                position=r.position,
                options=r.options or {},
                fields=by_catalog.get(r.id, []),
            )
            for r in rows
        ]
    )


def _read_meta(conn: Connection, version: int) -> WorkspaceMeta:
    catalogs = _read_catalogs(conn)
    settings = {r.key: r.value for r in conn.execute(sa.select(schema.settings))}
    rights: dict[int, dict[int, dict[str, Any]]] = {}
    for r in conn.execute(sa.select(schema.catalog_rights)):
        rights.setdefault(r.catalog_id, {})[r.group_id] = r.rights
    v = schema.views
    view_filters = {
        r.id: (r.catalog_id, r.filter)
        for r in conn.execute(sa.select(v.c.id, v.c.catalog_id, v.c.filter))
    }
    try:
        tz = ZoneInfo(settings.get("timezone") or "UTC")
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return WorkspaceMeta(
        version=version,
        catalogs=catalogs,
        timezone=tz,
        settings=settings,
        rights=rights,
        view_filters=view_filters,
    )
