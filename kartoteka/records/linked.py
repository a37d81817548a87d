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


def _title_column(catalog: Catalog) -> Any:
    """The catalog table's column holding its records' titles (NULL without one)."""
    field = catalog.title_field
    if field is None or field.storage_column is None:
        return sa.null()
    return catalog.table.c[field.storage_column]


def _raw_titles(
    conn: Connection, catalog: Catalog, ids: set[int], seen: Any = None
) -> dict[int, str]:
    """Title texts by id (no rights applied); with `seen`, a condition, only the ids of
    rows meeting it — read in the same query, so withholding titles costs no round trip."""
    table, col = catalog.table, _title_column(catalog)
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


#: field id -> record id -> linked record ids, in link order.
Links = dict[int, dict[int, list[int]]]
#: linked record id -> its `{"id", "title"}` item as the reader may see it.
Items = dict[int, dict[str, Any]]
#: field id -> the items of what it links to.
LinkTitles = dict[int, Items]
#: How a link field's titles are shown: no target catalog (`#id`), titles public, the
#: reader's rule on the target decides, or the target is out of the reader's reach.
#: Objects, not numbers: they are part of the kept statement's key, compared by identity.
_NO_TARGET, _PUBLIC, _RULED, _OUT_OF_REACH = (object() for _ in range(4))


def _titles_shown(actor: Actor, field: Field) -> tuple[Catalog | None, object]:
    """A link field's target catalog and how its titles are shown to the actor."""
    target = actor.workspace.meta().catalog(field.options.get("catalog") or 0)
    if target is None:
        return None, _NO_TARGET
    if field.options.get("title_public"):
        return target, _PUBLIC
    return target, _RULED if access.may_reach(actor, target) else _OUT_OF_REACH


def _items(actor: Actor, target: Catalog | None, ids: set[int], texts: dict[int, str]) -> Items:
    """The items of `ids` with the title texts the actor may read (`texts`); the others'
    titles withheld (`restricted`). Without a target catalog, `#id` alone."""
    if target is None:
        return {i: {"id": i, "title": f"#{i}"} for i in ids}
    view = FieldView.of(actor, target)
    return {
        i: {"id": i, "title": view.title(texts[i], i)}
        if i in texts
        else {"id": i, "title": f"#{i}", "restricted": True}
        for i in ids
    }


def link_items(conn: Connection, actor: Actor, field: Field, ids: set[int]) -> Items:
    """`{"id", "title"}` of records a link field points at, as the actor may see them.

    The title of a record the actor cannot see is not shown (`{"id", "title": "#id",
    "restricted": true}`) unless the link field declares its titles public
    (`title_public`); even then the target's title-field rule applies.
    """
    if not ids:
        return {}
    target, mode = _titles_shown(actor, field)
    texts: dict[int, str] = {}
    if target is not None and mode is _PUBLIC:
        texts = _raw_titles(conn, target, ids)
    elif target is not None and mode is _RULED:
        # The reader's rule on the target is part of the titles query: rows they may not
        # see come back as no row at all.
        texts = _raw_titles(conn, target, ids, access.record_filter(actor, target, "view"))
    return _items(actor, target, ids, texts)


def _link_fields(fields: list[Field]) -> list[Field]:
    """The link fields among `fields`, each once."""
    return list({f.id: f for f in fields if f.is_link}.values())


def _field_in(column: Any, fids: tuple[int, ...]) -> Any:
    # An OR of equalities, not IN: the kept statement takes no expanding parameter.
    return sa.or_(*(column == fid for fid in fids))


def load_links(conn: Connection, fields: list[Field], ids: list[int]) -> Links:
    """field id -> record id -> linked record ids, in link order."""
    result: Links = defaultdict(lambda: defaultdict(list))
    link_fields = _link_fields(fields)
    if not link_fields or not ids:
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
                _field_in(links.c.field_id, tuple(f.id for f in link_fields)),
                kept.in_ids(links.c.src_id, dialect),
            )
            .order_by(links.c.position, links.c.dst_id)
        ),
    )
    for fid, src, dst in kept.all_rows(conn, q, "ids", kept.ids_value(dialect, ids)):
        result[fid][src].append(dst)
    return result


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
    link_fields = _link_fields(fields)
    if not link_fields or not ids:
        return links, titles
    plans = [(f, *_titles_shown(actor, f)) for f in link_fields]
    # Each target whose titles some field shows, once: (target, its fields, its rule).
    joins: list[tuple[Catalog, tuple[int, ...], Any]] = []
    for target in {
        t.id: t for _, t, m in plans if t is not None and m is not _OUT_OF_REACH
    }.values():
        ruled = any(t is target and m is _RULED for _, t, m in plans)
        fids = tuple(f.id for f, t, m in plans if t is target and m is not _OUT_OF_REACH)
        joins.append((target, fids, access.record_filter(actor, target, "view") if ruled else None))
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
    # Per joined target: (its raw title, may the reader see it) by linked id.
    found: dict[int, dict[int, tuple[Any, bool]]] = {target.id: {} for target, _, _ in joins}
    for row in kept.all_rows(conn, q, "ids", kept.ids_value(dialect, ids)):
        dst = row[2]
        links[row[0]][row[1]].append(dst)
        for j, (target, _, _) in enumerate(joins):
            at = 3 + 3 * j
            if row[at] is not None:  # the target row exists
                found[target.id][dst] = (row[at + 1], bool(row[at + 2]))
    for f, linked_to, mode in plans:
        if f.id not in links:
            continue
        dsts = {d for ds in links[f.id].values() for d in ds}
        texts: dict[int, str] = {}
        if linked_to is not None and mode is not _OUT_OF_REACH:
            shown = found[linked_to.id]
            for i in dsts:
                hit = shown.get(i)
                if hit is not None and (mode is _PUBLIC or hit[1]):
                    texts[i] = title_text(linked_to, hit[0], i)
        titles[f.id] = _items(actor, linked_to, dsts, texts)
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
        may_see = sa.literal(1) if seen is None else sa.case((seen, 1), else_=0)
        columns += [
            table.c.id.label(f"t{i}_id"),
            _title_column(target).label(f"t{i}_title"),
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
