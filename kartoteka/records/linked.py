"""What a page shows of the records its links point at, looked up in bulk.

A page's links and the titles of the records they point at are read by one statement
(`links_with_titles`): the links table joined to each target catalog, with the
reader's rule on the target as a column saying whether its title may be shown. The
statements are built once per what they are made of and run on the driver (`kept`).
`load_links` and `link_items` read the two separately, for the write path, history and
hooks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.storage import kept, schema

#: Statements kept by the identity of what they are built from (a table, a column, a
#: cached rights clause), ids bound at execution: a new statement per page had SQLAlchemy
#: key it again, for a reader with a rule on the linked catalog over the whole rule.
_statements: OrderedDict[tuple[int, ...], tuple[tuple[Any, ...], Any]] = OrderedDict()
_statements_lock = threading.Lock()
STATEMENT_CACHE_SIZE = 512


def kept_statement(parts: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """The statement `build` makes from `parts`, made once while the same objects live."""
    key = tuple(id(p) for p in parts)
    with _statements_lock:
        hit = _statements.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], parts, strict=True)):
            _statements.move_to_end(key)
            return hit[1]
    q = build()
    with _statements_lock:
        _statements[key] = (parts, q)
        while len(_statements) > STATEMENT_CACHE_SIZE:
            _statements.popitem(last=False)
    return q


def title_text(catalog: Catalog, raw: Any, record_id: int) -> str:
    """A record's title from the raw value of its title field (no rights applied)."""
    field = catalog.title_field
    if field is None or raw is None:
        return f"#{record_id}"
    text = field.ftype.to_text(field.ftype.from_db(raw, field, None), field)
    return text or f"#{record_id}"


def _raw_titles(
    conn: Connection, catalog: Catalog, ids: set[int], seen: Any = None
) -> dict[int, str]:
    """Title texts by id (no rights applied); with `seen`, a condition, only the ids of
    rows meeting it — read in the same query, so withholding titles costs no round trip."""
    field = catalog.title_field
    table = catalog.table
    col = (
        table.c[field.storage_column]
        if field is not None and field.storage_column is not None
        else sa.null()
    )
    dialect = conn.dialect.name
    q = kept_statement(
        (table, col, seen, dialect),
        lambda: sa.select(table.c.id, col).where(
            kept.in_ids(table.c.id, dialect), *([] if seen is None else [seen])
        ),
    )
    rows = kept.all_rows(conn, q, "ids", kept.ids_value(dialect, sorted(ids)))
    return {rid: title_text(catalog, raw, rid) for rid, raw in rows}


def titles(conn: Connection, actor: Actor, catalog: Catalog, ids: set[int]) -> dict[int, str]:
    """Titles of records of `catalog` the actor may see, by id, as the actor may see them.

    A title from a hidden field is `#id`, from a masked one masked. Callers pass ids of
    records the actor may see; for others use `link_items`.
    """
    if not ids:
        return {}
    view = FieldView.of(actor, catalog)
    return {rid: view.title(text, rid) for rid, text in _raw_titles(conn, catalog, ids).items()}


def link_items(
    conn: Connection, actor: Actor, field: Field, ids: set[int]
) -> dict[int, dict[str, Any]]:
    """`{"id", "title"}` of records a link field points at, as the actor may see them.

    The title of a record the actor cannot see is not shown (`{"id", "title": "#id",
    "restricted": true}`) unless the link field declares its titles public
    (`title_public`); even then the target's title-field rule applies.
    """
    if not ids:
        return {}
    target = actor.workspace.meta().catalog(field.options.get("catalog") or 0)
    if target is None:
        return {i: {"id": i, "title": f"#{i}"} for i in ids}
    texts: dict[int, str] = {}
    if field.options.get("title_public"):
        texts = _raw_titles(conn, target, ids)
    elif access.may_reach(actor, target):
        # The reader's rule on the target is part of the titles query: rows they may not
        # see come back as no row at all.
        texts = _raw_titles(conn, target, ids, access.record_filter(actor, target, "view"))
    view = FieldView.of(actor, target)
    out: dict[int, dict[str, Any]] = {}
    for i in ids:
        if i in texts:
            out[i] = {"id": i, "title": view.title(texts[i], i)}
        else:
            out[i] = {"id": i, "title": f"#{i}", "restricted": True}
    return out


def load_links(
    conn: Connection, fields: list[Field], ids: list[int]
) -> dict[int, dict[int, list[int]]]:
    """field id -> record id -> linked record ids, in link order."""
    result: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    link_fields = list({f.id: f for f in fields if f.is_link}.values())
    link_ids = [f.id for f in link_fields]
    if not link_ids or not ids:
        return result
    links = schema.links
    dialect = conn.dialect.name
    # The fields are part of the kept statement (their objects live as long as the
    # metadata), the ids its one parameter: one statement for a record or a whole batch.
    q = kept_statement(
        (links, dialect, *link_fields),
        lambda: (
            sa.select(links.c.field_id, links.c.src_id, links.c.dst_id)
            .where(
                sa.or_(*(links.c.field_id == fid for fid in link_ids)),
                kept.in_ids(links.c.src_id, dialect),
            )
            .order_by(links.c.position, links.c.dst_id)
        ),
    )
    for fid, src, dst in kept.all_rows(conn, q, "ids", kept.ids_value(dialect, ids)):
        result[fid][src].append(dst)
    return result


#: field id -> record id -> linked record ids, in link order.
Links = dict[int, dict[int, list[int]]]
#: field id -> linked record id -> its `{"id", "title"}` item as the reader may see it.
LinkTitles = dict[int, dict[int, dict[str, Any]]]
#: How a link field's titles are shown: no target catalog (`#id`), titles public, the
#: reader's rule on the target decides, or the target is out of the reader's reach.
#: Objects, not numbers: they are part of the kept statement's key, compared by identity.
_NO_TARGET, _PUBLIC, _RULED, _OUT_OF_REACH = (object() for _ in range(4))


def links_with_titles(
    conn: Connection, actor: Actor, fields: list[Field], ids: list[int]
) -> tuple[Links, LinkTitles]:
    """`load_links` and every link field's `link_items` for these records, in one
    statement: one round trip for a card or a page, whatever the number of link fields.

    Each target catalog is joined once; its title column and whether the reader may
    see the row (their rule on it, as `link_items` applies it) are columns of the row.
    """
    links: Links = defaultdict(lambda: defaultdict(list))
    titles: LinkTitles = {}
    link_fields = list({f.id: f for f in fields if f.is_link}.values())
    if not link_fields or not ids:
        return links, titles
    meta = actor.workspace.meta()
    plans: list[tuple[Field, Catalog | None, object]] = []
    targets: dict[int, Catalog] = {}
    reached: dict[int, bool] = {}
    for f in link_fields:
        target = meta.catalog(f.options.get("catalog") or 0)
        if target is None:
            plans.append((f, None, _NO_TARGET))
            continue
        if f.options.get("title_public"):
            mode = _PUBLIC
        else:
            if target.id not in reached:
                reached[target.id] = access.may_reach(actor, target)
            mode = _RULED if reached[target.id] else _OUT_OF_REACH
        if mode != _OUT_OF_REACH:
            targets.setdefault(target.id, target)
        plans.append((f, target, mode))
    joins = []
    for target in targets.values():
        ruled = any(t is target and m == _RULED for _, t, m in plans)
        seen = access.record_filter(actor, target, "view") if ruled else None
        fids = tuple(f.id for f, t, m in plans if t is target and m != _OUT_OF_REACH)
        joins.append((target, fids, seen))
    dialect = conn.dialect.name
    # Kept by what it is made of: each field with its target and how its titles show,
    # and each joined target's rule (a cached clause object).
    parts = (
        schema.links,
        dialect,
        *(p for plan in plans for p in plan),
        *(p for target, _, seen in joins for p in (target, seen)),
    )
    q = kept_statement(parts, lambda: _links_with_titles(link_fields, joins, dialect))
    rows = kept.all_rows(conn, q, "ids", kept.ids_value(dialect, ids))
    # Per target: its title text and whether the reader may see it, by linked id.
    found: list[dict[int, tuple[Any, bool]]] = [{} for _ in joins]
    for row in rows:
        fid, src, dst = row[0], row[1], row[2]
        links[fid][src].append(dst)
        for j in range(len(joins)):
            at = 3 + 3 * j
            if row[at] is not None:  # the target row exists
                found[j][dst] = (row[at + 1], bool(row[at + 2]))
    by_target = {target.id: j for j, (target, _, _) in enumerate(joins)}
    views: dict[int, FieldView] = {}
    for f, target, mode in plans:
        if f.id not in links:
            continue
        dsts = {d for ds in links[f.id].values() for d in ds}
        if target is None:
            titles[f.id] = {i: {"id": i, "title": f"#{i}"} for i in dsts}
            continue
        shown = found[by_target[target.id]] if mode != _OUT_OF_REACH else {}
        view = views.get(target.id) or views.setdefault(target.id, FieldView.of(actor, target))
        items: dict[int, dict[str, Any]] = {}
        for i in dsts:
            hit = shown.get(i)
            if hit is not None and (mode == _PUBLIC or hit[1]):
                items[i] = {"id": i, "title": view.title(title_text(target, hit[0], i), i)}
            else:
                items[i] = {"id": i, "title": f"#{i}", "restricted": True}
        titles[f.id] = items
    return links, titles


def _links_with_titles(
    link_fields: list[Field], joins: list[tuple[Catalog, tuple[int, ...], Any]], dialect: str
) -> Any:
    """SELECT field_id, src_id, dst_id and, per joined target, (its id, its title, may
    see) of the links of these fields from the records whose ids are the one parameter."""
    # An alias: a rule on a target may test that target's own links in a subquery
    # (`{"client": ...}`), which must read the links table there, not correlate to ours.
    links = schema.links.alias("page_links")
    columns: list[Any] = [links.c.field_id, links.c.src_id, links.c.dst_id]
    source: Any = links
    for i, (target, fids, seen) in enumerate(joins):
        table = target.table
        field = target.title_field
        title = (
            table.c[field.storage_column]
            if field is not None and field.storage_column is not None
            else sa.null()
        )
        may_see = sa.literal(1) if seen is None else sa.case((seen, 1), else_=0)
        columns += [
            table.c.id.label(f"t{i}_id"),
            title.label(f"t{i}_title"),
            may_see.label(f"t{i}_seen"),
        ]
        on = sa.and_(table.c.id == links.c.dst_id, _field_in(links.c.field_id, fids))
        source = source.outerjoin(table, on)
    return (
        sa.select(*columns)
        .select_from(source)
        .where(
            _field_in(links.c.field_id, tuple(f.id for f in link_fields)),
            kept.in_ids(links.c.src_id, dialect),
        )
        .order_by(links.c.position, links.c.dst_id)
    )


def _field_in(column: Any, fids: tuple[int, ...]) -> Any:
    # An OR of equalities, not IN: the kept statement takes no expanding parameter.
    return sa.or_(*(column == fid for fid in fids))
