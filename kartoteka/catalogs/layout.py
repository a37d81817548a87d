"""How catalogs appear in the sidebar: colour, icon, section and order; what a deletion takes.

A catalog's `options` hold its look (`color`, `icon`, `section`) and `default_view`;
`clean_options` checks those keys for `update_catalog` and keeps other keys as they are,
so the API and the catalog designer refuse the same things. `reorder_catalogs` and
`reorder_fields` write an order in one transaction, and `deletion_impact` counts what
deleting a catalog or a field takes with it, for the confirmation that names it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.context import Actor
from kartoteka.errors import Forbidden
from kartoteka.filters.names import filter_fields, sort_fields
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from .errors import BadFieldSpec
from .meta import bump_meta, invalidate
from .models import Catalog, Field

#: Colours of catalogs and select choices (the UI's `.c-<name>` classes).
COLORS = ("gray", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "brown")
#: Icons a catalog may show in the sidebar: name -> the glyph drawn (common fonts have them).
ICONS: dict[str, str] = {
    "folder": "▤",
    "people": "☺",
    "phone": "☎",
    "mail": "✉",
    "star": "★",
    "heart": "♥",
    "flag": "⚑",
    "gear": "⚙",
    "pencil": "✎",
    "check": "✓",
    "home": "⌂",
    "diamond": "◆",
    "sun": "☀",
    "music": "♫",
    "plane": "✈",
    "scales": "⚖",
    "bolt": "⚡",
    "cup": "☕",
    "money": "₽",
    "clock": "⌚",
}
MAX_SECTION = 60
MAX_CATALOGS_ORDERED = 10_000


def clean_options(options: Any, previous: dict[str, Any]) -> dict[str, Any]:
    """A catalog's new options: known keys checked, absent keys kept from `previous`."""
    if not isinstance(options, dict):
        raise BadFieldSpec.of("expected_object", "options")
    out = {**previous, **options}
    color = out.get("color")
    if color is not None and color not in COLORS:
        raise BadFieldSpec.of("unknown_color", "options.color")
    icon = out.get("icon")
    if icon is not None and icon not in ICONS:
        raise BadFieldSpec.of("unknown_icon", "options.icon")
    section = out.get("section")
    if section is not None:
        if not isinstance(section, str) or len(section.strip()) > MAX_SECTION:
            raise BadFieldSpec.of("max_length", "options.section", max=MAX_SECTION)
        out["section"] = section.strip() or None
    view = out.get("default_view")
    if view is not None and (isinstance(view, bool) or not isinstance(view, int)):
        raise BadFieldSpec.of("view_id", "options.default_view")
    return {k: v for k, v in out.items() if v is not None}


def reorder_catalogs(actor: Actor, order: Any) -> None:
    """Put catalogs in the sidebar in this order (ids or api_names; the rest follow)."""
    if not actor.is_admin:
        raise Forbidden.of("reorder_forbidden")
    if not isinstance(order, list) or len(order) > MAX_CATALOGS_ORDERED:
        raise BadFieldSpec.of("must_be_list", "order")
    meta = actor.workspace.meta()
    _reorder(actor, schema.catalogs, meta.catalogs, meta.catalog, order, "catalog")


def reorder_fields(actor: Actor, catalog: Catalog, order: Any) -> None:
    """Put a catalog's fields in this order (ids or api_names; the rest follow)."""
    if catalog.system is not None or not access.can_manage(actor, catalog):
        raise Forbidden.of("structure_forbidden")
    if not isinstance(order, list) or len(order) > len(catalog.fields) * 2 + 1:
        raise BadFieldSpec.of("must_be_list", "order")
    _reorder(actor, schema.fields, catalog.fields, catalog.field, order, "field")


def _reorder(
    actor: Actor, table: sa.Table, items: Any, lookup: Any, order: list[Any], noun: str
) -> None:
    """Store positions: `order`'s items (ids or api_names, each once) first, the rest after."""
    wanted: list[Any] = []
    for ref in order:
        found = lookup(ref) if isinstance(ref, str | int) else None
        if found is None:
            code = "order_unknown_catalog" if noun == "catalog" else "order_unknown_field"
            raise BadFieldSpec.of(code, "order", ref=ref)
        if found not in wanted:
            wanted.append(found)
    with actor.workspace.engine.begin() as conn:
        for position, item in enumerate(wanted + [i for i in items if i not in wanted]):
            if item.position != position:
                conn.execute(
                    sa.update(table).where(table.c.id == item.id).values(position=position)
                )
        bump_meta(conn)
    invalidate(actor.workspace)


def deletion_impact(actor: Actor, catalog: Catalog, field: Field | None = None) -> dict[str, Any]:
    """What deleting `catalog` (or only its `field`) takes with it, counted.

    records: records deleted (catalog) or values emptied (field); links: record-to-record
    links removed; views: saved views deleted or naming the field; webhooks: webhooks of
    the catalog (deleted) or sending the field; link_fields: link fields of other catalogs
    that point here and go too, as "Catalog: Field".
    """
    if not access.can_manage(actor, catalog):
        raise Forbidden.of("structure_forbidden")
    meta = actor.workspace.meta()
    if field is None:
        incoming = [(c, f) for c, f in meta.links_into(catalog.id) if c.id != catalog.id]
        link_ids = [f.id for f in catalog.fields if f.is_link] + [f.id for _, f in incoming]
    else:
        incoming = []
        link_ids = [field.id] if field.is_link else []
    table = catalog.table
    with read_connection(actor.workspace.engine) as conn:
        if field is None:
            records = _count(conn, sa.select(sa.func.count()).select_from(table))
        elif field.is_link:
            records = _count(
                conn,
                sa.select(sa.func.count(sa.distinct(schema.links.c.src_id))).where(
                    schema.links.c.field_id == field.id
                ),
            )
        elif field.storage_column is not None and field.ftype.storage == "column":
            col = table.c[field.storage_column]
            records = _count(conn, sa.select(sa.func.count()).where(col.is_not(None)))
        else:
            records = 0
        links = 0
        if link_ids:
            links = _count(
                conn,
                sa.select(sa.func.count())
                .select_from(schema.links)
                .where(schema.links.c.field_id.in_(link_ids)),
            )
        view_rows = conn.execute(
            sa.select(
                schema.views.c.name,
                schema.views.c.filter,
                schema.views.c.sort,
                schema.views.c.fields,
                schema.views.c.options,
            ).where(schema.views.c.catalog_id == catalog.id)
        ).all()
        hook_rows = conn.execute(
            sa.select(schema.webhooks.c.id, schema.webhooks.c.fields).where(
                schema.webhooks.c.catalog_id == catalog.id
            )
        ).all()
    if field is not None:
        view_rows = [v for v in view_rows if _names(field.api_name, v)]
        hook_rows = [h for h in hook_rows if field.api_name in (h.fields or [])]
    return {
        "records": records,
        "links": links,
        "views": [v.name for v in view_rows],
        "webhooks": len(hook_rows),
        "link_fields": [f"{c.name}: {f.name}" for c, f in incoming],
    }


def _names(api_name: str, view: Any) -> bool:
    """Whether a saved view mentions the field (columns, filter, sort or layout options)."""
    if api_name in (view.fields or []):
        return True
    if api_name in (view.options or {}).values():
        return True
    named = filter_fields(view.filter) | sort_fields(view.sort)
    return any(name.split(".")[0] == api_name for name in named)


def _count(conn: Any, query: Any) -> int:
    return int(conn.execute(query).scalar_one() or 0)
