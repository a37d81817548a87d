"""Saved views: a named filter, sort, field list and layout options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.catalogs.service import bump_meta, get_catalog, invalidate, require_manage
from kartoteka.context import Actor
from kartoteka.errors import NotFound, ValidationFailed, problem
from kartoteka.fields.registry import all_types
from kartoteka.filters.compiler import SEARCH, check_search, compile_filter
from kartoteka.filters.names import filter_fields, sort_fields
from kartoteka.filters.sorts import parse_sort
from kartoteka.storage import counters, schema
from kartoteka.storage.engine import read_connection

VIEW_TYPES = ("table", "kanban", "calendar", "gantt", "gallery")
#: Options each view type needs, and the role (a field type's `view_roles`) each names.
REQUIRED_OPTIONS: dict[str, dict[str, str]] = {
    "kanban": {"group_field": "group"},
    "calendar": {"date_field": "date"},
    "gantt": {"start_field": "span", "end_field": "span"},
}


def _groups_rows(f: Field) -> bool:
    """A table may group its rows as a kanban makes columns (a choice, a person, a linked
    record, yes/no: a record with several is under its first) or by a day."""
    return bool({"group", "date"} & f.ftype.view_roles)


def _links_here(f: Field) -> bool:
    """A Gantt's dependencies: a link field to the same catalog (`link.options.catalog`)."""
    return f.is_link and f.options.get("catalog") == f.catalog_id


#: Options a view type may have, and what their field must be able to do: a table's
#: grouping, a kanban column's sum adds numbers, a Gantt's dependencies link the catalog
#: to itself, a gallery's cover comes from a file field.
OPTIONAL_OPTIONS: dict[str, dict[str, Callable[[Field], bool]]] = {
    "table": {"group_by": _groups_rows},
    "kanban": {"sum_field": lambda f: f.ftype.cell == "number"},
    "gantt": {"depends_field": _links_here},
    "gallery": {"image_field": lambda f: f.ftype.references == "files"},
}

#: Views live in an INTEGER column on both databases.
MAX_VIEW_ID = 2**31 - 1


class ViewNotFound(NotFound):
    """No such view in this catalog."""


def _row_json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "catalog": r.catalog_id,
        "name": r.name,
        "type": r.type,
        "filter": r.filter,
        "sort": r.sort,
        "fields": r.fields or [],
        "options": r.options or {},
        "position": r.position,
    }


def list_views(actor: Actor, catalog_ref: str | int) -> list[dict[str, Any]]:
    """Views of a catalog in display order, as the actor may see them (`shown_view`)."""
    catalog = get_catalog(actor, catalog_ref)
    access.require_catalog(actor, catalog)
    v = schema.views
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(
            sa.select(v).where(v.c.catalog_id == catalog.id).order_by(v.c.position, v.c.id)
        ).all()
    shown = (shown_view(actor, catalog, r) for r in rows)
    return [view for view in shown if view is not None]


def read_view(actor: Actor, catalog_ref: str | int, view_id: Any) -> dict[str, Any]:
    """One view for the API, as the actor may see it (a view they may not see: 404)."""
    catalog = get_catalog(actor, catalog_ref)
    shown = shown_view(actor, catalog, _view_row(actor, catalog, view_id))
    if shown is None:
        raise ViewNotFound.of("view_not_found", None, ref=view_id, catalog=catalog.api_name)
    return shown


def shown_view(actor: Actor, catalog: Catalog, row: Any) -> dict[str, Any] | None:
    """A view as the actor may see it, or None when they may not see it at all.

    A filter is a question about values ("sum insured over 10 million") and may name
    fields hidden from the reader, so the full view goes to administrators, managers of
    the catalog and the view's author. Others do not see rights views (the rule of
    someone's access) at all, and see the filter and sort of other views only when
    every field they name is one the reader reads in clear; otherwise both are null
    and the view says `"restricted": true` (it still works by id: `?view=`).
    """
    view = _row_json(row)
    if is_personal(row) and not _authored(actor, row):
        return None
    if access.can_manage(actor, catalog) or (
        actor.user_id is not None and row.created_by == actor.user_id
    ):
        return view
    if (row.options or {}).get("rights_view"):
        return None
    fv = FieldView.of(actor, catalog)
    named = filter_fields(row.filter) | sort_fields(row.sort)
    if not all(_readable(actor, catalog, fv, name) for name in named):
        view["filter"] = view["sort"] = None
        view["restricted"] = True
    view["fields"] = [f for f in view["fields"] if fv.shows(f)]
    return view


def is_personal(row: Any) -> bool:
    """A personal view: its author's alone (`options.personal`), hidden from everyone else."""
    return (row.options or {}).get("personal") is True


def _authored(actor: Actor, row: Any) -> bool:
    return actor.user_id is not None and row.created_by == actor.user_id


def _require_change(actor: Actor, catalog: Catalog, personal: bool, row: Any = None) -> None:
    """Shared views are changed by those who manage the catalog; a personal view by its
    author, who needs only to see the catalog (so any reader may keep their own views)."""
    others = personal and row is not None and not _authored(actor, row)
    if others and not access.can_manage(actor, catalog):
        # Someone else's personal view does not exist for this reader.
        raise ViewNotFound.of("view_not_found", None, ref=row.id, catalog=catalog.api_name)
    if personal and (row is None or _authored(actor, row)):
        access.require_catalog(actor, catalog)
    else:
        require_manage(actor, catalog)


def _readable(actor: Actor, catalog: Catalog, fv: FieldView, name: str) -> bool:
    """Whether the reader reads the field (or `link.field` through one hop) in clear."""
    if name == SEARCH and SEARCH not in catalog.by_api_name:
        return True  # the whole-record search: it matches only what each reader reads
    head, _, rest = name.partition(".")
    if not fv.clear(head):
        return False
    if not rest:
        return True
    link = catalog.by_api_name.get(head)
    target = actor.workspace.meta().catalog((link.options if link else {}).get("catalog") or 0)
    if target is None or not access.can_see_catalog(actor, target):
        return False
    return FieldView.of(actor, target).clear(rest)


def get_view(actor: Actor, catalog_ref: str | int, view_id: Any) -> dict[str, Any]:
    """One view of a catalog, or ViewNotFound."""
    return _row_json(_view_row(actor, get_catalog(actor, catalog_ref), view_id))


def _view_row(actor: Actor, catalog: Catalog, view_id: Any) -> Any:
    """The stored row of one view of a catalog the actor may open, or ViewNotFound."""
    access.require_catalog(actor, catalog)
    try:
        vid = int(view_id)
    except (TypeError, ValueError):
        raise ViewNotFound.of(
            "view_not_found", None, ref=view_id, catalog=catalog.api_name
        ) from None
    if not 0 < vid <= MAX_VIEW_ID:
        # Beyond the id column's range no view exists, and the database refuses the bind.
        raise ViewNotFound.of("view_not_found", None, ref=view_id, catalog=catalog.api_name)
    v = schema.views
    with read_connection(actor.workspace.engine) as conn:
        row = conn.execute(sa.select(v).where(v.c.id == vid, v.c.catalog_id == catalog.id)).first()
    if row is None:
        raise ViewNotFound.of("view_not_found", None, ref=view_id, catalog=catalog.api_name)
    return row


def view_filter(actor: Actor, catalog: Catalog, view_id: Any) -> Any:
    """The stored filter of a view (used by link fields restricted to a view)."""
    return get_view(actor, catalog.id, view_id)["filter"]


def _clean(actor: Actor, catalog: Catalog, spec: Any, partial: bool) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValidationFailed.of("body_object", "body")
    unknown = set(spec) - {"name", "type", "filter", "sort", "fields", "options", "position", "id"}
    if unknown:
        raise ValidationFailed(errors=[problem("unknown_key", k) for k in sorted(unknown)])
    out: dict[str, Any] = {}
    if "name" in spec or not partial:
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ValidationFailed.of("name_length", "name")
        out["name"] = name.strip()
    if "type" in spec or not partial:
        vtype = spec.get("type", "table")
        if vtype not in VIEW_TYPES:
            raise ValidationFailed.of("view_type", "type", allowed=", ".join(VIEW_TYPES))
        out["type"] = vtype
    if "filter" in spec:
        # validates (a search's query too; its index is made ready when the view is read)
        compile_filter(actor, catalog, spec["filter"], rights=access, search=check_search)
        out["filter"] = spec["filter"] or None
    if "sort" in spec:
        parse_sort(actor, catalog, spec["sort"], rights=access)
        out["sort"] = spec["sort"] or None
    if "fields" in spec:
        fields = spec["fields"] or []
        if not isinstance(fields, list) or any(f not in catalog.by_api_name for f in fields):
            raise ValidationFailed.of("view_fields", "fields")
        out["fields"] = fields
    if "options" in spec:
        if not isinstance(spec["options"], dict):
            raise ValidationFailed.of("expected_object", "options")
        out["options"] = spec["options"]
    if "position" in spec:
        if not isinstance(spec["position"], int) or isinstance(spec["position"], bool):
            raise ValidationFailed.of("integer", "position")
        out["position"] = spec["position"]
    return out


def _check_options(catalog: Catalog, vtype: str, options: dict[str, Any]) -> None:
    if not isinstance(options.get("personal", False), bool):
        raise ValidationFailed.of("boolean", "options.personal")
    for key, able in OPTIONAL_OPTIONS.get(vtype, {}).items():
        ref = options.get(key)
        if ref is None or ref == "":
            options.pop(key, None)
            continue
        field = catalog.field(ref) if isinstance(ref, str | int) else None
        if field is None or not able(field):
            raise ValidationFailed.of("view_field_unusable", f"options.{key}")
        options[key] = field.api_name
    for key, role in REQUIRED_OPTIONS.get(vtype, {}).items():
        ref = options.get(key)
        field = catalog.field(ref) if isinstance(ref, str | int) else None
        if field is None:
            raise ValidationFailed.of("view_option_required", f"options.{key}", type=vtype)
        if role not in field.ftype.view_roles:
            types = [name for name, t in all_types().items() if role in t.view_roles]
            raise ValidationFailed.of("view_field_type", f"options.{key}", types=", ".join(types))
        options[key] = field.api_name


def create_view(actor: Actor, catalog_ref: str | int, spec: Any) -> dict[str, Any]:
    """Save a new view."""
    catalog = get_catalog(actor, catalog_ref)
    values = _clean(actor, catalog, spec, partial=False)
    values.setdefault("options", {})
    _require_change(actor, catalog, values["options"].get("personal") is True)
    _check_options(catalog, values["type"], values["options"])
    with actor.workspace.engine.begin() as conn:
        vid = counters.insert_id(
            conn,
            sa.insert(schema.views).values(
                catalog_id=catalog.id, created_by=actor.user_id, **values
            ),
        )
        bump_meta(conn)
    invalidate(actor.workspace)
    return get_view(actor, catalog.id, vid)


def update_view(actor: Actor, catalog_ref: str | int, view_id: Any, patch: Any) -> dict[str, Any]:
    """Change a saved view."""
    catalog = get_catalog(actor, catalog_ref)
    row = _view_row(actor, catalog, view_id)
    current = _row_json(row)
    _require_change(actor, catalog, is_personal(row), row)
    values = _clean(actor, catalog, patch, partial=True)
    options = values.get("options", current["options"])
    if isinstance(options, dict) and options.get("personal") is not True:
        # Sharing a view (or changing a shared one) is for those who manage the catalog.
        _require_change(actor, catalog, False)
    _check_options(catalog, values.get("type", current["type"]), options)
    if "options" in values or "type" in values:
        values["options"] = options
    if values:
        with actor.workspace.engine.begin() as conn:
            conn.execute(
                sa.update(schema.views).where(schema.views.c.id == current["id"]).values(values)
            )
            bump_meta(conn)
        invalidate(actor.workspace)
    return get_view(actor, catalog.id, current["id"])


def delete_view(actor: Actor, catalog_ref: str | int, view_id: Any) -> None:
    """Delete a saved view; link fields that offered only its records offer any record."""
    catalog = get_catalog(actor, catalog_ref)
    row = _view_row(actor, catalog, view_id)
    _require_change(actor, catalog, is_personal(row), row)
    with actor.workspace.engine.begin() as conn:
        conn.execute(sa.delete(schema.views).where(schema.views.c.id == row.id))
        for _source, link in actor.workspace.meta().links_into(catalog.id):
            if link.options.get("view") == row.id:
                # A link restricted to a view that is gone would refuse every record.
                kept = {k: v for k, v in link.options.items() if k != "view"}
                conn.execute(
                    sa.update(schema.fields)
                    .where(schema.fields.c.id == link.id)
                    .values(options=kept)
                )
        bump_meta(conn)
    invalidate(actor.workspace)
