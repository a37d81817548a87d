"""Running a `BatchRequest`: rights, validation, upsert matching, hooks, one transaction.

`records.service.batch` and the single-record calls come here. Every problem is
raised as a domain error whose `errors` are `ItemError` values; no message is
parsed anywhere.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from kartoteka.access import keys as access_keys
from kartoteka.access import service as access
from kartoteka.catalogs import common_options
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, ItemError, TooLarge
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection, utcnow

from . import hooks, references, snapshots, write
from .changes import Renderer, Unchanged
from .changes import history_value as history_value
from .linked import load_links
from .requests import BatchRequest, BatchResult, Upsert
from .write import Prepared, invalid

MAX_BATCH = 1000
MAX_RECORD_ID = 2**63 - 1
#: From this many updates a PostgreSQL batch reads before it locks (`_changing`).
READ_BEFORE_LOCKING = 50


def run(
    actor: Actor, catalog: Catalog, request: BatchRequest, *, single: bool = False
) -> BatchResult:
    """Write a request in one transaction, all or nothing; `single` drops item indexes."""
    if request.size > MAX_BATCH:
        raise too_large(request.size)
    if request.create and not access.can_create(actor, catalog):
        raise _cannot_create(catalog)
    creates, updates, deletes, upserts = _prepare(actor, catalog, request, single)
    key = request.upsert.key if request.upsert else None
    return run_prepared(actor, catalog, creates, updates, deletes, upserts, key)


def run_prepared(
    actor: Actor,
    catalog: Catalog,
    creates: list[Prepared],
    updates: list[Prepared],
    deletes: list[Prepared] | None = None,
    upserts: list[Prepared] | None = None,
    upsert_key: tuple[str, ...] | None = None,
) -> BatchResult:
    """The rest of `run` for items already validated (`write.prepare`/`prepare_stored`):
    rights, upsert matching, request webhooks, and one transaction. The importer calls
    this with its chunks, so rows are converted and validated once, not twice."""
    deletes = deletes or []
    upserts = upserts or []
    if creates and not access.can_create(actor, catalog):
        raise _cannot_create(catalog)
    if upserts and upsert_key:
        # Matching keys is a read; a key created concurrently meets the unique check below.
        with read_connection(actor.workspace.engine) as conn:
            _split_upsert(conn, actor, catalog, upsert_key, upserts, creates, updates)
        if any(i.upserted for i in creates) and not access.can_create(actor, catalog):
            raise _cannot_create(catalog)
    _no_repeats(updates)
    _no_repeats(deletes)
    if hooks.interested(actor, catalog):
        # Request webhooks are called before the write transaction, never while it
        # holds locks; they see the changes as computed from a read just before.
        with read_connection(actor.workspace.engine) as conn:
            pending = _pending_changes(conn, actor, catalog, creates, updates, deletes)
        hooks.run_before_write(actor, catalog, pending)
    with actor.workspace.engine.begin() as conn:
        seqs, unchanged = _apply(conn, actor, catalog, creates, updates, deletes)
    if seqs[0]:
        hooks.run_after_commit(actor, *seqs)
    return BatchResult(
        created=_ids(creates),
        updated=[i for i in _ids(updates) if i not in unchanged],
        deleted=_ids(deletes),
        unchanged=[i for i in _ids(updates) if i in unchanged],
        upserted=_ids(upserts) if upsert_key else None,
    )


def too_large(total: int) -> TooLarge:
    """The error of a batch naming `total` records, more than `MAX_BATCH`."""
    params = {"limit": MAX_BATCH, "total": total}
    return TooLarge(errors=[ItemError(None, None, None, "batch_too_large", params)])


def _cannot_create(catalog: Catalog) -> Forbidden:
    return Forbidden(
        errors=[ItemError(None, None, None, "create_forbidden", {"catalog": catalog.api_name})]
    )


def _ids(items: Iterable[Prepared]) -> list[int]:
    return [i.record_id for i in items if i.record_id is not None]


# ----- preparing ---------------------------------------------------------------------------
def _prepare(
    actor: Actor, catalog: Catalog, request: BatchRequest, single: bool
) -> tuple[list[Prepared], list[Prepared], list[Prepared], list[Prepared]]:
    """Every item validated by the field types (no database access yet)."""
    rules = access.field_rules(actor, catalog)

    def index(i: int) -> int | None:
        return None if single else i

    creates = []
    for i, it in enumerate(request.create):
        created = write.prepare(
            actor, catalog, it.values, creating=True, where="create", index=index(i), rules=rules
        )
        created.scenario = it.scenario
        creates.append(created)
    updates = []
    for i, up in enumerate(request.update):
        _check_target(up.id, up.version, "update", index(i))
        item = write.prepare(
            actor,
            catalog,
            up.values,
            creating=False,
            where="update",
            index=index(i),
            record_id=up.id,
            rules=rules,
        )
        item.version = up.version
        item.scenario = up.scenario
        updates.append(item)
    deletes = []
    for i, de in enumerate(request.delete):
        _check_target(de.id, de.version, "delete", index(i))
        deletes.append(
            Prepared("delete", index(i), de.id, version=de.version, scenario=de.scenario)
        )
    upserts = _prepare_upsert(actor, catalog, request.upsert, rules) if request.upsert else []
    return creates, updates, deletes, upserts


def _check_target(record_id: Any, version: Any, where: str, index: int | None) -> None:
    """Ids and versions are positive integers a database column can hold."""
    for name, value in (("id", record_id), ("version", version)):
        if name == "version" and value is None:
            continue
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok or not 0 < value <= MAX_RECORD_ID:
            code = "record_id" if name == "id" else "version"
            raise invalid(ItemError(where, index, name, code))


def _no_repeats(items: list[Prepared]) -> None:
    seen: set[int | None] = set()
    for item in items:
        if item.record_id in seen:
            raise invalid(item.error(None, "duplicate_id", id=item.record_id))
        seen.add(item.record_id)


def upsert_key_fields(catalog: Catalog, key: tuple[str, ...]) -> list[Field]:
    """The fields of an upsert key: one unique field, or several stored fields together."""
    fields = [catalog.by_api_name.get(name) for name in key]
    stored = [f for f in fields if f is not None and f.column and f.ftype.storage == "column"]
    if not key or len(stored) != len(key) or len(set(key)) != len(key):
        raise invalid(ItemError("upsert", None, "upsert.key", "upsert_key"))
    if len(stored) == 1 and not stored[0].unique:
        raise invalid(ItemError("upsert", None, "upsert.key", "upsert_key"))
    return stored


def _prepare_upsert(
    actor: Actor, catalog: Catalog, upsert: Upsert, rules: dict[str, str]
) -> list[Prepared]:
    key = upsert_key_fields(catalog, upsert.key)
    if any(rules.get(f.api_name) == "hidden" for f in key):
        raise invalid(ItemError("upsert", None, "upsert.key", "upsert_key"))
    items = []
    for i, it in enumerate(upsert.items):
        prepared = write.prepare(
            actor, catalog, it.values, creating=False, where="upsert", index=i, rules=rules
        )
        for f in key:
            if f.column is None or prepared.columns.get(f.column) is None:
                raise invalid(prepared.error(f.api_name, "key_value"))
        items.append(prepared)
    return items


def _split_upsert(
    conn: Any,
    actor: Actor,
    catalog: Catalog,
    key_names: tuple[str, ...],
    items: list[Prepared],
    creates: list[Prepared],
    updates: list[Prepared],
) -> None:
    """Upsert items matching an existing record become updates, the others creates.

    Only records the actor may see are matched (`access.keys`): a key held by a record
    they cannot see makes a create, which meets the unique check like any create.
    """
    key = upsert_key_fields(catalog, key_names)
    cols = [f.column for f in key if f.column]
    # Each item's key as a tuple (itemgetter of one column gives the bare value).
    pick = operator.itemgetter(*cols)
    keys = (
        [(pick(i.columns),) for i in items] if len(cols) == 1 else [pick(i.columns) for i in items]
    )
    existing = access_keys.match_visible(conn, actor, catalog, key, keys)
    # The fields with a default and the required ones, looked up once per batch.
    defaults = any("default" in f.options for f in catalog.fields)
    required = [f for f in catalog.fields if f.required]
    for item, item_key in zip(items, keys, strict=True):
        matches = existing.get(item_key, [])
        if len(matches) > 1:
            raise invalid(item.error(None, "key_matches_many", count=len(matches)))
        if not matches:
            if defaults:
                common_options.fill_defaults(catalog, item.given, item.columns, actor)
            for f in required:
                if f.id not in item.given:
                    raise invalid(item.error(f.api_name, "required"))
            item.upserted = True
            creates.append(item)
        else:
            item.record_id = matches[0]
            updates.append(item)


# ----- changes and history -------------------------------------------------------------------
def _old_values(
    catalog: Catalog,
    row: Any,
    links: dict[int, dict[int, list[int]]],
    fids: list[int],
    where: dict[int, tuple[bool, Any]] | None = None,
) -> dict[int, Any]:
    """A record's stored values of `fids` (links from `links`); `where` remembers, across
    the rows of a batch, each field's position in the row."""
    if where is None:
        where = {}
    out = {}
    for fid in fids:
        place = where.get(fid)
        if place is None:
            f = catalog.by_id[fid]
            place = where[fid] = (True, fid) if f.is_link else (False, row._fields.index(f.column))
        is_link, at = place
        out[fid] = links.get(at, {}).get(row.id, []) if is_link else row[at]
    return out


def _pending_changes(
    conn: Any,
    actor: Actor,
    catalog: Catalog,
    creates: list[Prepared],
    updates: list[Prepared],
    deletes: list[Prepared],
) -> list[hooks.PendingChange]:
    """What the write will do, for before-write hooks (computed on a read connection)."""
    render = Renderer(catalog)
    pending = [_pending(i, "create", render.create_changes(i.given)) for i in creates]
    if updates:
        current = write.load_current(conn, actor, catalog, updates, "edit")
        for entry, item in _update_entries(conn, catalog, updates, current):
            pending.append(_pending(item, "update", entry["changes"]))
    if deletes:
        entries = _delete_entries(conn, actor, catalog, deletes)
        for item, entry in zip(deletes, entries, strict=True):
            pending.append(_pending(item, "delete", entry["changes"]))
    return pending


def _pending(item: Prepared, action: str, changes: dict[str, Any]) -> hooks.PendingChange:
    """One item's change for the hooks: new values (not on delete), old ones (not on create)."""
    values = {} if action == "delete" else {k: c["new"] for k, c in changes.items()}
    previous = {} if action == "create" else {k: c["old"] for k, c in changes.items()}
    return hooks.PendingChange(
        action, item.record_id, values, previous, item.index, where=item.where
    )


# ----- applying ----------------------------------------------------------------------------
def _apply(
    conn: Any,
    actor: Actor,
    catalog: Catalog,
    creates: list[Prepared],
    updates: list[Prepared],
    deletes: list[Prepared],
) -> tuple[tuple[int, int], set[int]]:
    """Write everything; returns the event range and the ids of updates that changed nothing."""
    entries: list[dict[str, Any]] = []
    references.check_references(conn, actor, catalog, creates)
    changing: list[tuple[dict[str, Any], Prepared]] = []
    if updates:
        changing = _changing(conn, actor, catalog, updates)
        references.check_references(conn, actor, catalog, [item for _, item in changing])
    write.check_unique(conn, catalog, creates + [item for _, item in changing])
    write.insert_rows(conn, actor, catalog, creates)
    access.verify_rows(conn, actor, catalog, _ids(creates), "create")
    render = Renderer(catalog)
    made = render.create_entries([item.given for item in creates])
    for item, (changes, new) in zip(creates, made, strict=True):
        entry = {"record_id": item.record_id, "action": "create", "changes": changes, "new": new}
        if item.stamps is not None:
            entry["history_action"] = "import"  # dates and authors from a file
        if item.scenario:
            entry["scenario"] = item.scenario
        entries.append(entry)
    unchanged: set[int] = set()
    if updates:
        changed = _apply_updates(conn, actor, catalog, changing)
        unchanged = {i for i in _ids(updates)} - {e["record_id"] for e in changed}
        entries += changed
    if deletes:
        entries += _apply_deletes(conn, actor, catalog, deletes)
    return write.record_events(conn, actor, catalog, entries), unchanged


def _changing(
    conn: Any, actor: Actor, catalog: Catalog, updates: list[Prepared]
) -> list[tuple[dict[str, Any], Prepared]]:
    """(history entry, item) of the updates that change something, their rows locked.

    An update that changes nothing writes nothing: its values are checked no further
    (a re-import of an unchanged file is all such updates). On PostgreSQL a big batch
    reads its rows without locks first and locks (and compares again) only the rows
    it changes: `FOR UPDATE` writes a lock into every row it takes. Only the columns
    the updates give are read (no stamps to parse per row)."""
    by_id = catalog.by_id
    given = {fid for item in updates for fid in item.given}
    read = sorted(by_id[fid].col for fid in given if not by_id[fid].is_link)
    if conn.dialect.name == "postgresql" and len(updates) >= READ_BEFORE_LOCKING:
        current = write.load_current(
            conn, actor, catalog, updates, "edit", lock=False, columns=read
        )
        updates = [item for _, item in _update_entries(conn, catalog, updates, current)]
        if not updates:
            return []
    current = write.load_current(conn, actor, catalog, updates, "edit", columns=read)
    return _update_entries(conn, catalog, updates, current)


def _update_entries(
    conn: Any, catalog: Catalog, updates: list[Prepared], current: dict[int, Any]
) -> list[tuple[dict[str, Any], Prepared]]:
    """(history entry, item) for every update that changes something."""
    # Each link field once (a list per update made `field_id IN` 2,000 parameters long,
    # and PostgreSQL planned the chunk's link read as a scan).
    link_fields = [catalog.by_id[fid] for fid in dict.fromkeys(f for u in updates for f in u.links)]
    links = load_links(conn, link_fields, _ids(updates))
    render = Renderer(catalog)
    unchanged = Unchanged(catalog)
    out = []
    where: dict[int, tuple[bool, Any]] = {}
    for item in updates:
        assert item.record_id is not None
        row = current[item.record_id]
        if unchanged(row, item.given, links):
            continue
        old = _old_values(catalog, row, links, list(item.given), where)
        changes = render.changes(old, item.given)
        if changes:
            entry = {"record_id": item.record_id, "action": "update", "changes": changes}
            if item.scenario:
                entry["scenario"] = item.scenario
            out.append((entry, item))
    return out


def _apply_updates(
    conn: Any, actor: Actor, catalog: Catalog, changing: list[tuple[dict[str, Any], Prepared]]
) -> list[dict[str, Any]]:
    """Write only the fields that change (`changing`: `_update_entries`' entries)."""
    entries, changed_items = [], []
    for entry, item in changing:
        changed = {catalog.by_api_name[a].id for a in entry["changes"]}
        item.columns = {
            catalog.by_id[fid].col: v
            for fid, v in item.given.items()
            if fid in changed and not catalog.by_id[fid].is_link
        }
        item.links = {fid: ids for fid, ids in item.links.items() if fid in changed}
        changed_items.append(item)
        entries.append(entry)
    write.update_rows(conn, actor, catalog, changed_items)
    access.verify_rows(conn, actor, catalog, _ids(changed_items), "update")
    return entries


def _delete_entries(
    conn: Any, actor: Actor, catalog: Catalog, deletes: list[Prepared]
) -> list[dict[str, Any]]:
    """History entries (all old values) of records about to be deleted; 404/403 if not allowed."""
    ids = _ids(deletes)
    rows = write.load_current(conn, actor, catalog, deletes, "delete")
    link_fields = [f for f in catalog.fields if f.is_link]
    links = load_links(conn, link_fields, ids)
    stored = [f.id for f in catalog.fields if f.column or f.is_link]
    markers = {item.record_id: item.scenario for item in deletes if item.scenario}
    entries = []
    for rid in ids:
        old = _old_values(catalog, rows[rid], links, stored)
        changes = {
            catalog.by_id[fid].api_name: {"old": history_value(catalog.by_id[fid], v), "new": None}
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
                **({"scenario": markers[rid]} if rid in markers else {}),
            }
        )
    return entries


def _apply_deletes(
    conn: Any, actor: Actor, catalog: Catalog, deletes: list[Prepared]
) -> list[dict[str, Any]]:
    ids = _ids(deletes)
    entries = _delete_entries(conn, actor, catalog, deletes)
    entries += _unlink_incoming(conn, actor, catalog, ids)
    link_fields = [f.id for f in catalog.fields if f.is_link]
    lt = schema.links
    if link_fields:
        conn.execute(sa.delete(lt).where(lt.c.field_id.in_(link_fields), lt.c.src_id.in_(ids)))
    ft = schema.files
    conn.execute(
        sa.update(ft)
        .where(ft.c.catalog_id == catalog.id, ft.c.record_id.in_(ids))
        .values(record_id=None, catalog_id=None, field_id=None, detached_at=utcnow())
    )
    table = catalog.table
    conn.execute(sa.delete(table).where(table.c.id.in_(ids)))
    return entries


def _unlink_incoming(
    conn: Any, actor: Actor, catalog: Catalog, ids: list[int]
) -> list[dict[str, Any]]:
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
        write.touch_rows(conn, actor, source, sources)
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
