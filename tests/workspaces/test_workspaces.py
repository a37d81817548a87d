"""Workspaces: create, open, list, delete, first-start init and migrations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from conftest_support import *  # noqa: F403

from kartoteka.auth import service as auth
from kartoteka.config import Settings
from kartoteka.context import Actor
from kartoteka.errors import Conflict, NotFound, ValidationFailed
from kartoteka.storage.engine import current_revision, head_revision
from kartoteka.workspaces import Instance, WorkspaceNotFound


def test_create_open_list_delete(instance: Instance, ws_prefix: str) -> None:
    name = ws_prefix + "-acme"
    ws = instance.create_workspace(name)
    assert ws.name == name
    assert instance.workspace(name) is ws
    assert ws.files_dir == instance.settings.data_dir / "files" / name
    assert current_revision(ws.engine) == head_revision()
    listed = {row["name"]: row for row in instance.list_workspaces()}
    assert listed[name]["location"] == instance.dbs.location_for(name)
    instance.delete_workspace(name)
    assert name not in {row["name"] for row in instance.list_workspaces()}
    with pytest.raises(WorkspaceNotFound):
        instance.workspace(name)


def test_delete_removes_files(instance: Instance, ws_prefix: str) -> None:
    ws = instance.create_workspace(ws_prefix + "f")
    ws.files_dir.mkdir(parents=True)
    (ws.files_dir / "a.txt").write_text("x")
    instance.delete_workspace(ws.name)
    assert not ws.files_dir.exists()


@pytest.mark.parametrize("bad", ["", "Acme", "1abc", "a b", "a" * 64, "a/b", "ä"])
def test_invalid_names_are_refused(instance: Instance, bad: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        instance.create_workspace(bad)
    assert "name" in err.value.fields


def test_duplicate_is_a_conflict(instance: Instance, ws_prefix: str) -> None:
    instance.create_workspace(ws_prefix + "d")
    with pytest.raises(Conflict):
        instance.create_workspace(ws_prefix + "d")


def test_unknown_workspace(instance: Instance, ws_prefix: str) -> None:
    with pytest.raises(NotFound):
        instance.workspace(ws_prefix + "nope")
    with pytest.raises(NotFound):
        instance.delete_workspace(ws_prefix + "nope")


def test_init_uses_configured_admin_once(instance: Instance) -> None:
    created = instance.init()
    assert created == {
        "email": "admin@example.com",
        "password": "admin-password-1",
        "generated": False,
    }
    assert instance.init() is None
    ws = instance.workspace(instance.settings.default_workspace)
    token, user = auth.login(ws, "admin@example.com", "admin-password-1")
    assert token.startswith("kts_") and user["email"] == "admin@example.com"


def test_init_generates_a_password(make_settings: Callable[..., Settings]) -> None:
    instance = Instance(make_settings(admin_email=None, admin_password=None))
    try:
        created = instance.init()
        assert created is not None and created["generated"] is True
        assert created["email"] == "admin@example.com" and len(created["password"]) >= 12
        ws = instance.workspace(instance.settings.default_workspace)
        auth.login(ws, created["email"], created["password"])
        assert instance.init() is None
    finally:
        instance.close()


def test_init_survives_a_second_instance(instance: Instance, settings: Settings) -> None:
    instance.init()
    other = Instance(settings)
    try:
        assert other.init() is None
    finally:
        other.close()


def test_migrate_all_upgrades_an_empty_database(instance: Instance, ws_prefix: str) -> None:
    name = ws_prefix + "m"
    location = instance.dbs.location_for(name)
    instance.dbs.create_storage(location)
    instance.register(name, location)  # an empty database, as an old instance might have
    seen: list[str] = []
    done = {n: (before, after) for n, before, after in instance.migrate_all(seen.append)}
    assert done[name] == (None, head_revision())
    assert name in seen
    ws = instance.workspace(name)
    with ws.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 0
    again = {n: (before, after) for n, before, after in instance.migrate_all()}
    assert again[name] == (head_revision(), head_revision())


def test_a_deleted_workspaces_metadata_is_not_kept_by_its_caches(
    instance: Instance, ws_prefix: str
) -> None:
    """The search index's "known current" and the duplicate rules are kept in the
    workspace itself: once it is deleted, nothing holds its catalogs (they were kept in
    process-wide dicts by workspace name, for ever: ~one metadata per workspace)."""
    import gc
    import weakref

    from kartoteka.catalogs import service as catalogs
    from kartoteka.duplicates import rules
    from kartoteka.search import index
    from kartoteka.search import service as search

    ws = instance.create_workspace(ws_prefix + "-gone")
    admin = Actor.system(ws)
    fields = [{"name": "Phone", "api_name": "phone", "type": "phone"}]
    catalog = catalogs.create_catalog(admin, {"name": "Clients", "fields": fields})
    rules.create_rule(admin, catalog.id, {"fields": ["phone"]})
    catalog = ws.meta().catalog(catalog.id)
    search.ensure_index(admin, catalog)  # built (current once read back)
    search.ensure_index(admin, catalog)
    assert index.is_current(ws, catalog)
    assert len(rules.rules_of(admin, catalog)) == 1
    meta = weakref.ref(ws.meta())
    instance.delete_workspace(ws.name)
    del ws, admin, catalog
    gc.collect()
    assert meta() is None, [type(r).__name__ for r in gc.get_referrers(meta())]
