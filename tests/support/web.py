"""Signing in through the web form, as a browser does."""

from __future__ import annotations

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from fastapi.testclient import TestClient


def sign_in(
    web: TestClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, prefix: str = ""
) -> str:
    """Log in through the form; returns the CSRF token the pages embed."""
    r = web.post(f"{prefix}/login", data={"email": email, "password": password, "next": "/"})
    assert r.status_code == 303, r.text
    # Each workspace's cookies have its own path (`/w/{name}/`, the default one `/`).
    return web.cookies.get("kartoteka_csrf", path=f"{prefix}/")  # type: ignore[return-value]
