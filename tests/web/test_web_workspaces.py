"""The workspace switcher: the person's other workspaces (same e-mail), nobody else's."""

from __future__ import annotations

import uuid

import pytest
from support.web import sign_in

from kartoteka.context import Actor
from kartoteka.users import service as users

ME = f"me-{uuid.uuid4().hex[:8]}@example.com"


def add_workspace(instance, suffix: str, email: str) -> str:
    name = f"{instance.settings.default_workspace}{suffix}"
    ws = instance.create_workspace(name)
    users.create_user(
        Actor.system(ws), {"email": email, "name": "Same person", "password": "long-password-1"}
    )
    return name


@pytest.fixture
def settings(tmp_path):
    """An administrator e-mail of this test's own: on PostgreSQL the server holds other
    tests' workspaces, whose administrators have the suite's usual e-mail."""
    from conftest import make_settings

    return make_settings(tmp_path, admin_email=ME)


def test_switcher_lists_only_the_workspaces_with_my_account(web, instance):
    sign_in(web, ME)
    assert "ws-switch" not in web.get("/").text  # one workspace: no switcher
    mine = add_workspace(instance, "b", ME)
    add_workspace(instance, "c", "someone.else@example.com")
    html = web.get("/").text
    assert 'class="ws-switch"' in html
    assert f'href="/w/{mine}/"' in html
    assert f"{instance.settings.default_workspace}c" not in html
    assert 'href="/" aria-current="true"' in html
    # The other workspace asks for its own sign-in and then shows the same switcher.
    r = web.get(f"/w/{mine}/")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/w/{mine}/login")
    sign_in(web, ME, "long-password-1", prefix=f"/w/{mine}")
    html = web.get(f"/w/{mine}/").text
    assert f'href="/w/{mine}/" aria-current="true"' in html and 'href="/"' in html
    # Signing in to the second workspace kept the first one's session (cookies per path).
    first = web.get("/")
    assert first.status_code == 200 and 'href="/" aria-current="true"' in first.text
    web.post(
        f"/w/{mine}/logout", data={"csrf": web.cookies.get("kartoteka_csrf", path=f"/w/{mine}/")}
    )
    assert web.get(f"/w/{mine}/").status_code == 303
    assert web.get("/").status_code == 200
