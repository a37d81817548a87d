"""The catalog designer over plain HTTP: create, settings, order, delete with what goes."""

from __future__ import annotations

import re

from support.web import sign_in


def error_of(html: str, name: str) -> str:
    """The message shown under input `name` (empty when none)."""
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


def test_create_a_catalog_with_section_colour_and_icon(web, api):
    csrf = sign_in(web)
    page = web.get("/admin/catalogs?lang=ru")
    assert page.status_code == 200 and "Новый каталог" in page.text
    r = web.post(
        "/admin/catalogs",
        data={
            "csrf": csrf,
            "name": "Клиенты",
            "section": "Продажи",
            "color": "green",
            "icon": "people",
        },
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/fields?created=1")
    made = api.get("/catalogs").json()["items"]
    clients = [c for c in made if c["name"] == "Клиенты"][0]
    assert clients["options"] == {"section": "Продажи", "color": "green", "icon": "people"}
    home = web.get("/").text
    # The sidebar groups it under its section, with its icon in its colour.
    assert 'data-section="Продажи"' in home and 'class="cat-icon c-green"' in home
    fields = web.get(r.headers["location"])
    assert fields.status_code == 200 and "Каталог создан" in fields.text


def test_bad_input_is_shown_next_to_the_input_and_nothing_is_written(web, api):
    csrf = sign_in(web)
    before = len(api.get("/catalogs").json()["items"])
    r = web.post("/admin/catalogs?lang=en", data={"csrf": csrf, "name": "  ", "color": "red"})
    assert r.status_code == 422
    assert error_of(r.text, "name")
    assert 'aria-invalid="true"' in r.text
    # The other inputs keep what was typed.
    assert 'value="red" checked' in r.text
    r = web.post("/admin/catalogs", data={"csrf": csrf, "name": "X", "color": "ultraviolet"})
    assert r.status_code == 422 and error_of(r.text, "color")
    r = web.post("/admin/catalogs", data={"csrf": csrf, "name": "X", "api_name": "9 bad"})
    assert r.status_code == 422 and error_of(r.text, "api_name")
    api.post("/catalogs", {"name": "Taken", "api_name": "taken"})
    r = web.post("/admin/catalogs", data={"csrf": csrf, "name": "Y", "api_name": "taken"})
    assert r.status_code == 422 and "taken" in r.text
    assert len(api.get("/catalogs").json()["items"]) == before + 1


def test_settings_rename_title_field_and_default_view(web, api):
    csrf = sign_in(web)
    api.post(
        "/catalogs",
        {
            "name": "Deals",
            "api_name": "deals",
            "fields": [{"name": "Title", "type": "text"}, {"name": "Code", "type": "text"}],
        },
    )
    view = api.post("/catalogs/deals/views", {"name": "Open", "type": "table"}).json()
    page = web.get("/admin/catalogs/deals?lang=en")
    assert page.status_code == 200 and 'value="Deals"' in page.text
    r = web.post(
        "/admin/catalogs/deals",
        data={
            "csrf": csrf,
            "name": "Big deals",
            "api_name": "deals",
            "section": "",
            "color": "blue",
            "icon": "",
            "title_field": "code",
            "default_view": str(view["id"]),
        },
    )
    assert r.status_code == 303
    got = api.get("/catalogs/deals").json()
    assert got["name"] == "Big deals" and got["title_field"] == "code"
    assert got["options"] == {"color": "blue", "default_view": view["id"]}
    assert "Saved." in web.get(r.headers["location"] + "&lang=en").text
    # A view of another catalog is refused next to its input.
    api.post("/catalogs", {"name": "Other", "api_name": "other"})
    other = api.post("/catalogs/other/views", {"name": "V", "type": "table"}).json()
    r = web.post(
        "/admin/catalogs/deals?lang=en",
        data={"csrf": csrf, "name": "Big deals", "default_view": str(other["id"])},
    )
    assert r.status_code == 422 and error_of(r.text, "default_view")
    r = web.post("/admin/catalogs/deals", data={"csrf": csrf, "name": "", "title_field": "nope"})
    assert r.status_code == 422 and error_of(r.text, "name")
    assert api.get("/catalogs/deals").json()["name"] == "Big deals"


def test_reorder_by_arrows_and_by_drag_order(web, api):
    csrf = sign_in(web)
    ids = [api.post("/catalogs", {"name": n}).json()["id"] for n in ("A", "B", "C")]

    def names() -> list[str]:
        return [c["name"] for c in api.get("/catalogs").json()["items"] if c["name"] in "ABC"]

    r = web.post("/admin/catalog-order", data={"csrf": csrf, "move": f"up:{ids[2]}"})
    assert r.status_code == 303 and names() == ["A", "C", "B"]
    web.post("/admin/catalog-order", data={"csrf": csrf, "move": f"down:{ids[0]}"})
    assert names() == ["C", "A", "B"]
    web.post("/admin/catalog-order", data={"csrf": csrf, "order": f"{ids[1]},{ids[0]},{ids[2]}"})
    assert names() == ["B", "A", "C"]
    r = web.post("/admin/catalog-order?lang=en", data={"csrf": csrf, "order": "999999,x"})
    assert r.status_code == 422 and names() == ["B", "A", "C"]


def test_delete_names_what_goes_and_needs_the_name_typed(web, api, instance):
    csrf = sign_in(web)
    api.post(
        "/catalogs",
        {"name": "Clients", "api_name": "clients", "fields": [{"name": "Name", "type": "text"}]},
    )
    api.post(
        "/catalogs",
        {
            "name": "Policies",
            "api_name": "policies",
            "fields": [
                {"name": "No", "type": "text"},
                {"name": "Client", "type": "link", "options": {"catalog": "clients"}},
            ],
        },
    )
    c1 = api.post("/catalogs/clients/records", {"values": {"name": "Romashka"}}).json()
    api.post("/catalogs/clients/records", {"values": {"name": "Sever"}})
    api.post("/catalogs/policies/records", {"values": {"no": "P-1", "client": [c1["id"]]}})
    api.post("/catalogs/clients/views", {"name": "All clients", "type": "table"})
    hook = api.post("/webhooks", {"catalog": "clients", "url": "http://127.0.0.1:9/hook"})
    assert hook.status_code == 201, hook.text
    page = web.get("/admin/catalogs/clients/delete?lang=en")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "2 records" in text and "1 link between records" in text
    assert "1 saved view: All clients" in text and "1 webhook" in text
    assert "1 link field in other catalogs: Policies: Client" in text
    ru = re.sub(r"\s+", " ", web.get("/admin/catalogs/clients/delete?lang=ru").text)
    assert "2 записи" in ru
    r = web.post("/admin/catalogs/clients/delete?lang=en", data={"csrf": csrf, "confirm": "Client"})
    assert r.status_code == 422 and error_of(r.text, "confirm")
    assert api.get("/catalogs/clients").status_code == 200
    r = web.post("/admin/catalogs/clients/delete", data={"csrf": csrf, "confirm": " clients "})
    assert r.status_code == 303 and "deleted=Clients" in r.headers["location"]
    assert api.get("/catalogs/clients").status_code == 404
    assert [f["api_name"] for f in api.get("/catalogs/policies").json()["fields"]] == ["no"]


def test_only_administrators_design(web, api):
    api.post("/catalogs", {"name": "Deals", "api_name": "deals"})
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "password-u-123"})
    csrf = sign_in(web, "u@example.com", "password-u-123")
    for url in ("/admin/catalogs", "/admin/catalogs/deals", "/admin/catalogs/deals/delete"):
        assert web.get(url).status_code == 403, url
    r = web.post("/admin/catalogs", data={"csrf": csrf, "name": "Mine"})
    assert r.status_code == 403
    r = web.post("/admin/catalogs/deals/delete", data={"csrf": csrf, "confirm": "Deals"})
    assert r.status_code == 403 and api.get("/catalogs/deals").status_code == 200
    # Forms without the session's CSRF token change nothing.
    sign_in(web)
    assert web.post("/admin/catalogs", data={"name": "NoToken"}).status_code == 403


def test_refusals_are_in_the_readers_language(web, api):
    csrf = sign_in(web)
    r = web.post("/admin/catalogs?lang=ru", data={"csrf": csrf, "name": " ", "color": "x"})
    assert r.status_code == 422
    assert error_of(r.text, "name") == "от 1 до 200 символов"
    r = web.post("/admin/catalogs?lang=ru", data={"csrf": csrf, "name": "A", "color": "x"})
    assert error_of(r.text, "color") == "неизвестный цвет"
    r = web.post("/admin/catalogs?lang=ru", data={"csrf": csrf, "name": "A", "api_name": "1a"})
    assert error_of(r.text, "api_name").startswith("начинается с латинской буквы")
