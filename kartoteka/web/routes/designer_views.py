"""The views designer (administrators): a catalog's saved views in order, and one view's
name, type, filter (the same builder as the grid's), sort, visible fields in order,
type-specific settings (a table's grouping, kanban columns and sum, calendar date,
Gantt start, end and dependencies, gallery cover), personal or shared, and whether the
catalog opens in it.

Saving goes through `views.service` (the API's checks) and `catalogs.service` for the
catalog's default view; refusals come back next to the input.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.errors import DomainError, ValidationFailed
from kartoteka.views import service as views

from .. import designer, widgets
from ..i18n import N_, _
from ..pages import Ctx, page, redirect, render
from .designer import designer_url, managed_catalog

VIEW_INPUTS = ("name", "type", "filter", "sort", "fields", "personal", "default", "options")
TYPE_NAMES = {
    "table": N_("Table"),
    "kanban": N_("Kanban"),
    "calendar": N_("Calendar"),
    "gantt": N_("Gantt"),
    "gallery": N_("Gallery"),
}
#: Labels of the type-specific settings (keys of `views.REQUIRED_OPTIONS`/`OPTIONAL_OPTIONS`).
OPTION_LABELS = {
    "group_field": N_("Columns by"),
    "sum_field": N_("Sum in each column"),
    "date_field": N_("Date on the calendar"),
    "start_field": N_("Start"),
    "end_field": N_("End"),
    "image_field": N_("Cover picture from"),
    "depends_field": N_("Waits for (a link to this catalog)"),
    "group_by": N_("Group rows by"),
}
SORT_ROWS = 3


def _settings(catalog: Catalog, vtype: str) -> list[dict[str, Any]]:
    """The type-specific settings of a view type, each with the fields it may name."""
    out: list[dict[str, Any]] = []
    for key, role in views.REQUIRED_OPTIONS.get(vtype, {}).items():
        fits = [f for f in catalog.fields if role in f.ftype.view_roles]
        out.append({"key": key, "required": True, "fields": fits})
    for key, able in views.OPTIONAL_OPTIONS.get(vtype, {}).items():
        out.append(
            {"key": key, "required": False, "fields": [f for f in catalog.fields if able(f)]}
        )
    for item in out:
        key = str(item["key"])
        item["label"] = _(OPTION_LABELS.get(key, key))
    return out


def _sort_rows(sort: Any) -> list[tuple[str, str]]:
    items = sort.split(",") if isinstance(sort, str) else sort if isinstance(sort, list) else []
    rows = []
    for item in items:
        text = str(item).strip()
        if text:
            rows.append((text.lstrip("+-"), "desc" if text.startswith("-") else "asc"))
    return (rows + [("", "asc")] * SORT_ROWS)[: max(SORT_ROWS, len(rows))]


def _field_rows(catalog: Catalog, chosen: list[str]) -> list[tuple[Field, bool]]:
    """Every field with whether the view shows it: shown ones first, in the view's order."""
    # A view without a field list shows every field: all are ticked.
    order = {name: i for i, name in enumerate(chosen or [f.api_name for f in catalog.fields])}
    shown = sorted(
        (f for f in catalog.fields if f.api_name in order), key=lambda f: order[f.api_name]
    )
    return [(f, True) for f in shown] + [
        (f, False) for f in catalog.fields if f.api_name not in order
    ]


@page
def views_page(ctx: Ctx, catalog: str) -> Response:
    """A catalog's saved views in tab order."""
    found = managed_catalog(ctx, catalog)
    params = ctx.request.query_params
    notice = _("Saved.") if params.get("saved") else ""
    if params.get("deleted"):
        notice = _("View “%(name)s” deleted.", name=params["deleted"])
    return render(
        ctx,
        "designer/views.html",
        catalog=found,
        tab="views",
        views=views.list_views(ctx.user, found.id),
        type_names={k: _(v) for k, v in TYPE_NAMES.items()},
        default_view=found.options.get("default_view"),
        notice=notice,
    )


@page
def views_order(ctx: Ctx, catalog: str) -> Response:
    """Reorder the tabs: `order` (view ids from a drag) or `move` "up:<id>"/"down:<id>"."""
    found = managed_catalog(ctx, catalog)
    ids = [v["id"] for v in views.list_views(ctx.user, found.id)]
    if ctx.field("order"):
        wanted = [int(p) for p in ctx.field("order").split(",") if p.strip().isdecimal()]
        wanted = [i for i in wanted if i in ids] + [i for i in ids if i not in wanted]
    else:
        direction, _sep, moved = ctx.field("move").partition(":")
        wanted = list(ids)
        if moved.isdecimal() and int(moved) in ids:
            i = ids.index(int(moved))
            j = i - 1 if direction == "up" else i + 1
            if 0 <= j < len(ids):
                wanted[i], wanted[j] = wanted[j], wanted[i]
    for position, vid in enumerate(wanted):
        views.update_view(ctx.user, found.id, vid, {"position": position})
    return redirect(designer_url(ctx, found, "/views?saved=1"))


def _form_page(
    ctx: Ctx,
    found: Catalog,
    view: dict[str, Any],
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    vtype = view["type"] if view["type"] in TYPE_NAMES else "table"
    config = widgets.data_block(
        {
            "fields": widgets.catalog_fields(ctx.user, found),
            "hops": widgets.hop_fields(ctx.user, found),
            "operators": widgets.operator_labels(),
            "full_text": True,  # lists and saved views run a filter's `search`
            "filter": view.get("filter"),
        }
    )
    return render(
        ctx,
        "designer/view.html",
        status=status,
        catalog=found,
        tab="views",
        view=view,
        vtype=vtype,
        types=[(k, _(v)) for k, v in TYPE_NAMES.items()],
        settings=_settings(found, vtype),
        sort_rows=_sort_rows(view.get("sort")),
        sortable=[f for f in found.fields if f.ftype.sortable],
        field_rows=_field_rows(found, view.get("fields") or []),
        filter_json=json.dumps(view["filter"]) if view.get("filter") else "",
        config=config,
        errors=errors or {},
    )


def _posted(ctx: Ctx, current: dict[str, Any] | None) -> dict[str, Any]:
    """The view the form describes (what the services get, and what a refusal shows again)."""
    assert ctx.form is not None
    filter_text = ctx.field("filter").strip()
    try:
        filter_value = json.loads(filter_text) if filter_text else None
    except ValueError:
        raise ValidationFailed.of("json_invalid", "filter") from None
    sort_fields = ctx.form.getlist("sort_field")
    sort_dirs = ctx.form.getlist("sort_dir")
    sort = [
        ("-" if i < len(sort_dirs) and sort_dirs[i] == "desc" else "") + name
        for i, name in enumerate(sort_fields)
        if isinstance(name, str) and name
    ]
    options: dict[str, Any] = dict(current["options"]) if current else {}
    for key in (*OPTION_LABELS, "personal"):
        options.pop(key, None)
    for key in OPTION_LABELS:
        if ctx.field(f"opt:{key}"):
            options[key] = ctx.field(f"opt:{key}")
    if ctx.field("personal"):
        options["personal"] = True
    return {
        "id": current["id"] if current else None,
        "name": ctx.field("name"),
        "type": ctx.field("type") or "table",
        "filter": filter_value,
        "sort": ",".join(sort) or None,
        "fields": [f for f in ctx.form.getlist("fields") if isinstance(f, str)],
        "options": options,
    }


def _save(ctx: Ctx, found: Catalog, current: dict[str, Any] | None) -> Response:
    view: dict[str, Any] = {"id": None, "name": ctx.field("name"), "type": ctx.field("type")}
    view.update(filter=None, sort=None, fields=[], options={})
    try:
        view = _posted(ctx, current)
        if ctx.field("retype"):
            return _form_page(ctx, found, view)
        spec = {k: view[k] for k in ("name", "type", "filter", "sort", "fields", "options")}
        if current is None:
            saved = views.create_view(ctx.user, found.id, spec)
        else:
            saved = views.update_view(ctx.user, found.id, current["id"], spec)
        was_default = found.options.get("default_view") == saved["id"]
        if bool(ctx.field("default")) != was_default:
            default = saved["id"] if ctx.field("default") else None
            catalogs.update_catalog(ctx.user, found.id, {"options": {"default_view": default}})
    except DomainError as exc:
        errors = designer.explain(
            exc,
            ctx.lang,
            (*VIEW_INPUTS, *(f"opt:{k}" for k in OPTION_LABELS)),
            {f"options.{k}": f"opt:{k}" for k in OPTION_LABELS} | {"options.personal": "personal"},
        )
        view["default"] = bool(ctx.field("default"))
        return _form_page(ctx, found, view, 422, errors)
    return redirect(designer_url(ctx, found, "/views?saved=1"))


@page
def view_new(ctx: Ctx, catalog: str) -> Response:
    """The form for a new view (`?type=` picks its type)."""
    found = managed_catalog(ctx, catalog)
    wanted = ctx.request.query_params.get("type") or "table"
    blank: dict[str, Any] = {"id": None, "name": "", "type": wanted, "filter": None}
    blank["sort"] = None
    blank.update(fields=[f.api_name for f in found.fields], options={}, default=False)
    return _form_page(ctx, found, blank)


@page
def view_create(ctx: Ctx, catalog: str) -> Response:
    """Save a new view."""
    return _save(ctx, managed_catalog(ctx, catalog), None)


@page
def view_edit(ctx: Ctx, catalog: str, view: str) -> Response:
    """The form of a saved view."""
    found = managed_catalog(ctx, catalog)
    current = views.read_view(ctx.user, found.id, view)
    current["default"] = found.options.get("default_view") == current["id"]
    return _form_page(ctx, found, current)


@page
def view_update(ctx: Ctx, catalog: str, view: str) -> Response:
    """Save a view's form."""
    found = managed_catalog(ctx, catalog)
    return _save(ctx, found, views.read_view(ctx.user, found.id, view))


def _used_by(ctx: Ctx, found: Catalog, view_id: int) -> list[str]:
    """Link fields that offer only this view's records ("Catalog: Field")."""
    return [
        f"{c.name}: {f.name}"
        for c, f in ctx.user.workspace.meta().links_into(found.id)
        if f.options.get("view") == view_id
    ]


@page
def view_delete_page(ctx: Ctx, catalog: str, view: str) -> Response:
    """What deleting a view changes, and the button that does it."""
    found = managed_catalog(ctx, catalog)
    current = views.read_view(ctx.user, found.id, view)
    return render(
        ctx,
        "designer/view_delete.html",
        catalog=found,
        tab="views",
        view=current,
        is_default=found.options.get("default_view") == current["id"],
        used_by=_used_by(ctx, found, current["id"]),
    )


@page
def view_delete(ctx: Ctx, catalog: str, view: str) -> Response:
    """Delete a view (a catalog that opened in it opens in the table again)."""
    found = managed_catalog(ctx, catalog)
    current = views.read_view(ctx.user, found.id, view)
    views.delete_view(ctx.user, found.id, current["id"])
    if found.options.get("default_view") == current["id"]:
        catalogs.update_catalog(ctx.user, found.id, {"options": {"default_view": None}})
    return redirect(designer_url(ctx, found, "/views?deleted=" + quote(current["name"], safe="")))


routes = [
    Route("/admin/catalogs/{catalog}/views", views_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/view-order", views_order, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/views/new", view_new, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/views/new", view_create, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/views/{view}", view_edit, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/views/{view}", view_update, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/views/{view}/delete", view_delete_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/views/{view}/delete", view_delete, methods=["POST"]),
]
