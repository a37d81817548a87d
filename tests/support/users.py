"""A second, ordinary user and their credentials."""

from __future__ import annotations

import base64
from typing import Any

#: The first administrator every test instance starts with.
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct-horse-battery"


def user_headers(api: Any) -> dict[str, str]:
    """Create user u@example.com (no groups) and return Basic credentials for them."""
    r = api.post("/users", {"email": "u@example.com", "name": "U", "password": "long-password-1"})
    assert r.status_code == 201, r.text
    return {"Authorization": "Basic " + base64.b64encode(b"u@example.com:long-password-1").decode()}
