"""Link pickers: the records a link field may point at, as the actor may see them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView
from kartoteka.catalogs.service import get_field
from kartoteka.context import Actor
from kartoteka.errors import NotFound, ValidationFailed
from kartoteka.storage.engine import read_connection
from kartoteka.storage.fulltext import fold_sql, fold_text, like_escape

from .linked import titles
from .query import compile_filter


def link_choices(
    actor: Actor, catalog_ref: str | int, field_ref: str, search: str | None, limit: int = 20
) -> list[dict[str, Any]]:
    """Records a link field may point at, as the actor may see them (never more)."""
    catalog, field = get_field(actor, catalog_ref, field_ref)
    access.require_catalog(actor, catalog)
    if access.field_rules(actor, catalog).get(field.api_name) == "hidden":
        # As for a field that does not exist: a hidden field's name is not confirmed.
        raise NotFound.of("field_not_found", None, ref=field_ref, catalog=catalog.api_name)
    if not field.is_link:
        raise ValidationFailed.of("picker_not_link", "field", field=field.api_name)
    target = actor.workspace.meta().catalog(field.options.get("catalog") or 0)
    if target is None:
        raise NotFound.of("picker_catalog_gone")
    table = target.table
    q = sa.select(table.c.id)
    rights = access.record_filter(actor, target, "view")
    if rights is not None:
        q = q.where(rights)
    view_id = field.options.get("view")
    if view_id:
        found = actor.workspace.meta().view_filters.get(view_id)
        clause = (
            compile_filter(Actor.system(actor.workspace), target, found[1]) if found else sa.false()
        )
        if clause is not None:
            q = q.where(clause)
    title = target.title_field
    # Searching a hidden or masked title would be an oracle for its value: such titles
    # are searched by record id only.
    searchable = FieldView.of(actor, target).title_searchable()
    if search and searchable and title is not None and title.storage_column:
        # The same folding as the `icontains` filter: Unicode case and ё/е on every database.
        pattern = "%" + like_escape(fold_text(search, actor.fold_yo)) + "%"
        column = fold_sql(table.c[title.storage_column], actor.fold_yo)
        q = q.where(column.like(pattern, escape="\\"))
    elif search and search.isdigit():
        q = q.where(table.c.id == int(search))
    elif search:
        q = q.where(sa.false())
    q = q.order_by(table.c.id).limit(max(1, min(limit, 200)))
    with read_connection(actor.workspace.engine) as conn:
        ids = [r[0] for r in conn.execute(q)]
        names = titles(conn, actor, target, set(ids))
    return [{"id": i, "title": names.get(i, f"#{i}")} for i in ids]
