"""Records service: the functions every caller (API, UI, import, scenarios) uses."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from kartoteka.access import keys as access_keys
from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView, require_visible, visible_ids
from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, TooLarge
from kartoteka.fields.datetime import render_datetime
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection
from kartoteka.views.service import get_view

from . import hooks, query, snapshots, write
from .errors import RecordInvalid, RecordNotFound
from .read import Renderer, load_links, titles

MAX_BATCH = 1000
MAX_LIMIT = 1000
DEFAULT_LIMIT = 50


def get_catalog(actor: Actor, ref: str | int) -> Catalog:
    """A catalog the actor has some access to (404 if unknown, 403 without a grant)."""
    catalog = catalogs.get_catalog(actor, ref)
    access.require_catalog(actor, catalog)
    return catalog


def _require_writable(catalog: Catalog) -> None:
    """System catalogs are read-only here: their rows change through their own API."""
    if catalog.system is not None:
        raise Forbidden(
            f"records of the system catalog {catalog.api_name!r} are read-only here; "
            f"change them at {catalog.system.managed_at}"
        )


def _read(actor: Actor):
    return read_connection(actor.workspace.engine)


def _history_value(f: Field, db_value: Any) -> Any:
    """A compact JSON form of a stored value for history and events."""
    if f.type == "link":
        return list(db_value or [])
    ref = f.ftype.references
    if ref:
        ids = f.ftype.referenced_ids(db_value)
        return ids if (f.options.get("multiple", ref == "files")) else (ids[0] if ids else None)
    return f.ftype.from_db(db_value, f, None)


def _changes(catalog: Catalog, old: dict[int, Any], new: dict[int, Any]) -> dict[str, Any]:
    out = {}
    for fid, value in new.items():
        f = catalog.by_id[fid]
        before = old.get(fid)
        if f.type == "link":
            if list(before or []) == list(value or []):
                continue
        elif before == value or (f.ftype.is_empty(before) and f.ftype.is_empty(value)):
            continue
        out[f.api_name] = {"old": _history_value(f, before), "new": _history_value(f, value)}
    return out


def _old_values(
    catalog: Catalog, row: Any, links: dict[int, dict[int, list[int]]], fids: list[int]
) -> dict[int, Any]:
    m = row._mapping
    out = {}
    for fid in fids:
        f = catalog.by_id[fid]
        out[fid] = links.get(fid, {}).get(row.id, []) if f.type == "link" else m[f.column]
    return out


# ----- writes ----------------------------------------------------------------------------
def create_record(actor: Actor, catalog_ref: str | int, values: Any) -> dict[str, Any]:
    """Create one record; returns it as the API shows it."""
    result = batch(actor, catalog_ref, {"create": [{"values": values}]}, single=True)
    return get_record(actor, catalog_ref, result["created"][0])


def update_record(
    actor: Actor, catalog_ref: str | int, record_id: int, values: Any
) -> dict[str, Any]:
    """Change the given fields of one record."""
    batch(actor, catalog_ref, {"update": [{"id": record_id, "values": values}]}, single=True)
    return get_record(actor, catalog_ref, record_id)


def delete_record(actor: Actor, catalog_ref: str | int, record_id: int) -> None:
    """Delete one record (links to it are removed and noted in the linking records' history)."""
    batch(actor, catalog_ref, {"delete": [record_id]}, single=True)


def _parse_batch(body: Any) -> tuple[list, list, list, dict | None]:
    if not isinstance(body, dict):
        raise RecordInvalid("the body must be an object", fields={"body": "must be an object"})
    unknown = set(body) - {"create", "update", "delete", "upsert"}
    if unknown:
        raise RecordInvalid(
            f"unknown key(s): {', '.join(sorted(unknown))}",
            fields={k: "unknown key" for k in unknown},
        )
    create = body.get("create") or []
    update = body.get("update") or []
    delete = body.get("delete") or []
    upsert = body.get("upsert")
    for key, value in (("create", create), ("update", update), ("delete", delete)):
        if not isinstance(value, list):
            raise RecordInvalid(f"{key} must be a list", fields={key: "must be a list"})
    if upsert is not None and (
        not isinstance(upsert, dict) or not isinstance(upsert.get("items"), list)
    ):
        raise RecordInvalid(
            "upsert must be {key, items}", fields={"upsert": "must be {key, items}"}
        )
    total = len(create) + len(update) + len(delete) + len((upsert or {}).get("items") or [])
    if total > MAX_BATCH:
        raise TooLarge(f"at most {MAX_BATCH} records per batch (got {total})")
    return create, update, delete, upsert


def _item_values(item: Any, index: int, where: str) -> Any:
    if not isinstance(item, dict) or "values" not in item:
        raise write.fail(index, where, {"values": 'each item must be {"values": {...}}'})
    return item["values"]


def _record_id(value: Any, index: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        if isinstance(value, str) and value.isdecimal():
            return int(value)
        raise write.fail(index, where, {"id": "must be a record id"})
    return value


def batch(
    actor: Actor, catalog_ref: str | int, body: Any, single: bool = False
) -> dict[str, list[int]]:
    """Create, update, delete and upsert up to 1000 records in one transaction, all or nothing."""
    catalog = get_catalog(actor, catalog_ref)
    _require_writable(catalog)
    create, update, delete, upsert = _parse_batch(body)
    idx = None if single else 0
    if create and not access.can_create(actor, catalog):
        raise Forbidden(f"you may not create records in {catalog.api_name!r}")
    rules = access.field_rules(actor, catalog)
    creates = [
        write.prepare(
            actor,
            catalog,
            _item_values(it, i, "create"),
            True,
            None if single else i,
            "create",
            rules=rules,
        )
        for i, it in enumerate(create)
    ]
    updates = []
    for i, it in enumerate(update):
        if not isinstance(it, dict):
            raise write.fail(
                idx if single else i, "update", {"id": "each item must be {id, values}"}
            )
        rid = _record_id(it.get("id"), i, "update")
        updates.append(
            write.prepare(
                actor,
                catalog,
                _item_values(it, i, "update"),
                False,
                None if single else i,
                "update",
                rid,
                rules=rules,
            )
        )
    delete_ids = [_record_id(v, i, "delete") for i, v in enumerate(delete)]
    upsert_items = _prepare_upsert(actor, catalog, upsert)
    if upsert and upsert_items:
        # Matching keys is a read; a key created concurrently meets the unique check below.
        with _read(actor) as conn:
            _split_upsert(conn, actor, catalog, upsert, upsert_items, creates, updates)
        if len(creates) > len(create) and not access.can_create(actor, catalog):
            raise Forbidden(f"you may not create records in {catalog.api_name!r}")
    if len({u.record_id for u in updates}) != len(updates):
        raise RecordInvalid("a record appears twice in update", fields={"update": "duplicate id"})
    if hooks.interested(actor, catalog):
        # Request webhooks are called before the write transaction, never while it
        # holds locks; they see the changes as computed from a read just before.
        with _read(actor) as conn:
            pending = _pending_changes(conn, actor, catalog, creates, updates, delete_ids)
        hooks.run_before_write(actor, catalog, pending)
    with actor.workspace.engine.begin() as conn:
        seqs = _apply(conn, actor, catalog, creates, updates, delete_ids)
    if seqs[0]:
        hooks.run_after_commit(actor, *seqs)
    result = {
        "created": _ids(creates),
        "updated": _ids(updates),
        "deleted": delete_ids,
    }
    if upsert_items:
        result["upserted"] = _ids(upsert_items)
    return result


def _ids(items: Iterable[write.Prepared]) -> list[int]:
    return [i.record_id for i in items if i.record_id is not None]


def _prepare_upsert(actor: Actor, catalog: Catalog, upsert: dict | None) -> list[write.Prepared]:
    if not upsert:
        return []
    key = catalog.by_api_name.get(str(upsert.get("key")))
    if key is None or not key.unique:
        raise RecordInvalid(
            "upsert.key must be the api_name of a unique field",
            fields={"upsert.key": "must be a unique field"},
        )
    items = []
    for i, it in enumerate(upsert["items"]):
        values = _item_values(it, i, "upsert")
        prepared = write.prepare(actor, catalog, values, False, i, "upsert")
        if prepared.columns.get(key.col) is None:
            raise write.fail(i, "upsert", {key.api_name: "the upsert key needs a value"})
        items.append(prepared)
    return items


def _split_upsert(
    conn,
    actor: Actor,
    catalog: Catalog,
    upsert: dict,
    items: list[write.Prepared],
    creates: list,
    updates: list,
) -> None:
    key = catalog.by_api_name[upsert["key"]]
    # Only records the actor may see are matched (access.keys): a key held by a record
    # they cannot see makes a create, which meets the unique check like any create.
    existing = access_keys.match_visible(
        conn, actor, catalog, [key], [(i.columns[key.col],) for i in items]
    )
    for item in items:
        matched = existing.get((item.columns[key.col],))
        if not matched:
            for f in catalog.fields:
                if f.required and f.id not in item.given:
                    raise write.fail(item.index, "upsert", {f.api_name: "required"})
            item.upserted = True  # type: ignore[attr-defined]
            creates.append(item)
        else:
            item.record_id = matched[0]
            updates.append(item)


def _create_changes(catalog: Catalog, item: write.Prepared) -> dict[str, Any]:
    return {
        catalog.by_id[fid].api_name: {"old": None, "new": _history_value(catalog.by_id[fid], v)}
        for fid, v in item.given.items()
        if not catalog.by_id[fid].ftype.is_empty(v)
    }


def _pending_changes(
    conn, actor: Actor, catalog: Catalog, creates, updates, delete_ids
) -> list[hooks.PendingChange]:
    """What the write will do, for before-write hooks (computed on a read connection)."""
    pending = [
        hooks.PendingChange(
            "create",
            None,
            {k: c["new"] for k, c in _create_changes(catalog, i).items()},
            index=i.index,
        )
        for i in creates
    ]
    if updates:
        index_of = {u.record_id: u.index for u in updates}
        current = write.load_current(
            conn, actor, catalog, _ids(updates), "edit", "update", index_of
        )
        for entry, item in _update_entries(conn, catalog, updates, current):
            changes = entry["changes"]
            pending.append(
                hooks.PendingChange(
                    "update",
                    item.record_id,
                    {k: c["new"] for k, c in changes.items()},
                    {k: c["old"] for k, c in changes.items()},
                    item.index,
                )
            )
    if delete_ids:
        for index, entry in enumerate(_delete_entries(conn, actor, catalog, delete_ids)):
            pending.append(
                hooks.PendingChange(
                    "delete",
                    entry["record_id"],
                    {},
                    {k: c["old"] for k, c in entry["changes"].items()},
                    index,
                )
            )
    return pending


def _apply(conn, actor: Actor, catalog: Catalog, creates, updates, delete_ids) -> tuple[int, int]:
    entries: list[dict[str, Any]] = []
    write.check_references(conn, actor, catalog, creates, "create")
    current = {}
    if updates:
        index_of = {u.record_id: u.index for u in updates}
        current = write.load_current(
            conn, actor, catalog, [u.record_id for u in updates], "edit", "update", index_of
        )
        write.check_references(conn, actor, catalog, updates, "update")
    write.check_unique(conn, catalog, creates + updates, "create" if creates else "update")
    write.insert_rows(conn, actor, catalog, creates)
    access.verify_rows(conn, actor, catalog, _ids(creates), "create")
    for item in creates:
        entries.append(
            {
                "record_id": item.record_id,
                "action": "create",
                "changes": _create_changes(catalog, item),
            }
        )
    if updates:
        entries += _apply_updates(conn, actor, catalog, updates, current)
    if delete_ids:
        entries += _apply_deletes(conn, actor, catalog, delete_ids)
    return write.record_events(conn, actor, catalog, entries)


def _update_entries(conn, catalog: Catalog, updates, current) -> list[tuple[dict[str, Any], Any]]:
    """(history entry, item) for every update that changes something."""
    link_fields = [catalog.by_id[fid] for u in updates for fid in u.links]
    links = load_links(conn, link_fields, _ids(updates))
    out = []
    for item in updates:
        old = _old_values(catalog, current[item.record_id], links, list(item.given))
        changes = _changes(catalog, old, item.given)
        if changes:
            out.append(
                ({"record_id": item.record_id, "action": "update", "changes": changes}, item)
            )
    return out


def _apply_updates(conn, actor, catalog: Catalog, updates, current) -> list[dict[str, Any]]:
    entries, changed_items = [], []
    for entry, item in _update_entries(conn, catalog, updates, current):
        changed = {catalog.by_api_name[a].id for a in entry["changes"]}
        item.columns = {
            catalog.by_id[fid].col: v
            for fid, v in item.given.items()
            if fid in changed and catalog.by_id[fid].type != "link"
        }
        item.links = {fid: ids for fid, ids in item.links.items() if fid in changed}
        changed_items.append(item)
        entries.append(entry)
    write.update_rows(conn, actor, catalog, changed_items)
    access.verify_rows(conn, actor, catalog, _ids(changed_items), "update")
    return entries


def _delete_entries(conn, actor, catalog: Catalog, ids: list[int]) -> list[dict[str, Any]]:
    """History entries (all old values) of records about to be deleted; 404 if not allowed."""
    rows = write.load_current(
        conn, actor, catalog, ids, "delete", "delete", {rid: i for i, rid in enumerate(ids)}
    )
    link_fields = [f for f in catalog.fields if f.type == "link"]
    links = load_links(conn, link_fields, ids)
    stored = [f.id for f in catalog.fields if f.column or f.type == "link"]
    entries = []
    for rid in ids:
        old = _old_values(catalog, rows[rid], links, stored)
        changes = {
            catalog.by_id[fid].api_name: {"old": _history_value(catalog.by_id[fid], v), "new": None}
            for fid, v in old.items()
            if not catalog.by_id[fid].ftype.is_empty(v)
        }
        entries.append(
            {
                "record_id": rid,
                "action": "delete",
                "changes": changes,
                # Kept with the event so rights can be judged after the row is gone.
                "row": snapshots.snapshot(rows[rid]),
            }
        )
    return entries


def _apply_deletes(conn, actor, catalog: Catalog, ids: list[int]) -> list[dict[str, Any]]:
    entries = _delete_entries(conn, actor, catalog, ids)
    entries += _unlink_incoming(conn, actor, catalog, ids)
    link_fields = [f.id for f in catalog.fields if f.type == "link"]
    lt = schema.links
    if link_fields:
        conn.execute(sa.delete(lt).where(lt.c.field_id.in_(link_fields), lt.c.src_id.in_(ids)))
    ft = schema.files
    conn.execute(
        sa.update(ft)
        .where(ft.c.catalog_id == catalog.id, ft.c.record_id.in_(ids))
        .values(record_id=None, catalog_id=None, field_id=None)
    )
    table = catalog.table
    conn.execute(sa.delete(table).where(table.c.id.in_(ids)))
    return entries


def _unlink_incoming(conn, actor, catalog: Catalog, ids: list[int]) -> list[dict[str, Any]]:
    """Remove links pointing at deleted records; each linking record gets a history entry."""
    meta = actor.workspace.meta()
    lt = schema.links
    entries: list[dict[str, Any]] = []
    for source, f in meta.links_into(catalog.id):
        rows = conn.execute(
            sa.select(lt.c.src_id, lt.c.dst_id).where(lt.c.field_id == f.id, lt.c.dst_id.in_(ids))
        ).all()
        if not rows:
            continue
        sources = sorted(
            {r.src_id for r in rows if not (source.id == catalog.id and r.src_id in ids)}
        )
        # One query for every linking record's current list (not one per record).
        before = load_links(conn, [f], sources)[f.id]
        conn.execute(sa.delete(lt).where(lt.c.field_id == f.id, lt.c.dst_id.in_(ids)))
        source_entries = [
            {
                "record_id": src,
                "action": "update",
                "changes": {
                    f.api_name: {
                        "old": before[src],
                        "new": [d for d in before[src] if d not in ids],
                    }
                },
            }
            for src in sources
        ]
        if source.id == catalog.id:
            entries += source_entries
        else:
            write.record_events(conn, actor, source, source_entries)
    return entries


# ----- reads -----------------------------------------------------------------------------
def get_record(
    actor: Actor, catalog_ref: str | int, record_id: int, fields: list[str] | None = None
) -> dict[str, Any]:
    """One record the actor may see, or RecordNotFound."""
    catalog = get_catalog(actor, catalog_ref)
    q = _get_statement(catalog.table, access.record_filter(actor, catalog, "view"))
    with _read(actor) as conn:
        row = conn.execute(q, {"record_id": record_id}).first()
        if row is None:
            raise RecordNotFound(f"record {record_id} not found in {catalog.api_name!r}")
        return Renderer(conn, actor, catalog, fields).render([row])[0]


_get_statements: OrderedDict[tuple[int, int], tuple[Any, Any, Any]] = OrderedDict()
_get_statements_lock = threading.Lock()


def _get_statement(table: Any, rights: Any) -> Any:
    """`SELECT ... WHERE id = :record_id AND <rights>`, one object per (table, rights clause).

    SQLAlchemy memoises a statement's cache key on the object; building the statement
    anew for every GET made it recompute the key over the whole rights clause, which
    cost more than the indexed read itself. Rights clauses are cached objects too
    (`access.record_filter`), so the same user reuses the same statement.
    """
    key = (id(table), id(rights))
    with _get_statements_lock:
        hit = _get_statements.get(key)
        if hit is not None and hit[0] is table and hit[1] is rights:
            return hit[2]
    q = sa.select(table).where(table.c.id == sa.bindparam("record_id"))
    if rights is not None:
        q = q.where(rights)
    with _get_statements_lock:
        _get_statements[key] = (table, rights, q)
        while len(_get_statements) > 2048:
            _get_statements.popitem(last=False)
    return q


def _parse_limit(limit: Any) -> int:
    if limit is None or limit == "":
        return DEFAULT_LIMIT
    try:
        value = int(limit)
    except (TypeError, ValueError):
        raise RecordInvalid(
            "limit must be an integer", fields={"limit": "must be an integer"}
        ) from None
    if not 1 <= value <= MAX_LIMIT:
        raise RecordInvalid(f"limit must be 1..{MAX_LIMIT}", fields={"limit": f"1..{MAX_LIMIT}"})
    return value


def _parse_fields(fields: Any) -> list[str] | None:
    if fields in (None, ""):
        return None
    if isinstance(fields, str):
        return [f.strip() for f in fields.split(",") if f.strip()]
    if isinstance(fields, list) and all(isinstance(f, str) for f in fields):
        return fields
    raise RecordInvalid(
        "fields must be a list of api_names", fields={"fields": "list of api_names"}
    )


def list_records(
    actor: Actor,
    catalog_ref: str | int,
    filter: Any = None,
    sort: Any = None,
    limit: Any = None,
    cursor: str | None = None,
    fields: Any = None,
    view: Any = None,
    count: bool = False,
    search: Any = None,
) -> dict[str, Any]:
    """A page of records matching filter (AND the view's) and `search`, with a cursor.

    With `search` and no sort, the best matches come first (docs/search.md).
    """
    catalog = get_catalog(actor, catalog_ref)
    only = _parse_fields(fields)
    if view not in (None, ""):
        v = get_view(actor, catalog.id, view)
        if v["filter"]:
            filter = {"and": [v["filter"], filter]} if filter else v["filter"]
        if not sort and v["sort"]:
            sort = v["sort"]
        if only is None and v["fields"]:
            only = v["fields"]
    page_size = _parse_limit(limit)
    keys = query.parse_sort(actor, catalog, sort)
    desc_id = isinstance(sort, str) and sort.strip() in ("-id",)
    cols = query.order_columns(catalog.table, keys, desc_id)
    where = [
        c
        for c in (
            query.compile_filter(actor, catalog, filter),
            access.record_filter(actor, catalog, "view"),
        )
        if c is not None
    ]
    if only is not None:
        unknown = [f for f in only if f not in catalog.by_api_name]
        if unknown:
            raise RecordInvalid(
                f"unknown field {unknown[0]!r}", fields={"fields": f"unknown field {unknown[0]!r}"}
            )
    if search not in (None, ""):
        if not hooks.searcher:
            raise RecordInvalid("search is not available", fields={"search": "not available"})
        searcher = hooks.searcher[-1]
        found = searcher.prepare(actor, catalog, search)
        if sort in (None, "", []):
            return searcher.list_page(actor, catalog, found, where, page_size, cursor, only, count)
        where.append(found.condition)
    table = catalog.table
    segments: list[Any] = [None]
    if cursor:
        values = query.decode_cursor(cursor, cols)
        nulls_low = actor.workspace.dialect == "sqlite"
        segments = list(query.keyset_segments(cols, values, nulls_low))
    with _read(actor) as conn:
        rows: list[Any] = []
        for segment in segments:
            q = sa.select(table).where(*where)
            if segment is not None:
                q = q.where(segment)
            q = q.order_by(*query.order_by(cols)).limit(page_size + 1 - len(rows))
            rows += conn.execute(q).all()
            if len(rows) > page_size:
                break
        more = len(rows) > page_size
        rows = rows[:page_size]
        items = Renderer(conn, actor, catalog, only).render(rows)
        result: dict[str, Any] = {"items": items, "next_cursor": None}
        if more:
            last = rows[-1]._mapping
            result["next_cursor"] = query.encode_cursor([last[c.key] for c, _ in cols], cols)
        if count:
            result["count"] = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(*where)
            ).scalar_one()
    return result


def may_edit(actor: Actor, catalog: Catalog, record_id: int) -> bool:
    """Whether the actor may change this record (its edit rule; never a system catalog's)."""
    if catalog.system is not None:
        return False
    table = catalog.table
    q = sa.select(table.c.id).where(table.c.id == record_id)
    rule = access.record_filter(actor, catalog, "edit")
    if rule is not None:
        q = q.where(rule)
    with _read(actor) as conn:
        return conn.execute(q).first() is not None


def record_history(actor: Actor, catalog_ref: str | int, record_id: int) -> list[dict[str, Any]]:
    """Every change of a record, oldest first, as the actor may see it (access.visibility:
    hidden fields left out, masked ones masked)."""
    catalog = get_catalog(actor, catalog_ref)
    h = schema.history
    view = FieldView.of(actor, catalog)
    with _read(actor) as conn:
        rows = conn.execute(
            sa.select(h)
            .where(h.c.catalog_id == catalog.id, h.c.record_id == record_id)
            .order_by(h.c.id)
        ).all()
        alive = visible_ids(conn, actor, catalog, [record_id])
        if not rows or (record_id not in alive and not _deleted_visible(actor, rows)):
            raise RecordNotFound(f"record {record_id} not found in {catalog.api_name!r}")
        users = dict(
            conn.execute(
                sa.select(schema.users.c.id, schema.users.c.name).where(
                    schema.users.c.id.in_({r.user_id for r in rows if r.user_id})
                )
            ).all()
        )
    return [
        {
            "id": r.id,
            "at": render_datetime(r.at),
            "user": {"id": r.user_id, "name": users.get(r.user_id)} if r.user_id else None,
            "action": r.action,
            "changes": view.changes(r.changes),
        }
        for r in rows
    ]


def _deleted_visible(actor: Actor, rows: list[Any]) -> bool:
    # History of a deleted record stays readable by administrators (it is the only copy).
    return actor.is_admin and rows[-1].action == "delete"


def related_records(
    actor: Actor, catalog_ref: str | int, record_id: int, limit: int = 100
) -> list[dict[str, Any]]:
    """Records of other catalogs linking to this one, grouped by catalog and field."""
    catalog = get_catalog(actor, catalog_ref)
    require_visible(actor, catalog, record_id)
    meta = actor.workspace.meta()
    lt = schema.links
    groups = []
    with _read(actor) as conn:
        for source, f in meta.links_into(catalog.id):
            if not access.can_see_catalog(actor, source):
                continue
            if not FieldView.of(actor, source).clear(f.api_name):
                continue  # a hidden or masked link must not show through its other side
            table = source.table
            q = (
                sa.select(table.c.id)
                .join(lt, lt.c.src_id == table.c.id)
                .where(lt.c.field_id == f.id, lt.c.dst_id == record_id)
                .order_by(table.c.id)
                .limit(limit)
            )
            rights = access.record_filter(actor, source, "view")
            if rights is not None:
                q = q.where(rights)
            ids = [r[0] for r in conn.execute(q)]
            if not ids:
                continue
            names = titles(conn, actor, source, set(ids))
            groups.append(
                {
                    "catalog": {"id": source.id, "api_name": source.api_name, "name": source.name},
                    "field": {"id": f.id, "api_name": f.api_name, "name": f.name},
                    "items": [{"id": i, "title": names.get(i, f"#{i}")} for i in ids],
                }
            )
    return groups
