"""Shared fixtures for workspaces, auth, users and CLI tests (imported by conftest.py).

Every test gets a fresh Instance: SQLite under `tmp_path`, or, when
`KARTOTEKA_TEST_DATABASE_URL` is set, PostgreSQL with unique workspace names
(`t_<8 hex>...`) that are dropped on teardown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kartoteka.auth import service as auth
from kartoteka.config import Settings
from kartoteka.context import Actor, Workspace
from kartoteka.users import service as users
from kartoteka.workspaces import Instance

TEST_DATABASE_URL = os.environ.get("KARTOTEKA_TEST_DATABASE_URL") or None
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"


@pytest.fixture
def ws_prefix() -> str:
    """A prefix unique to this test; workspaces named with it are dropped afterwards."""
    return "t_" + uuid.uuid4().hex[:8]


@pytest.fixture
def make_settings(tmp_path: Path, ws_prefix: str) -> Callable[..., Settings]:
    """Build Settings for the backend under test (extra keyword arguments override)."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "database_url": TEST_DATABASE_URL,
            "default_workspace": ws_prefix,
            "admin_email": ADMIN_EMAIL,
            "admin_password": ADMIN_PASSWORD,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Settings of the backend under test."""
    return make_settings()


def drop_test_workspaces(settings: Settings, prefix: str) -> None:
    """Delete every workspace whose name starts with `prefix` (PostgreSQL teardown)."""
    instance = Instance(settings)
    try:
        for row in instance.list_workspaces():
            if row["name"].startswith(prefix):
                instance.delete_workspace(row["name"])
    finally:
        instance.close()


@pytest.fixture
def instance(settings: Settings, ws_prefix: str) -> Iterator[Instance]:
    """An Instance on the backend under test; its test workspaces vanish afterwards."""
    inst = Instance(settings)
    try:
        yield inst
    finally:
        inst.close()
        if settings.database_url:
            drop_test_workspaces(settings, ws_prefix)


@pytest.fixture
def ws(instance: Instance) -> Workspace:
    """The initialised default workspace (with its administrator)."""
    instance.init()
    return instance.workspace(instance.settings.default_workspace)


@pytest.fixture
def admin(ws: Workspace) -> Actor:
    """The administrator of `ws` as an actor."""
    user_id = users.find_user_id(ws, ADMIN_EMAIL)
    assert user_id is not None
    return auth.actor_for_user(ws, user_id, via="session")


@pytest.fixture
def make_user(admin: Actor) -> Callable[..., dict]:
    """Create users: make_user("bob", groups=[...]) -> user JSON (password "password-<name>")."""

    def create(name: str, **spec: object) -> dict:
        body = {
            "email": f"{name}@example.com",
            "name": name.title(),
            "password": f"password-{name}",
        }
        body.update(spec)
        return users.create_user(admin, body)

    return create


@pytest.fixture
def as_user(ws: Workspace) -> Callable[[dict], Actor]:
    """The actor of a user JSON returned by make_user."""
    return lambda user: auth.actor_for_user(ws, user["id"], via="session")
