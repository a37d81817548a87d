"""Accounts and uploads: one-time codes used once, login CSRF, password changes that need
the current password and revoke tokens, truncated uploads, thumbnail work capped."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api
from PIL import Image

from kartoteka.security import totp


def _login(api: Api, password: str = ADMIN_PASSWORD, **extra: Any) -> Any:
    body = {"email": ADMIN_EMAIL, "password": password, **extra}
    return api.client.post("/api/v1/auth/login", json=body)


def test_a_totp_code_is_accepted_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    monkeypatch.setattr(totp, "clock", lambda: now)
    secret = api.post("/auth/totp/setup").json()["secret"]
    gen = pyotp.TOTP(secret)
    earlier, current = gen.at(now - timedelta(seconds=30)), gen.at(now)
    assert api.post("/auth/totp/enable", {"code": earlier}).status_code == 200
    assert _login(api, totp=current).status_code == 200
    replay = _login(api, totp=current)
    assert replay.status_code == 401 and replay.json()["error"] == "UNAUTHENTICATED"
    # An older code of the window is no good either once a later one was used.
    assert _login(api, totp=earlier).status_code == 401
    r = api.post("/auth/totp/disable", {"code": current})
    assert r.status_code == 422
    later = gen.at(now + timedelta(seconds=30))
    assert api.post("/auth/totp/disable", {"code": later}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_login_posted_by_another_site_is_refused(api: Api, headers: dict[str, str]) -> None:
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    r = api.client.post("/api/v1/auth/login", json=body, headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "CSRF"
    form = {**body, "next": "/"}
    r = api.client.post("/login", data=form, headers=headers, follow_redirects=False)
    assert r.status_code == 403 and "kartoteka_session" not in r.headers.get("set-cookie", "")


def test_same_site_logins_still_work(api: Api) -> None:
    same = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    assert api.client.post("/api/v1/auth/login", json=body, headers=same).status_code == 200
    r = api.client.post("/login", data=body, headers=same, follow_redirects=False)
    assert r.status_code == 303


def test_own_password_change_needs_the_current_one_and_revokes_tokens(api: Api) -> None:
    me = api.get("/auth/me").json()["id"]
    token = api.post("/auth/tokens", {"name": "script"}).json()["token"]
    script = {"Authorization": f"Bearer {token}"}
    assert api.get("/auth/me", headers=script).status_code == 200
    r = api.patch(f"/users/{me}", {"password": "a-new-password-1"})
    assert r.status_code == 422 and "current_password" in r.json()["fields"]
    r = api.patch(f"/users/{me}", {"password": "a-new-password-1", "current_password": "nope"})
    assert r.status_code == 422 and r.json()["fields"]["current_password"] == "wrong password"
    r = api.patch(
        f"/users/{me}", {"password": "a-new-password-1", "current_password": ADMIN_PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert api.get("/auth/me", headers=script).status_code == 401
    assert _login(api, "a-new-password-1").status_code == 200


def test_a_truncated_upload_is_not_stored(api: Api) -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nhello, this file is cut off he"
    ).encode()
    r = api.client.post(
        "/api/v1/files",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 422 and r.json()["fields"]["file"].startswith("the upload was cut")


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


def test_thumbnails_of_huge_images_are_refused_cheaply(api: Api) -> None:
    big = _png(5000, 5000)  # 25 megapixels: over the thumbnail cap, under Pillow's bomb limit
    fid = api.client.post("/api/v1/files", files={"file": ("big.png", big, "image/png")})
    r = api.get(f"/files/{fid.json()['id']}/thumbnail")
    assert r.status_code == 422 and r.json()["error"] == "VALIDATION"
    small = api.client.post("/api/v1/files", files={"file": ("s.png", _png(600, 400), "image/png")})
    assert api.get(f"/files/{small.json()['id']}/thumbnail").status_code == 200
