"""The administration shell: `/admin` with its section nav, for administrators only."""

from __future__ import annotations

import re

from starlette.routing import Route
from support.web import sign_in

from kartoteka.web import admin_nav
from kartoteka.web.i18n import N_


def nav_keys(html: str) -> list[str]:
    nav = html.split('class="admin-nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'data-admin-section="([a-z_]+)"', nav)


def test_admin_overview_lists_the_served_sections_in_both_languages(web):
    sign_in(web)
    home = web.get("/?lang=ru").text
    assert 'href="/admin"' in home and "Администрирование" in home
    page = web.get("/admin")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Администрирование</h1>" in page.text
    keys = nav_keys(page.text)
    # Only sections whose page exists are offered (no link to a 404); notices always is.
    assert "notices" in keys
    served = {r.path for r in web.app.router.routes if isinstance(r, Route)}
    assert all(s.path in served for s in admin_nav.SECTIONS if s.key in keys)
    assert [s.key for s in admin_nav.SECTIONS if s.path in served] == keys
    assert 'aria-current="page">Обзор<' in page.text
    english = web.get("/admin?lang=en").text
    assert "<h1>Administration</h1>" in english
    assert "Problems the server reported to you." in english


def test_admin_pages_share_the_nav_and_mark_the_current_section(web):
    sign_in(web)
    page = web.get("/notices?lang=en").text
    assert 'class="admin-nav"' in page
    assert re.search(r'data-admin-section="notices" class="active" aria-current="page"', page)


def test_a_section_shows_once_its_page_is_served(web, monkeypatch):
    sign_in(web)
    unbuilt = admin_nav.Section("later", N_("Notices"), "/admin/not-built-yet", N_("Notices"))
    built = admin_nav.Section("built", N_("Notices"), "/search", N_("Notices"))
    monkeypatch.setattr(admin_nav, "SECTIONS", [*admin_nav.SECTIONS, unbuilt, built])
    monkeypatch.setattr(admin_nav, "_served", {})
    keys = nav_keys(web.get("/admin").text)
    assert "built" in keys and "later" not in keys


def test_other_users_get_no_administration(api, web):
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "password-u-123"})
    sign_in(web, "u@example.com", "password-u-123")
    assert 'href="/admin"' not in web.get("/?lang=en").text
    r = web.get("/admin")
    assert r.status_code == 403 and "You are not allowed to do this." in r.text
    assert 'class="admin-nav"' not in r.text


def test_admin_in_a_named_workspace_links_inside_it(web, instance):
    sign_in(web)
    name = instance.settings.default_workspace
    page = web.get(f"/w/{name}/admin?lang=en")
    assert page.status_code == 200
    assert f'href="/w/{name}/notices"' in page.text
