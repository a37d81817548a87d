"""A catalog's manager (a group's `manage` right, not an administrator) designs that
catalog's fields and views in the browser, and nothing else of the administration."""

from __future__ import annotations

import pytest
from support.web import sign_in

MANAGER = ("manager@example.com", "manager-pass-123")


@pytest.fixture
def managed(api):
    for name in ("Deals", "Payroll"):
        api.post("/catalogs", {"name": name, "fields": [{"name": "Title", "type": "text"}]})
    group = api.post("/groups", {"name": "sales leads"}).json()["id"]
    r = api.post(
        "/users",
        {"email": MANAGER[0], "name": "Manager", "password": MANAGER[1], "groups": [group]},
    )
    assert r.status_code == 201, r.text
    rights = {"view": True, "create": True, "edit": True, "manage": True}
    r = api.put("/catalogs/deals/rights", {"groups": {str(group): rights}})
    assert r.status_code == 200, r.text
    r = api.put("/catalogs/payroll/rights", {"groups": {str(group): {"view": True}}})
    assert r.status_code == 200, r.text
    return group


def test_a_manager_designs_the_fields_of_the_catalog_they_manage(web, api, managed):
    csrf = sign_in(web, *MANAGER)
    page = web.get("/admin/catalogs/deals/fields?lang=en")
    assert page.status_code == 200, page.text
    # Only the catalog's fields and views: no administration nav, no settings tab.
    assert 'class="admin-nav"' not in page.text
    assert 'href="/admin/catalogs/deals/views"' in page.text
    assert 'href="/admin/catalogs/deals"' not in page.text
    r = web.post(
        "/admin/catalogs/deals/fields/new",
        data={
            "csrf": csrf,
            "name": "Stage",
            "type": "select",
            "kind:choices": "choices",
            "choice_label": ["Lead", "Won"],
            "choice_color": ["", ""],
            "choice_id": ["", ""],
            "opt:help": "Where it stands",
        },
    )
    assert r.status_code == 303, r.text
    stage = api.get("/catalogs/deals/fields/stage").json()
    assert stage["options"]["help"] == "Where it stands"
    assert web.get(f"/admin/catalogs/deals/fields/{stage['id']}").status_code == 200
    # The views designer too: a shared view made there is a tab of the catalog.
    assert web.get("/admin/catalogs/deals/views?lang=en").status_code == 200
    r = web.post(
        "/admin/catalogs/deals/views/new",
        data={"csrf": csrf, "name": "Open deals", "type": "table", "shared": "1"},
    )
    assert r.status_code == 303, r.text
    assert "Open deals" in [v["name"] for v in api.get("/catalogs/deals/views").json()["items"]]
    # The grid offers them the designer from the column headers.
    assert '"designer":"/admin/catalogs/deals"' in web.get("/c/deals").text


def test_a_manager_opens_nothing_else_of_the_administration(web, api, managed):
    sign_in(web, *MANAGER)
    for url in (
        "/admin/catalogs",
        "/admin/catalogs/deals",
        "/admin/catalogs/payroll/fields",
        "/admin/catalogs/payroll/fields/new",
        "/admin/catalogs/payroll/views",
        "/admin/users",
    ):
        assert web.get(url).status_code in (403, 404), url
    assert '"designer":null' in web.get("/c/payroll").text
    # A refused insert leaves the catalog as it was.
    r = web.post(
        "/admin/catalogs/payroll/fields/new",
        data={"csrf": web.cookies["kartoteka_csrf"], "name": "Salary", "type": "money"},
    )
    assert r.status_code == 403
    assert [f["api_name"] for f in api.get("/catalogs/payroll").json()["fields"]] == ["title"]


def test_back_goes_only_to_this_workspaces_catalog_pages(web, api, managed):
    csrf = sign_in(web, *MANAGER)
    for back, expected in (
        ("/c/deals?sort=title", "/c/deals?sort=title"),
        ("https://evil.example/c/", "/admin/catalogs/deals/fields"),
        ("//evil.example/c/x", "/admin/catalogs/deals/fields"),
        ("/c//evil.example", "/admin/catalogs/deals/fields"),
    ):
        r = web.post(
            "/admin/catalogs/deals/fields/new",
            data={"csrf": csrf, "name": f"F {len(back)}", "type": "text", "back": back},
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith(expected), (back, r.headers["location"])
