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


def test_every_type_specific_setting_is_editable(web, api, deals):
    """Each view type's settings are in the designer: a table's grouping, a Gantt's
    dependency field (a link to the same catalog only), a gallery's cover field."""
    api.post(
        "/catalogs/deals/fields",
        {"name": "After", "type": "link", "options": {"catalog": "deals", "multiple": True}},
    )
    api.post("/catalogs/deals/fields", {"name": "Photo", "type": "file"})
    api.post(
        "/catalogs",
        {"name": "Firms", "api_name": "firms", "fields": [{"name": "Name", "type": "text"}]},
    )
    api.post(
        "/catalogs/deals/fields", {"name": "Firm", "type": "link", "options": {"catalog": "firms"}}
    )
    csrf = sign_in(web)
    cases = [
        ("table", {"opt:group_by": "stage"}, {"group_by": "stage"}, "Группировать строки по"),
        (
            "gantt",
            {"opt:start_field": "due", "opt:end_field": "due", "opt:depends_field": "after"},
            {"start_field": "due", "end_field": "due", "depends_field": "after"},
            "Ждёт (связь с этим же каталогом)",
        ),
        ("gallery", {"opt:image_field": "photo"}, {"image_field": "photo"}, "Обложка из поля"),
    ]
    for vtype, posted, stored, label in cases:
        page = web.get(f"{deals}/views/new?type={vtype}&lang=ru").text
        assert label in page, vtype
        r = web.post(
            f"{deals}/views/new",
            data={"csrf": csrf, "name": vtype, "type": vtype, "fields": ["title"], **posted},
        )
        assert r.status_code == 303, r.text
        view = next(
            v for v in api.get("/catalogs/deals/views").json()["items"] if v["name"] == vtype
        )
        assert view["options"] == stored
        edit = web.get(f"{deals}/views/{view['id']}?lang=en").text
        for key, value in posted.items():
            assert re.search(rf'name="{key}".*?value="{value}" selected', edit, re.S), key
    # A link to another catalog draws no dependency arrows: not offered, and refused.
    gantt = web.get(f"{deals}/views/new?type=gantt&lang=en").text
    offered = gantt.split('name="opt:depends_field"')[1].split("</select>")[0]
    assert 'value="after"' in offered and 'value="firm"' not in offered
    r = web.post(
        f"{deals}/views/new?lang=en",
        data={
            "csrf": csrf,
            "name": "G",
            "type": "gantt",
            "opt:start_field": "due",
            "opt:end_field": "due",
            "opt:depends_field": "firm",
        },
    )
    assert r.status_code == 422 and error_of(r.text, "opt:depends_field")
    # Grouping by a text is refused next to its input.
    r = web.post(
        f"{deals}/views/new?lang=en",
        data={"csrf": csrf, "name": "T", "type": "table", "opt:group_by": "title"},
    )
    assert r.status_code == 422 and error_of(r.text, "opt:group_by")


def test_a_grouped_view_lists_its_records_group_by_group(api, deals):
    """The API honours `options.group_by`: records of a grouped view come by the group
    field first (then the view's sort), so a page never splits a group out of order."""
    for title, stage, amount in [
        ("a", "Won", 1),
        ("b", "New", 2),
        ("c", "Won", 3),
        ("d", "New", 4),
    ]:
        api.post(
            "/catalogs/deals/records",
            {"values": {"title": title, "stage": stage, "amount": amount}},
        )
    view = api.post(
        "/catalogs/deals/views",
        {"name": "By stage", "type": "table", "sort": "-amount", "options": {"group_by": "stage"}},
    ).json()
    got = api.get(f"/catalogs/deals/records?view={view['id']}").json()["items"]
    assert [r["values"]["title"] for r in got] == ["d", "b", "c", "a"]
    # An explicit sort still comes after the grouping.
    got = api.get(f"/catalogs/deals/records?view={view['id']}&sort=title&limit=3").json()
    assert [r["values"]["title"] for r in got["items"]] == ["b", "d", "a"]
    more = api.get(
        f"/catalogs/deals/records?view={view['id']}&sort=title&cursor={got['next_cursor']}"
    )
    assert [r["values"]["title"] for r in more.json()["items"]] == ["c"]


def _png(api, name):
    """A tiny real PNG stored through the files API."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return api.post("/files", files={"file": (name, out.getvalue(), "image/png")}).json()


def test_a_gallery_takes_its_cover_from_the_field_the_view_names(web, api, deals):
    """`options.image_field` picks the cover; the first file field was used whatever it said."""
    api.post("/catalogs/deals/fields", {"name": "Scan", "type": "file"})
    api.post("/catalogs/deals/fields", {"name": "Photo", "type": "file"})
    scan, photo = _png(api, "scan.png"), _png(api, "photo.png")
    api.post(
        "/catalogs/deals/records",
        {"values": {"title": "x", "scan": [scan["id"]], "photo": [photo["id"]]}},
    )
    view = api.post(
        "/catalogs/deals/views",
        {"name": "Pictures", "type": "gallery", "options": {"image_field": "photo"}},
    ).json()
    sign_in(web)
    html = web.get(f"/c/deals?view={view['id']}").text
    assert 'alt="photo.png"' in html and 'alt="scan.png"' not in html


def test_the_list_without_script_shows_a_grouped_views_headings(web, api, deals):
    """The phone's (and no-script) list of a grouped view has a heading per group, and
    "load more" does not repeat the heading of a group the page before began."""
    for i in range(5):
        stage = "New" if i < 3 else "Won"
        api.post("/catalogs/deals/records", {"values": {"title": f"d{i}", "stage": stage}})
    body = {"name": "By stage", "type": "table", "options": {"group_by": "stage"}}
    view = api.post("/catalogs/deals/views", body).json()
    sign_in(web)
    html = web.get(f"/c/deals?view={view['id']}&lang=en").text
    headings = re.findall(r'<tr class="group-heading"><th[^>]*>([^<]*)</th>', html)
    assert headings == ["New", "Won"]
    first = api.get(f"/catalogs/deals/records?view={view['id']}&limit=2").json()
    page = web.get(
        f"/c/deals/rows?view={view['id']}&cursor={first['next_cursor']}&group=New&lang=en"
    ).text
    assert re.findall(r'<tr class="group-heading"><th[^>]*>([^<]*)</th>', page) == ["Won"]
