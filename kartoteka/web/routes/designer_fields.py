"""The field designer (administrators): a catalog's fields in order (drag or arrows),
adding a field of any type with its options (also "insert left/right" of a column),
editing, changing the type after a dry-run report of what converts and what fails, and
deleting with a warning that counts what goes.

Option inputs come from `templates/designer/options/<type>.html` (a type without one
gets a JSON box); each input says how it is read (`kind:<option>`: flag, int, text,
ref, choices), so no code here asks which type a field is. The services validate.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs import layout
from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.errors import BadFieldSpec
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.errors import DomainError, ValidationFailed
from kartoteka.fields import all_types
from kartoteka.fields.base import FieldType
from kartoteka.messages import message
from kartoteka.users import service as users
from kartoteka.views import service as views

from .. import designer, designer_common
from ..i18n import _
from ..pages import HERE, Ctx, page, redirect, render
from .designer import designer_url, managed_catalog

FIELD_INPUTS: tuple[str, ...] = (
    "name",
    "api_name",
    "type",
    "required",
    "unique",
    "indexed",
    "options",
    "order",
)
FIELD_INPUTS += ("help", "default")  # the options every type takes (designer_common)
#: Service keys -> the inputs of the field form.
FIELD_KEYS = {
    "options.help": "help",
    "options.default": "default",
    designer_common.DEFAULT_INPUT: "default",  # a default that is no number, as typed
}
OPTION_TEMPLATES = HERE / "templates" / "designer" / "options"
MAX_CHOICES = 1000


def type_label(ftype: FieldType, lang: str) -> str:
    """A field type's name in the reader's language."""
    return ftype.labels.get(lang) or ftype.labels.get("en") or ftype.type


def type_choices(lang: str) -> list[tuple[str, str]]:
    """Every registered field type as (name, label), in registration order."""
    return [(name, type_label(t, lang)) for name, t in all_types().items()]


def options_template(type_name: str) -> str:
    """The template of a type's option inputs (the JSON box when it brings none)."""
    if (OPTION_TEMPLATES / f"{type_name}.html").is_file():
        return f"designer/options/{type_name}.html"
    return "designer/options/_json.html"


def _target_views(ctx: Ctx) -> list[tuple[str, list[tuple[int, str]]]]:
    """Saved views of every catalog, for a link's "only records of this view"."""
    out = []
    for c in catalogs.list_catalogs(ctx.user):
        if c.system is None:
            listed = views.list_views(ctx.user, c.id)
            if listed:
                out.append((c.name, [(v["id"], v["name"]) for v in listed]))
    return out


def read_options(ctx: Ctx, lang: str | None = None) -> Any:
    """The posted option inputs as the service's `options` object (or the JSON box's); a
    number or amount default read as typed in `lang` (None: as the API takes it)."""
    form = ctx.form
    if form is None:
        return {}
    if "options_json" in form:
        text = ctx.field("options_json").strip() or "{}"
        try:
            return json.loads(text)
        except ValueError:
            raise BadFieldSpec.of("json_invalid", "options") from None
    options: dict[str, Any] = {}
    for key in form:
        if not key.startswith("kind:"):
            continue
        name, kind = key[5:], ctx.field(key)
        raw = ctx.field(f"opt:{name}").strip()
        if kind == "flag":
            options[name] = bool(raw)
        elif kind == "choices":
            options[name] = _choices(ctx)
        elif kind == "list":
            options[name] = form.getlist(f"opt:{name}") or None  # none ticked: removed
        elif raw and kind in ("int", "ref"):
            options[name] = int(raw) if raw.lstrip("-").isdecimal() and len(raw) < 12 else raw
        elif raw:
            options[name] = raw
        else:
            options[name] = None  # cleared: the service removes the option
    typed = designer_common.read(form, ctx.field("type"), options, ctx.user.timezone, lang)
    options.update(typed)
    return options


def _choices(ctx: Ctx) -> list[dict[str, Any]]:
    """Select choices from the rows of the choices editor, in their order (blank rows skipped)."""
    assert ctx.form is not None
    labels = ctx.form.getlist("choice_label")[:MAX_CHOICES]
    colors = ctx.form.getlist("choice_color")
    ids = ctx.form.getlist("choice_id")
    out = []
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            continue
        choice: dict[str, Any] = {"label": label}
        color = colors[i] if i < len(colors) else ""
        if isinstance(color, str) and color:
            choice["color"] = color
        cid = ids[i] if i < len(ids) else ""
        if isinstance(cid, str) and cid.isdecimal() and len(cid) < 10:
            choice["id"] = int(cid)
        out.append(choice)
    return out


def _spec(ctx: Ctx) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": ctx.field("name"),
        "type": ctx.field("type"),
        "required": bool(ctx.field("required")),
        "unique": bool(ctx.field("unique")),
        "indexed": bool(ctx.field("indexed")),
        "options": read_options(ctx, ctx.lang),
    }
    if ctx.field("api_name").strip():
        spec["api_name"] = ctx.field("api_name").strip()
    return spec


def _posted_field(ctx: Ctx, catalog: Catalog, current: Field | None) -> dict[str, Any]:
    """What the form shows after a refusal: the posted values, as a field's JSON."""
    try:
        options = read_options(ctx, ctx.lang)
    except BadFieldSpec:
        options = current.options if current else {}
    except ValidationFailed:  # a default that is no number: the rest as posted, it empty
        options = read_options(ctx)
    return {
        "id": current.id if current else None,
        "name": ctx.field("name"),
        "api_name": ctx.field("api_name"),
        "type": ctx.field("type") or (current.type if current else "text"),
        "required": bool(ctx.field("required")),
        "unique": bool(ctx.field("unique")),
        "indexed": bool(ctx.field("indexed")),
        "options": options if isinstance(options, dict) else {},
        "options_json": ctx.field("options_json"),
    }


def _param(ctx: Ctx, name: str) -> str:
    return ctx.request.query_params.get(name) or ctx.field(name)


def _at(ctx: Ctx, found: Catalog) -> str:
    """The new field's position: `at`, or left/right of the field whose id is `left`/`right`
    (the grid's column menu)."""
    for key, shift in (("left", 0), ("right", 1)):
        ids = [str(f.id) for f in found.fields]
        if _param(ctx, key) in ids:
            return str(ids.index(_param(ctx, key)) + shift)
    return _param(ctx, "at")


def _back(ctx: Ctx) -> str:
    """Where to return after saving, when the form was opened from a catalog's page (only
    an address of this workspace's catalogs: never another site)."""
    back = _param(ctx, "back")
    ok = back.startswith(f"{ctx.base}/c/") and "//" not in back and "\\" not in back
    return back if ok else ""


def _done(ctx: Ctx, found: Catalog, field_id: int) -> Response:
    return redirect(_back(ctx) or designer_url(ctx, found, f"/fields?saved=1#field-{field_id}"))


# ----- the list ----------------------------------------------------------------------
@page
def fields_page(ctx: Ctx, catalog: str) -> Response:
    """A catalog's fields in order, each with what it is and how to change it."""
    found = managed_catalog(ctx, catalog)
    params = ctx.request.query_params
    notice = ""
    if params.get("created"):
        notice = _("Catalog created. Add its fields.")
    elif params.get("deleted"):
        notice = _("Field “%(name)s” deleted.", name=params["deleted"])
    elif params.get("saved"):
        notice = _("Saved.")
    rows = [
        {
            "field": f,
            "label": type_label(f.ftype, ctx.lang),
            "is_title": f.id == found.title_field_id,
        }
        for f in found.fields
    ]
    return render(
        ctx,
        "designer/fields.html",
        catalog=found,
        tab="fields",
        rows=rows,
        types=type_choices(ctx.lang),
        notice=notice,
    )


@page
def fields_order(ctx: Ctx, catalog: str) -> Response:
    """Reorder fields: `order` (ids from a drag) or one field `move`d "up:<id>"/"down:<id>"."""
    found = managed_catalog(ctx, catalog)
    ids = [f.id for f in found.fields]
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
    layout.reorder_fields(ctx.user, found, [int(w) if str(w).isdecimal() else w for w in wanted])
    anchor = ctx.field("move").partition(":")[2]
    return redirect(
        designer_url(ctx, found, "/fields?saved=1") + (f"#field-{anchor}" if anchor else "")
    )


# ----- add and edit ------------------------------------------------------------------
def _form_page(
    ctx: Ctx,
    found: Catalog,
    field: dict[str, Any],
    current: Field | None,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    types = all_types()
    ftype = types.get(field["type"]) or types["text"]
    return render(
        ctx,
        "designer/field.html",
        status=status,
        catalog=found,
        tab="fields",
        field=field,
        current=current,
        ftype=ftype,
        type_name=ftype.type,
        types=type_choices(ctx.lang),
        options_template=options_template(ftype.type),
        targets=[(c.id, c.name) for c in catalogs.list_catalogs(ctx.user) if c.system is None],
        target_views=_target_views(ctx),
        colors=designer.colors(),
        errors=errors or {},
        at=_at(ctx, found),
        back=_back(ctx),
        options_json=field.get("options_json") or json.dumps(field["options"], indent=2),
        default_editor=designer_common.default_editor(ftype, field["options"], ctx.user, ctx.lang),
        default_users=users.list_users(ctx.user) if ftype.references == "users" else [],
    )


@page
def field_new(ctx: Ctx, catalog: str) -> Response:
    """The form for a new field (`?type=` picks the type, `?at=` its position, or `?left=` /
    `?right=` a field's id; `?back=` the catalog page to return to)."""
    found = managed_catalog(ctx, catalog)
    wanted = ctx.request.query_params.get("type") or "text"
    blank: dict[str, Any] = {
        "id": None,
        "name": ctx.request.query_params.get("name", ""),
        "api_name": "",
        "type": wanted if wanted in all_types() else "text",
        "required": False,
        "unique": False,
        "indexed": False,
        "options": {},
    }
    return _form_page(ctx, found, blank, None)


@page
def field_create(ctx: Ctx, catalog: str) -> Response:
    """Add the field; with `at`, put it at that position (insert left/right of a column)."""
    found = managed_catalog(ctx, catalog)
    if ctx.field("retype"):
        return _form_page(ctx, found, _posted_field(ctx, found, None), None)
    try:
        added = catalogs.add_field(ctx.user, found.id, _spec(ctx))
    except DomainError as exc:
        errors = designer.explain(exc, ctx.lang, FIELD_INPUTS, FIELD_KEYS)
        return _form_page(ctx, found, _posted_field(ctx, found, None), None, 422, errors)
    at = _at(ctx, found)
    if at.isdecimal() and int(at) < len(found.fields):
        order = [f.id for f in found.fields]
        order.insert(int(at), added.id)
        layout.reorder_fields(ctx.user, catalogs.get_catalog(ctx.user, found.id), order)
    return _done(ctx, found, added.id)


def _current(ctx: Ctx, catalog: str, field: str) -> tuple[Catalog, Field]:
    found = managed_catalog(ctx, catalog)
    _catalog, current = catalogs.get_field(ctx.user, found.id, field)
    return found, current


@page
def field_edit(ctx: Ctx, catalog: str, field: str) -> Response:
    """The form of an existing field."""
    found, current = _current(ctx, catalog, field)
    return _form_page(ctx, found, current.to_json(), current)


@page
def field_update(ctx: Ctx, catalog: str, field: str) -> Response:
    """Save a field. A new type is first tried as a dry run and its report shown; the
    change is made when the administrator applies it (`confirm`)."""
    found, current = _current(ctx, catalog, field)
    if ctx.field("retype"):
        return _form_page(ctx, found, _posted_field(ctx, found, current), current)
    patch: dict[str, Any] = {"type": current.type}
    retyped = False
    try:
        patch = _spec(ctx)
        patch.setdefault("api_name", current.api_name)
        retyped = patch["type"] != current.type
        if retyped and not ctx.field("confirm"):
            _same, report = catalogs.update_field(ctx.user, found.id, current.id, patch, True)
            return _convert_page(ctx, found, current, patch, report)
        catalogs.update_field(ctx.user, found.id, current.id, patch)
    except DomainError as exc:
        errors = designer.explain(exc, ctx.lang, FIELD_INPUTS, FIELD_KEYS)
        report = exc.extra.get("report")
        if report is not None and retyped:
            return _convert_page(ctx, found, current, patch, report, errors, 422)
        return _form_page(ctx, found, _posted_field(ctx, found, current), current, 422, errors)
    return _done(ctx, found, current.id)


def _convert_page(
    ctx: Ctx,
    found: Catalog,
    current: Field,
    patch: dict[str, Any],
    report: dict[str, Any] | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The dry run's report: how many values convert, which fail (first examples)."""
    assert ctx.form is not None
    posted = [
        (k, v)
        for k, v in ctx.form.multi_items()
        if isinstance(v, str) and k not in ("csrf", "confirm")
    ]
    report = report or {"converted": 0, "failed_count": 0, "failed": []}
    new_type = all_types()[patch["type"]]
    return render(
        ctx,
        "designer/field_convert.html",
        status=status,
        catalog=found,
        tab="fields",
        current=current,
        old_label=type_label(current.ftype, ctx.lang),
        new_label=type_label(new_type, ctx.lang),
        report=report,
        examples=[
            {
                **f,
                "value": designer.value_text(f.get("value")),
                "message": message(f["code"], f.get("params"), ctx.lang)
                if f.get("code")
                else str(f.get("message") or ""),
            }
            for f in report["failed"][:20]
        ],
        posted=posted,
        errors=errors or {},
    )


# ----- delete ------------------------------------------------------------------------
@page
def field_delete_page(ctx: Ctx, catalog: str, field: str) -> Response:
    """What deleting the field takes with it, and the button that does it."""
    found, current = _current(ctx, catalog, field)
    return _delete_page(ctx, found, current)


def _delete_page(ctx: Ctx, found: Catalog, current: Field) -> Response:
    impact = layout.deletion_impact(ctx.user, found, current)
    return render(
        ctx,
        "designer/field_delete.html",
        catalog=found,
        tab="fields",
        current=current,
        impact=impact,
        is_title=current.id == found.title_field_id,
    )


@page
def field_delete(ctx: Ctx, catalog: str, field: str) -> Response:
    """Delete the field (its values, links and its place in views go with it)."""
    found, current = _current(ctx, catalog, field)
    catalogs.delete_field(ctx.user, found.id, current.id)
    return redirect(designer_url(ctx, found, f"/fields?deleted={quote(current.name, safe='')}"))


routes = [
    Route("/admin/catalogs/{catalog}/fields", fields_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/field-order", fields_order, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/fields/new", field_new, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/fields/new", field_create, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/fields/{field}", field_edit, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/fields/{field}", field_update, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/fields/{field}/delete", field_delete_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/fields/{field}/delete", field_delete, methods=["POST"]),
]
