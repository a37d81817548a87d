"""Shared fixtures: a real database (SQLite file, or PostgreSQL when configured) per test."""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import browser as browsers
from support.mail import smtp_server
from support.openapi import answer_checker
from support.receiver import Receiver
from support.users import ADMIN_EMAIL, ADMIN_PASSWORD

from kartoteka import plugins
from kartoteka.config import Settings

# Test modules list the field types while being collected, before any Instance exists.
plugins.install()

PG_URL = os.environ.get("KARTOTEKA_TEST_DATABASE_URL") or None


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for one test: its own data dir and (on PostgreSQL) its own workspace schema."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=PG_URL,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        webhook_allow_private=True,
        default_workspace=f"t{uuid.uuid4().hex[:10]}",
        auth_cache_seconds=30,
        # The suite makes many quick requests from one address with one account; tests of
        # the limits themselves (test_ratelimit.py) pass their own small values.
        rate_limit_account="100000/30seconds",
        rate_limit_address="1000000/30seconds",
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing is collected after the run: by its end the heap holds millions of objects
    (~3 GB in the PostgreSQL run), and collecting them at exit took CI two minutes."""
    gc.freeze()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Per-test settings."""
    return make_settings(tmp_path)


@pytest.fixture
def instance(settings: Settings) -> Iterator[Any]:
    """An initialised Instance (default workspace + admin); workspaces dropped afterwards."""
    from kartoteka.workspaces.service import Instance

    inst = Instance(settings)
    inst.init()
    yield inst
    if PG_URL:
        # Only this test's workspaces: other tests may be running against the same server.
        for ws in inst.list_workspaces():
            if ws["name"].startswith(settings.default_workspace):
                inst.delete_workspace(ws["name"])
    inst.close()


class Api:
    """A TestClient bound to one workspace with a bearer token, plus record factories."""

    def __init__(self, client: TestClient, prefix: str = "/api/v1") -> None:
        self.client = client
        self.prefix = prefix

    def url(self, path: str) -> str:
        return self.prefix + path

    def get(self, path: str, **kw: Any):
        return self.client.get(self.url(path), **kw)

    def post(self, path: str, json: Any = None, **kw: Any):
        return self.client.post(self.url(path), json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any):
        return self.client.patch(self.url(path), json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any):
        return self.client.put(self.url(path), json=json, **kw)

    def delete(self, path: str, **kw: Any):
        return self.client.delete(self.url(path), **kw)

    # factories ---------------------------------------------------------------------------
    def catalog(self, name: str, fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """Create a catalog and return it (fails the test on error)."""
        r = self.post("/catalogs", {"name": name, "fields": fields, **extra})
        assert r.status_code == 201, r.text
        return r.json()

    def records(self, catalog: str | int, rows: list[dict[str, Any]]) -> list[int]:
        """Create records through the batch endpoint; returns their ids."""
        ids: list[int] = []
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            r = self.post(
                f"/catalogs/{catalog}/records/batch", {"create": [{"values": v} for v in chunk]}
            )
            assert r.status_code == 200, r.text
            ids += r.json()["created"]
        return ids

    def record(self, catalog: str | int, values: dict[str, Any]) -> dict[str, Any]:
        """Create one record and return it."""
        r = self.post(f"/catalogs/{catalog}/records", {"values": values})
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def app(instance: Any):
    """The ASGI app over the test instance."""
    from kartoteka.server import create_app

    return create_app(instance.settings, instance)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """An in-process HTTP client (no credentials); its JSON answers must match the OpenAPI."""
    with TestClient(app) as c:
        c.event_hooks["response"].append(answer_checker(app))
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    """An administrator's API client on the default workspace."""
    r = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    client.cookies.clear()
    return Api(client)


# Shared helpers' fixtures (tests/support holds the helpers; no test imports another test).
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A scripted HTTP receiver on loopback (support.receiver.Receiver)."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A real SMTP server on loopback: (controller, inbox)."""
    yield from smtp_server()


@pytest.fixture
def web(app: Any) -> Iterator[TestClient]:
    """A browser-like client: no Authorization header, cookies only, redirects not followed."""
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port (browser tests); its base URL."""
    with browsers.serve(app) as base:
        yield base


@pytest.fixture
def rest(server: str) -> Iterator[Any]:
    """The REST API as the administrator on the served app (closed afterwards)."""
    client = browsers.api_client(server)
    yield client
    client.close()


@pytest.fixture
def demo(server: str) -> Iterator[dict[str, Any]]:
    """The seeded instance of the browser tests; its API client is closed afterwards."""
    data = browsers.seed(server)
    try:
        yield data
    finally:
        data["api"].close()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright."""
    with browsers.launch() as launched:
        yield launched
