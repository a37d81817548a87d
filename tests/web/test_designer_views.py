"""The views designer over plain HTTP: a view's type and settings, filter, sort, fields,
personal or shared, default view of the catalog, order and deletion."""

from __future__ import annotations

import json
import re

import pytest
from support.web import sign_in


def error_of(html: str, name: str) -> str:
    found = re.search(rf'id="{re.escape(name)}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


@pytest.fixture
def deals(api):
    api.post(
        "/catalogs",
        {
            "name": "Deals",
            "api_name": "deals",
            "fields": [
                {"name": "Title", "type": "text"},
                {"name": "Stage", "type": "select", "options": {"choices": ["New", "Won"]}},
                {"name": "Amount", "type": "money"},
                {"name": "Due", "type": "date"},
            ],
        },
    )
    return "/admin/catalogs/deals"


def test_a_kanban_view_with_filter_sort_fields_and_default(web, api, deals):
    csrf = sign_in(web)
    page = web.get(f"{deals}/views/new?type=kanban&lang=ru")
    assert page.status_code == 200 and "Колонки по полю" in page.text
    r = web.post(
        f"{deals}/views/new",
        data={
            "csrf": csrf,
            "name": "Pipeline",
            "type": "kanban",
            "opt:group_field": "stage",
            "opt:sum_field": "amount",
            "filter": json.dumps({"amount": {"gt": 100}}),
            "sort_field": ["due", "title", ""],
            "sort_dir": ["desc", "asc", "asc"],
            "fields": ["amount", "title"],
            "default": "1",
        },
    )
    assert r.status_code == 303, r.text
    view = api.get("/catalogs/deals/views").json()["items"][0]
    assert view["name"] == "Pipeline" and view["type"] == "kanban"
    assert view["options"] == {"group_field": "stage", "sum_field": "amount"}
    assert view["filter"] == {"amount": {"gt": 100}} and view["sort"] == "-due,title"
    assert view["fields"] == ["amount", "title"]
    assert api.get("/catalogs/deals").json()["options"]["default_view"] == view["id"]
    # The catalog opens in it; "All records" still reaches the table.
    assert 'aria-current="page">\n    <span class="vt vt-kanban"' in web.get("/c/deals").text
    assert web.get("/c/deals?view=all").status_code == 200
    edit = web.get(f"{deals}/views/{view['id']}?lang=en").text
    assert 'value="stage" selected' in edit and 'name="default" value="1" checked' in edit


def test_refusals_next_to_the_input(web, api, deals):
    csrf = sign_in(web)
    r = web.post(
        f"{deals}/views/new?lang=en",
        data={"csrf": csrf, "name": "Board", "type": "kanban", "opt:group_field": ""},
    )
    assert r.status_code == 422 and error_of(r.text, "opt:group_field")
    r = web.post(
        f"{deals}/views/new?lang=en",
        data={"csrf": csrf, "name": "Board", "type": "kanban", "opt:group_field": "title"},
    )
    assert r.status_code == 422 and error_of(r.text, "opt:group_field")
    r = web.post(
        f"{deals}/views/new?lang=en",
        data={"csrf": csrf, "name": "", "type": "table"},
    )
    assert r.status_code == 422 and error_of(r.text, "name")
    r = web.post(
        f"{deals}/views/new?lang=en",
        data={"csrf": csrf, "name": "F", "type": "table", "filter": '{"nope": {"eq": 1}}'},
    )
    assert r.status_code == 422 and "nope" in r.text
    r = web.post(f"{deals}/views/new", data={"csrf": csrf, "name": "F", "filter": "{"})
    assert r.status_code == 422 and error_of(r.text, "filter")
    assert api.get("/catalogs/deals/views").json()["items"] == []


def test_personal_views_and_order_and_delete(web, api, deals):
    csrf = sign_in(web)
    for name in ("A", "B"):
        web.post(f"{deals}/views/new", data={"csrf": csrf, "name": name, "type": "table"})
    r = web.post(
        f"{deals}/views/new",
        data={"csrf": csrf, "name": "Mine", "type": "table", "personal": "1"},
    )
    assert r.status_code == 303
    listed = {v["name"]: v for v in api.get("/catalogs/deals/views").json()["items"]}
    assert listed["Mine"]["options"] == {"personal": True}
    page = web.get(f"{deals}/views?lang=en").text
    assert "only mine" in page and "shared" in page
    ids = [listed[n]["id"] for n in ("B", "Mine", "A")]
    web.post(f"{deals}/view-order", data={"csrf": csrf, "order": ",".join(map(str, ids))})
    assert [v["name"] for v in api.get("/catalogs/deals/views").json()["items"]] == [
        "B",
        "Mine",
        "A",
    ]
    web.post(f"{deals}/view-order", data={"csrf": csrf, "move": f"up:{listed['A']['id']}"})
    assert [v["name"] for v in api.get("/catalogs/deals/views").json()["items"]] == [
        "B",
        "A",
        "Mine",
    ]
    api.patch("/catalogs/deals", {"options": {"default_view": listed["B"]["id"]}})
    confirm = re.sub(r"\s+", " ", web.get(f"{deals}/views/{listed['B']['id']}/delete?lang=en").text)
    assert "it will open as a table of all records" in confirm
    r = web.post(f"{deals}/views/{listed['B']['id']}/delete", data={"csrf": csrf})
    assert r.status_code == 303 and "deleted=B" in r.headers["location"]
    assert "default_view" not in api.get("/catalogs/deals").json()["options"]
    assert web.get("/c/deals").status_code == 200
