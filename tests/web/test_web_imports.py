"""The import wizard's page and the export menu of every view (server side; the
wizard's steps run in the browser: tests/web/test_admin_flow.py)."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from support.web import sign_in

from kartoteka.exporter.service import FORMATS


def catalog(api) -> None:
    api.catalog("Clients", [{"name": "Name", "type": "text"}, {"name": "City", "type": "text"}])
    api.records("clients", [{"name": "Acme", "city": "Kazan"}, {"name": "Globex", "city": "Perm"}])


def test_wizard_page_names_the_catalog_and_its_api_in_the_readers_language(api, web):
    catalog(api)
    sign_in(web)
    page = web.get("/c/clients/import?lang=ru")
    assert page.status_code == 200
    assert "Загрузка в «Clients»" in page.text and "Перетащите сюда файл" in page.text
    config = json.loads(
        unescape(re.search(r'id="import-config">(.*?)</script>', page.text).group(1))
    )
    assert config["preview"] == "/api/v1/catalogs/clients/imports/preview"
    assert config["strings"]["skip"] == "— не загружать —"
    listing = web.get("/admin/imports").text
    assert "/c/clients/import" in listing


def test_export_menu_offers_every_format_with_the_pages_view_filter_and_sort(api, web):
    catalog(api)
    view = api.post(
        "/catalogs/clients/views",
        {"name": "Kazan", "type": "table", "filter": {"city": {"eq": "Kazan"}}},
    ).json()
    sign_in(web)
    flt = json.dumps({"name": {"icontains": "a"}})
    page = web.get("/c/clients", params={"view": view["id"], "filter": flt, "sort": "-name"}).text
    links = [unescape(u) for u in re.findall(r'href="([^"]+)" data-export=', page)]
    assert [parse_qs(urlsplit(u).query)["format"][0] for u in links] == list(FORMATS)
    query = parse_qs(urlsplit(links[0]).query)
    assert query["view"] == [str(view["id"])] and query["sort"] == ["-name"]
    assert json.loads(query["filter"][0]) == {"name": {"icontains": "a"}}
    exported = web.get(links[0])  # the session cookie is enough for a GET
    assert exported.status_code == 200
    assert "Acme" in exported.text and "Globex" not in exported.text
    assert 'href="/c/clients/import"' in page


def test_wizard_and_import_button_are_for_those_who_may_create(api, web):
    catalog(api)
    group = api.post("/groups", {"name": "readers"}).json()["id"]
    api.put("/catalogs/clients/rights", {"groups": {str(group): {"view": True}}})
    api.post(
        "/users",
        {"email": "r@example.com", "name": "R", "password": "reader-pass-123", "groups": [group]},
    )
    sign_in(web, "r@example.com", "reader-pass-123")
    page = web.get("/c/clients").text
    assert "/c/clients/import" not in page and "data-export" in page
    assert web.get("/c/clients/import").status_code == 403
    assert web.get("/admin/imports").status_code == 403
