"""Helpers of the files tests: real images, uploads, a catalog with a file field, a
second user with rights on it, and what lies in the files directory."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

#: The `api` fixture's client class (tests/conftest.py).
Api = Any


def png_bytes(size: tuple[int, int] = (600, 400), mode: str = "RGB") -> bytes:
    """A real PNG made with Pillow."""
    out = io.BytesIO()
    Image.new(mode, size, "red").save(out, "PNG")
    return out.getvalue()


def upload(api: Api, content: bytes, name: str = "photo.png", mime: str = "image/png"):
    """POST /files with one multipart part named `file`."""
    return api.post("/files", files={"file": (name, content, mime)})


def uploaded(api: Api, content: bytes, name: str = "photo.png", mime: str = "image/png"):
    """Upload and return the file JSON (fails the test on error)."""
    r = upload(api, content, name, mime)
    assert r.status_code == 201, r.text
    return r.json()


def docs(api: Api) -> dict[str, Any]:
    """A catalog with a `file` field called `attachment`."""
    return api.catalog(
        "Docs", [{"name": "Name", "type": "text"}, {"name": "Attachment", "type": "file"}]
    )


def stored_files(api: Api) -> list[Path]:
    """Every file on disk in the default workspace's files directory."""
    root = api.client.app.state.instance.settings.data_dir / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def second_user(api: Api, rights: dict[str, Any]) -> Api:
    """A non-admin user in a group with `rights` on `docs`, signed in on a fresh client."""
    group = api.post("/groups", {"name": f"g{uuid.uuid4().hex[:6]}"})
    assert group.status_code == 201, group.text
    gid = group.json()["id"]
    r = api.put("/catalogs/docs/rights", {"groups": {str(gid): rights}})
    assert r.status_code == 200, r.text
    email = f"u{uuid.uuid4().hex[:6]}@example.com"
    spec = {"email": email, "name": "Other", "password": "other-password-1", "groups": [gid]}
    r = api.post("/users", spec)
    assert r.status_code == 201, r.text
    client = TestClient(api.client.app)
    r = client.post("/api/v1/auth/login", json={"email": email, "password": "other-password-1"})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    client.cookies.clear()
    return type(api)(client)
