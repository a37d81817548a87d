"""The metadata check never asks the pool for a second connection while the thread holds
one (issue 16): fifteen writers each holding a connection and each waiting for another
starved the PostgreSQL pool until it timed out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kartoteka.catalogs.meta import bump_meta, load_meta
from kartoteka.context import Workspace
from kartoteka.storage.engine import (
    make_pg_engine,
    make_sqlite_engine,
    read_connection,
    schema_name,
)

#: A pool of one connection that gives up at once when it is taken.
ONE = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.5}


@pytest.fixture
def narrow(instance: Any) -> Iterator[tuple[Workspace, Workspace]]:
    """The default workspace, and the same workspace again over a pool of one connection
    (with its own metadata cache, like another process)."""
    ws = instance.workspace(instance.settings.default_workspace)
    url = ws.engine.url
    if ws.dialect == "sqlite":
        engine = make_sqlite_engine(Path(url.database or ""), **ONE)
    else:
        raw = url.render_as_string(hide_password=False)
        engine = make_pg_engine(raw, schema_name(ws.name), **ONE)
    other = Workspace(ws.name, engine, ws.files_dir, ws.settings, load_meta)
    try:
        yield ws, other
    finally:
        engine.dispose()


def _expire(ws: Workspace) -> None:
    ws.meta_holder["checked"] = 0.0  # as if a second had passed since the last check


def test_check_inside_a_write_transaction_uses_its_connection(narrow: Any) -> None:
    ws, other = narrow
    first = other.meta()
    with other.engine.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        _expire(other)
        # The old check opened a second pooled connection here: TimeoutError after 0.5 s.
        assert other.meta() is first
    # A change made elsewhere is seen by a check inside a later transaction.
    with ws.engine.begin() as conn:
        bump_meta(conn)
    with other.engine.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        _expire(other)
        moved = other.meta()
        assert moved.version == first.version + 1
        assert conn.in_transaction()  # the borrowed transaction is still the owner's


def test_check_on_a_read_connection_before_its_first_statement(narrow: Any) -> None:
    _, other = narrow
    first = other.meta()
    with read_connection(other.engine) as conn:
        _expire(other)
        assert other.meta() is first
        # Whatever the check began was rolled back or is the reader's own transaction:
        # the connection still reads.
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1


def test_first_load_inside_a_transaction(narrow: Any) -> None:
    _, other = narrow
    with other.engine.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        meta = other.meta()  # nothing cached yet: read on the held connection
    assert meta.catalogs is not None
    assert other.meta() is meta
