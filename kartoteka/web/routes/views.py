"""A catalog's page: view tabs, the toolbar, and the view itself (grid, board, calendar...).

The URL holds what is shown — `?view=<id>` and the unsaved `filter` (JSON) and `sort` — so
a link shows a colleague the same records, as far as their rights allow. Without
JavaScript the grid is a plain table with "load more"; the grid script upgrades it.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import get_catalog
from kartoteka.filters.compiler import parse_filter_param
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields
from kartoteka.views import service as views

from .. import boards, colmenu, forms, widgets
from ..pages import Ctx, catalog_url, page, render

#: `?view=all`: the table of all records, also in a catalog that opens in a default view.
ALL_RECORDS = "all"
PAGE_SIZE = 30  # the no-script list and the phone's card list; the grid pages by 100
TABLE_COLUMNS = 8


def _state(ctx: Ctx, catalog: Catalog) -> dict[str, Any]:
    """The view, filter and sort the URL asks for (checked by the records service)."""
    params = ctx.request.query_params
    all_views = views.list_views(ctx.user, catalog.id)
    view = None
    wanted = params.get("view")
    if wanted == ALL_RECORDS:
        wanted = None
    elif wanted is None and catalog.options.get("default_view"):
        # The catalog opens in its default view; a view since deleted or hidden from
        # this reader leaves the plain table.
        found = [v for v in all_views if v["id"] == catalog.options["default_view"]]
        view = found[0] if found else None
    if wanted:
        view = views.read_view(ctx.user, catalog.id, wanted)
    filter_text = params.get("filter") or None
    return {
        "views": all_views,
        "view": view,
        "filter": parse_filter_param(filter_text),
        "filter_text": filter_text or "",
        "sort": params.get("sort") or None,
        "search": (params.get("search") or "").strip() or None,
    }


def _page(ctx: Ctx, catalog: Catalog, state: dict[str, Any]) -> dict[str, Any]:
    view = state["view"]
    found = records.list_records(
        ctx.user,
        catalog.id,
        state["filter"],
        state["sort"],
        PAGE_SIZE,
        ctx.request.query_params.get("cursor") or None,
        None,
        view["id"] if view else None,
        search=state["search"],
    )
    return {"items": found["items"], "next_cursor": found["next_cursor"]}


def _cells(items: list[dict[str, Any]], columns: list[Any]) -> list[tuple[int, list[str]]]:
    """Each record's id and its cells as text (made here: a template loop costs more)."""
    return [
        (r["id"], [forms.value_text(f, r["values"].get(f.api_name)) for f in columns])
        for r in items
    ]


def _groups(
    catalog: Catalog, view: dict[str, Any] | None, items: list[dict[str, Any]], last: str
) -> tuple[list[str | None], str]:
    """The no-script list of a grouped view (`options.group_by`, the phone's list): each
    row's group heading, or None while the group goes on (`last`: the heading the page
    before ended in). The API lists such a view by the group field first. A date and
    time groups by its day in the grid only; here the list stays flat. Returns the
    headings and the group the page ends in (the next page's `last`)."""
    name = ((view or {}).get("options") or {}).get("group_by")
    field = catalog.by_api_name.get(name) if isinstance(name, str) else None
    if field is None or field.ftype.value_kind == "datetime":
        return [None] * len(items), ""
    out: list[str | None] = []
    for r in items:
        value = r["values"].get(field.api_name)
        label = forms.value_text(field, value[:1] if isinstance(value, list) else value)
        out.append(label if label != last else None)
        last = label
    return out, last


def _columns(ctx: Ctx, catalog: Catalog, view: dict[str, Any] | None) -> list[Any]:
    shown = visible_fields(ctx.user, catalog, None)
    if view and view.get("fields"):
        order = {name: i for i, name in enumerate(view["fields"])}
        shown = sorted((f for f in shown if f.api_name in order), key=lambda f: order[f.api_name])
        return shown
    return shown[:TABLE_COLUMNS]


def _grid_config(ctx: Ctx, catalog: Catalog, state: dict[str, Any], columns: list[Any]) -> Any:
    view = state["view"]
    return widgets.data_block(
        {
            "catalog": catalog.api_name,
            "name": catalog.name,
            "api": f"{ctx.base}/api/v1/catalogs/{catalog.api_name}",
            "page": catalog_url(ctx, catalog.api_name),
            "view": view,
            "filter": state["filter"],
            "search": state["search"],
            "sort": state["sort"] or (view["sort"] if view else None),
            "columns": [f.api_name for f in columns],
            "fields": widgets.catalog_fields(ctx.user, catalog),
            "hops": widgets.hop_fields(ctx.user, catalog),
            "designer": colmenu.designer_url(ctx.base, ctx.user, catalog),
            "operators": widgets.operator_labels(),
            "full_text": True,  # lists and saved views run a filter's `search`
            "title_field": catalog.title_field.api_name if catalog.title_field else None,
            "can_create": catalog.system is None and access.can_create(ctx.user, catalog),
            "can_manage_views": access.can_manage(ctx.user, catalog),
            "default_view": catalog.options.get("default_view"),
        }
    )


@page
def catalog_page(ctx: Ctx, catalog: str) -> Response:
    """The catalog in its chosen view (a table unless the view says otherwise)."""
    found = get_catalog(ctx.user, catalog)
    state = _state(ctx, found)
    view = state["view"]
    kind = view["type"] if view else "table"
    columns = _columns(ctx, found, view)
    data: dict[str, Any] = {
        "catalog": found,
        "kind": kind,
        "columns": columns,
        "config": _grid_config(ctx, found, state, columns),
        "can_create": found.system is None and access.can_create(ctx.user, found),
        **state,
    }
    if kind in boards.KINDS:
        data.update(boards.build(ctx, found, view, state))
        return render(ctx, f"board/{kind}.html", **data)
    data.update(_page(ctx, found, state))
    data["rows"] = _cells(data["items"], columns)
    data["groups"], data["last_group"] = _groups(found, view, data["items"], "")
    return render(ctx, "grid/catalog.html", **data)


@page
def rows_fragment(ctx: Ctx, catalog: str) -> Response:
    """The next page of table rows (an htmx fragment, the no-script grid's "load more")."""
    found = get_catalog(ctx.user, catalog)
    state = _state(ctx, found)
    columns = _columns(ctx, found, state["view"])
    listed = _page(ctx, found, state)
    rows = _cells(listed["items"], columns)
    last = ctx.request.query_params.get("group") or ""
    groups, last = _groups(found, state["view"], listed["items"], last)
    return render(
        ctx,
        "grid/_rows.html",
        catalog=found,
        columns=columns,
        rows=rows,
        groups=groups,
        last_group=last,
        **listed,
        **state,
    )


routes = [
    Route("/c/{catalog}", catalog_page, methods=["GET"]),
    Route("/c/{catalog}/rows", rows_fragment, methods=["GET"]),
]
