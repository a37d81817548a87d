"""The field that becomes a catalog's title is indexed (issue 16): grids, link pickers and
imports sort and look records up by it, and without an index a page sorted by the title
scanned and sorted the whole table."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.storage import dynamic


def _indexes(instance: Any, catalog_id: int) -> dict[str, list[str]]:
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.connect() as conn:
        found = sa.inspect(conn).get_indexes(dynamic.table_name(catalog_id))
    return {ix["name"]: ix["column_names"] for ix in found}


def _field(catalog: dict[str, Any], api_name: str) -> dict[str, Any]:
    return next(f for f in catalog["fields"] if f["api_name"] == api_name)


def test_title_field_is_indexed_when_the_catalog_is_created(api: Any, instance: Any) -> None:
    cat = api.catalog(
        "Deals",
        [
            {"name": "Amount", "api_name": "amount", "type": "number"},
            {"name": "Name", "api_name": "name", "type": "text"},
            {"name": "City", "api_name": "city", "type": "text"},
        ],
    )
    assert cat["title_field"] == "name"
    name, city = _field(cat, "name"), _field(cat, "city")
    assert name["indexed"] is True and city["indexed"] is False
    column = f"f{name['id']}"
    assert _indexes(instance, cat["id"])[dynamic.index_name(cat["id"], column)] == [column, "id"]
    # Still an ordinary index: the field's PATCH drops it.
    r = api.patch(f"/catalogs/{cat['id']}/fields/name", {"indexed": False})
    assert r.status_code == 200, r.text
    assert dynamic.index_name(cat["id"], column) not in _indexes(instance, cat["id"])


def test_a_field_becoming_the_title_later_is_indexed(api: Any, instance: Any) -> None:
    cat = api.catalog("Empty", [])
    assert cat["title_field"] is None
    fields = f"/catalogs/{cat['id']}/fields"
    r = api.post(fields, {"name": "Title", "api_name": "t", "type": "text"})
    assert r.status_code == 201, r.text
    assert r.json()["indexed"] is True
    r = api.post(fields, {"name": "Other", "api_name": "o", "type": "text"})
    assert r.json()["indexed"] is False
    # Choosing another title indexes it; the old title keeps its index.
    r = api.patch(f"/catalogs/{cat['id']}", {"title_field": "o"})
    assert r.status_code == 200, r.text
    assert _field(r.json(), "o")["indexed"] is True
    assert _field(r.json(), "t")["indexed"] is True
    # Deleting the title picks the next text field; it is indexed already, nothing breaks.
    assert api.delete(f"/catalogs/{cat['id']}/fields/o").status_code == 204
    got = api.get(f"/catalogs/{cat['id']}").json()
    assert got["title_field"] == "t" and _field(got, "t")["indexed"] is True


def test_a_page_sorted_by_the_title_walks_its_index(api: Any, instance: Any) -> None:
    cat = api.catalog(
        "Items",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {"name": "Stage", "api_name": "stage", "type": "number"},
        ],
    )
    ws = instance.workspace(instance.settings.default_workspace)
    if ws.dialect != "sqlite":
        return  # the plan's wording is SQLite's; the index itself is checked above
    table = dynamic.table_name(cat["id"])
    column = f"f{_field(cat, 'name')['id']}"
    stage = f"f{_field(cat, 'stage')['id']}"
    sql = f"EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE {stage} = 1 ORDER BY {column}, id"
    with ws.engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(sa.text(sql)))
    assert "TEMP B-TREE" not in plan, plan
    assert dynamic.index_name(cat["id"], column) in plan, plan
