"""The catalog designer (administrators): catalogs and their sidebar sections, order,
colour and icon, title field and default view, and deleting a catalog with a
confirmation that names what goes.

Every change goes through `catalogs.service` / `catalogs.layout`, as the API's do; a
refusal re-renders the form (status 422) with the reason next to the input.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs import layout
from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.models import Catalog
from kartoteka.errors import DomainError
from kartoteka.views import service as views

from .. import designer
from ..i18n import _
from ..pages import Ctx, page, redirect, render, require_admin

CATALOG_INPUTS = ("name", "api_name", "section", "color", "icon", "title_field", "default_view")
#: Service keys -> the inputs of the catalog forms.
CATALOG_KEYS = {
    "options.section": "section",
    "options.color": "color",
    "options.icon": "icon",
    "options.default_view": "default_view",
}


def designer_url(ctx: Ctx, catalog: Catalog | str, tail: str = "") -> str:
    """The URL of a catalog's designer page (`tail`: "/fields", "/views"...)."""
    name = catalog if isinstance(catalog, str) else catalog.api_name
    return f"{ctx.base}/admin/catalogs/{quote(name, safe='')}{tail}"


def managed_catalog(ctx: Ctx, catalog: str) -> Catalog:
    """The catalog, when the user may manage it (administrators, or a group's `manage`
    right on it: docs/rights.md); the designer pages of fields, views and duplicate rules."""
    found = catalogs.get_catalog(ctx.user, catalog)
    catalogs.require_manage(ctx.user, found)
    return found


def _editable(ctx: Ctx) -> list[Catalog]:
    return [c for c in catalogs.list_catalogs(ctx.user) if c.system is None]


def _sections(items: list[Catalog]) -> list[tuple[str, list[Catalog]]]:
    """Catalogs grouped by sidebar section, in sidebar order ("" for no section)."""
    groups: dict[str, list[Catalog]] = {}
    for c in items:
        named = c.options.get("section")
        groups.setdefault(named if isinstance(named, str) else "", []).append(c)
    return list(groups.items())


def _appearance(ctx: Ctx) -> dict[str, Any]:
    """The look a form sets: section, colour and icon as options (blank: none)."""
    return {
        "section": ctx.field("section").strip() or None,
        "color": ctx.field("color") or None,
        "icon": ctx.field("icon") or None,
    }


def _list_page(
    ctx: Ctx, status: int = 200, errors: dict[str, str] | None = None, **data: Any
) -> Response:
    items = _editable(ctx)
    return render(
        ctx,
        "designer/catalogs.html",
        status=status,
        groups=_sections(items),
        section_names=sorted({s for s, _items in _sections(items) if s}),
        colors=designer.colors(),
        icons=designer.icons(),
        errors=errors or {},
        form=data.pop("form", {}),
        notice=_notice(ctx),
        **data,
    )


def _notice(ctx: Ctx) -> str:
    """The quiet confirmation of the change that led here (from the redirect's query)."""
    params = ctx.request.query_params
    if params.get("deleted"):
        return _("Catalog “%(name)s” deleted.", name=params["deleted"])
    if params.get("saved"):
        return _("Saved.")
    return ""


@page
def catalogs_page(ctx: Ctx) -> Response:
    """Every catalog by sidebar section, with the form for a new one."""
    require_admin(ctx)
    return _list_page(ctx)


@page
def catalog_create(ctx: Ctx) -> Response:
    """Create a catalog from the form (then on to its fields)."""
    require_admin(ctx)
    spec: dict[str, Any] = {"name": ctx.field("name"), "options": _appearance(ctx)}
    if ctx.field("api_name").strip():
        spec["api_name"] = ctx.field("api_name").strip()
    try:
        created = catalogs.create_catalog(ctx.user, spec)
    except DomainError as exc:
        errors = designer.explain(exc, ctx.lang, CATALOG_INPUTS, CATALOG_KEYS)
        form = {k: ctx.field(k) for k in CATALOG_INPUTS}
        return _list_page(ctx, 422, errors, form=form, open_new=True)
    return redirect(designer_url(ctx, created, "/fields?created=1"))


@page
def catalogs_order(ctx: Ctx) -> Response:
    """Reorder the sidebar: `order` (ids, comma-separated, from a drag) or one catalog
    `move`d ("up:<id>", "down:<id>": the buttons, for keyboards and pages without scripts)."""
    require_admin(ctx)
    ids = [c.id for c in _editable(ctx)]
    if ctx.field("order"):
        wanted: list[Any] = [p.strip() for p in ctx.field("order").split(",") if p.strip()]
    else:
        direction, _sep, moved = ctx.field("move").partition(":")
        wanted = list(ids)
        if moved.isdecimal() and int(moved) in ids:
            i = ids.index(int(moved))
            j = i - 1 if direction == "up" else i + 1
            if 0 <= j < len(ids):
                wanted[i], wanted[j] = wanted[j], wanted[i]
    layout.reorder_catalogs(ctx.user, [int(w) if str(w).isdecimal() else w for w in wanted])
    anchor = ctx.field("move").partition(":")[2]
    return redirect(f"{ctx.base}/admin/catalogs?saved=1" + (f"#catalog-{anchor}" if anchor else ""))


def _settings_page(
    ctx: Ctx,
    found: Catalog,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    titles = [(f.api_name, f.name) for f in found.fields if f.ftype.can_be_title]
    return render(
        ctx,
        "designer/catalog.html",
        status=status,
        catalog=found,
        tab="settings",
        titles=titles,
        views=[(v["id"], v["name"]) for v in views.list_views(ctx.user, found.id)],
        section_names=sorted(
            {s for c in _editable(ctx) if isinstance(s := c.options.get("section"), str)}
        ),
        colors=designer.colors(),
        icons=designer.icons(),
        errors=errors or {},
        form=form or _catalog_form(found),
        notice=_notice(ctx),
    )


def _catalog_form(found: Catalog) -> dict[str, str]:
    title = found.title_field
    default_view = found.options.get("default_view")
    return {
        "name": found.name,
        "api_name": found.api_name,
        "section": str(found.options.get("section") or ""),
        "color": str(found.options.get("color") or ""),
        "icon": str(found.options.get("icon") or ""),
        "title_field": title.api_name if title else "",
        "default_view": str(default_view) if default_view else "",
    }


@page
def catalog_settings(ctx: Ctx, catalog: str) -> Response:
    """A catalog's name, api_name, look, title field and default view."""
    require_admin(ctx)
    return _settings_page(ctx, managed_catalog(ctx, catalog))


@page
def catalog_update(ctx: Ctx, catalog: str) -> Response:
    """Save the settings form."""
    require_admin(ctx)
    found = catalogs.get_catalog(ctx.user, catalog)
    options: dict[str, Any] = _appearance(ctx)
    view = ctx.field("default_view")
    options["default_view"] = int(view) if view.isdecimal() and len(view) < 10 else None
    patch: dict[str, Any] = {
        "name": ctx.field("name"),
        "api_name": ctx.field("api_name").strip() or found.api_name,
        "title_field": ctx.field("title_field") or None,
        "options": options,
    }
    try:
        if options["default_view"] is not None:
            views.read_view(ctx.user, found.id, options["default_view"])
        saved = catalogs.update_catalog(ctx.user, found.id, patch)
    except DomainError as exc:
        errors = designer.explain(exc, ctx.lang, CATALOG_INPUTS, CATALOG_KEYS)
        if isinstance(exc, views.ViewNotFound):
            errors = {"default_view": _("Not found, or you have no access to it.")}
        form = {k: ctx.field(k) for k in CATALOG_INPUTS}
        return _settings_page(ctx, found, 422, errors, form)
    return redirect(designer_url(ctx, saved, "?saved=1"))


@page
def catalog_delete_page(ctx: Ctx, catalog: str) -> Response:
    """What deleting the catalog takes with it, and the form that confirms it."""
    require_admin(ctx)
    found = catalogs.get_catalog(ctx.user, catalog)
    return _delete_page(ctx, found)


def _delete_page(ctx: Ctx, found: Catalog, status: int = 200, error: str = "") -> Response:
    catalogs.require_manage(ctx.user, found)
    impact = layout.deletion_impact(ctx.user, found)
    return render(
        ctx,
        "designer/catalog_delete.html",
        status=status,
        catalog=found,
        tab="settings",
        lines=designer.impact_lines(impact),
        fields_count=len(found.fields),
        error=error,
    )


@page
def catalog_delete(ctx: Ctx, catalog: str) -> Response:
    """Delete the catalog once its name was typed to confirm."""
    require_admin(ctx)
    found = catalogs.get_catalog(ctx.user, catalog)
    if ctx.field("confirm").strip().casefold() != found.name.strip().casefold():
        message = _("Type the catalog's name exactly as shown to delete it.")
        return _delete_page(ctx, found, 422, message)
    catalogs.delete_catalog(ctx.user, found.id)
    return redirect(f"{ctx.base}/admin/catalogs?deleted={quote(found.name, safe='')}")


routes = [
    Route("/admin/catalogs", catalogs_page, methods=["GET"]),
    Route("/admin/catalogs", catalog_create, methods=["POST"]),
    Route("/admin/catalog-order", catalogs_order, methods=["POST"]),
    Route("/admin/catalogs/{catalog}", catalog_settings, methods=["GET"]),
    Route("/admin/catalogs/{catalog}", catalog_update, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/delete", catalog_delete_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/delete", catalog_delete, methods=["POST"]),
]
