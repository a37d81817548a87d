"""Merging records: one survivor takes the chosen values, every link, comment, file and
share of the others, which are deleted; both histories stay; one `record.merged` event.

Rights: edit on the survivor, delete on every other record (404 for a record the actor
cannot see, 403 for one they see but may not change). Before-write hooks (request
webhooks, stage processes) see the survivor's update and the deletions and may veto.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, ItemError, ValidationFailed
from kartoteka.fields.base import encode_multi
from kartoteka.records import hooks, snapshots, write
from kartoteka.records import service as records
from kartoteka.records.batches import MAX_RECORD_ID, history_value
from kartoteka.records.linked import load_links
from kartoteka.records.write import Prepared
from kartoteka.storage import bulk, counters, schema
from kartoteka.storage.engine import read_connection, utcnow

from .check import skipping

MAX_MERGE = 50
#: History keys beyond fields: on the survivor the records merged into it, on each
#: merged record the survivor (every reader of the history sees them).
MERGED = "_merged"
MERGED_INTO = "_merged_into"


def _invalid(field: str | None, code: str, /, **params: Any) -> ValidationFailed:
    return ValidationFailed(errors=[ItemError(None, None, field, code, params)])


def _id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_RECORD_ID


def parse(catalog: Catalog, body: Any) -> tuple[int, list[int], dict[int, int]]:
    """(survivor, others, field id -> record whose value survives) from a request body."""
    if not isinstance(body, dict):
        raise _invalid("body", "merge_ids", limit=MAX_MERGE)
    unknown = sorted(set(body) - {"into", "records", "values"})
    if unknown:
        raise _invalid(str(unknown[0])[:100], "unknown_key")
    into, others = body.get("into"), body.get("records")
    if (
        not _id(into)
        or not isinstance(others, list)
        or not 1 <= len(others) <= MAX_MERGE
        or not all(_id(o) for o in others)
        or len({into, *others}) != len(others) + 1
    ):
        raise _invalid("records", "merge_ids", limit=MAX_MERGE)
    chosen: dict[int, int] = {}
    values = body.get("values") or {}
    if not isinstance(values, dict):
        raise _invalid("values", "merge_field", name="values")
    for name, source in values.items():
        f = catalog.by_api_name.get(name)
        if f is None:
            raise _invalid(f"values.{str(name)[:100]}", "unknown_field")
        if source not in (into, *others):
            raise _invalid(f"values.{name}", "merge_field", name=name)
        chosen[f.id] = source
    assert isinstance(into, int)
    return into, list(others), chosen


def mergeable(actor: Actor, catalog: Catalog) -> list[Field]:
    """Fields whose value the merge decides (stored, writable, not hidden from the actor)."""
    rules = access.field_rules(actor, catalog)
    return [
        f
        for f in catalog.fields
        if (f.column or f.is_link)
        and f.ftype.storage in ("column", "links")
        and not f.ftype.read_only
        and rules.get(f.api_name) not in ("hidden", "read_only", "masked")
    ]


def _values(
    catalog: Catalog, fields: list[Field], rows: dict[int, Any], links: Any, order: list[int]
) -> dict[int, dict[int, Any]]:
    """record id -> field id -> stored value (link fields: id lists)."""
    out: dict[int, dict[int, Any]] = {}
    for rid in order:
        m = rows[rid]._mapping
        out[rid] = {
            f.id: list(links.get(f.id, {}).get(rid, [])) if f.is_link else m[f.col] for f in fields
        }
    return out


def _union(values: list[Any]) -> list[int]:
    seen: dict[int, None] = {}
    for v in values:
        for i in v or []:
            seen.setdefault(i, None)
    return list(seen)


def unites(f: Field) -> bool:
    """A field whose values a merge unites unless one record's is chosen: a multiple link,
    a file field that holds several files."""
    if f.is_link:
        return bool(f.options.get("multiple"))
    return f.ftype.references == "files" and f.options.get("multiple", True) is not False


def _decide(
    f: Field, into: int, order: list[int], values: dict[int, dict[int, Any]], chosen: dict[int, int]
) -> Any:
    """The survivor's value of one field: the chosen record's; else a union for multiple
    links and files (`unites`); else the survivor's own, or the first non-empty one of
    the others."""
    if f.id in chosen:
        return values[chosen[f.id]][f.id]
    if f.is_link and unites(f):
        return _union([values[r][f.id] for r in order])
    if unites(f):
        ids = _union([f.ftype.referenced_ids(values[r][f.id]) for r in order])
        return encode_multi(ids[:100]) if ids else values[into][f.id]
    for rid in order:
        if not f.ftype.is_empty(values[rid][f.id]):
            return values[rid][f.id]
    return values[into][f.id]


def merge(actor: Actor, catalog_ref: str | int, body: Any) -> dict[str, Any]:
    """Merge `records` into `into`; returns the survivor as the API shows it."""
    catalog = records.get_catalog(actor, catalog_ref)
    if catalog.system is not None:
        raise Forbidden(
            errors=[
                ItemError(
                    None,
                    None,
                    None,
                    "system_catalog",
                    {"catalog": catalog.api_name, "managed_at": catalog.system.managed_at},
                )
            ]
        )
    into, others, chosen = parse(catalog, body)
    fields = mergeable(actor, catalog)
    with read_connection(actor.workspace.engine) as conn:
        changes = _plan(conn, actor, catalog, fields, into, others, chosen)[2]
    if hooks.interested(actor, catalog):
        new = {k: c["new"] for k, c in changes.items()}
        previous = {k: c["old"] for k, c in changes.items()}
        pending = [hooks.PendingChange("update", into, new, previous, None, where="merge")]
        pending += [
            hooks.PendingChange("delete", o, {}, {}, i, where="merge") for i, o in enumerate(others)
        ]
        with skipping():
            hooks.run_before_write(actor, catalog, pending)
    with actor.workspace.engine.begin() as conn:
        rows, values, changes = _plan(conn, actor, catalog, fields, into, others, chosen)
        seq = _apply(conn, actor, catalog, fields, into, others, rows, values, changes)
    hooks.run_after_commit(actor, seq, seq)
    return records.get_record(actor, catalog.id, into)


def _plan(
    conn: Connection,
    actor: Actor,
    catalog: Catalog,
    fields: list[Field],
    into: int,
    others: list[int],
    chosen: dict[int, int],
) -> tuple[dict[int, Any], dict[str, Any], dict[str, Any]]:
    """Rights, current rows (locked on PostgreSQL), the survivor's new values and changes."""
    for fid in chosen:
        if catalog.by_id[fid] not in fields:
            name = catalog.by_id[fid].api_name
            raise Forbidden(errors=[ItemError("merge", None, name, "field_forbidden")], field=name)
    survivor = Prepared("merge", None, into)
    current = write.load_current(conn, actor, catalog, [survivor], "edit")
    gone = [Prepared("merge", i, rid) for i, rid in enumerate(others)]
    old_rows = write.load_current(conn, actor, catalog, gone, "delete")
    rows = {**current, **old_rows}
    order = [into, *others]
    links = load_links(conn, [f for f in fields if f.is_link], order)
    values = _values(catalog, fields, rows, links, order)
    new: dict[int, Any] = {}
    changes: dict[str, Any] = {}
    for f in fields:
        value = _decide(f, into, order, values, chosen)
        before = values[into][f.id]
        same = list(before or []) == list(value or []) if f.is_link else before == value
        if not same and not (f.ftype.is_empty(before) and f.ftype.is_empty(value)):
            new[f.id] = value
            changes[f.api_name] = {"old": history_value(f, before), "new": history_value(f, value)}
    return rows, {"new": new, "all": values}, changes


def _apply(
    conn: Connection,
    actor: Actor,
    catalog: Catalog,
    fields: list[Field],
    into: int,
    others: list[int],
    rows: dict[int, Any],
    values: dict[str, Any],
    changes: dict[str, Any],
) -> int:
    """Move everything to the survivor, write it, delete the others; the event's seq."""
    linking = _repoint_links(conn, actor, catalog, into, others)
    _repoint(conn, catalog, into, others)
    item = Prepared("merge", None, into)
    for fid, value in values["new"].items():
        f = catalog.by_id[fid]
        item.given[fid] = value
        if f.is_link:
            item.links[fid] = value
        else:
            item.columns[f.col] = value
    write.update_rows(conn, actor, catalog, [item])
    link_fields = [f.id for f in catalog.fields if f.is_link]
    lt = schema.links
    if link_fields:
        conn.execute(sa.delete(lt).where(lt.c.field_id.in_(link_fields), lt.c.src_id.in_(others)))
    table = catalog.table
    conn.execute(sa.delete(table).where(table.c.id.in_(others)))
    gone: list[dict[str, Any]] = []
    for rid in others:
        old = {
            f.api_name: {"old": history_value(f, v), "new": None}
            for f in fields
            if not f.ftype.is_empty(v := values["all"][rid][f.id])
        }
        gone.append(
            {
                "record_id": rid,
                "action": "delete",
                "changes": old,
                "row": snapshots.snapshot(rows[rid]),
            }
        )
    survivor = {"record_id": into, "action": "update", "changes": changes}
    hooks.run_in_transaction(conn, actor, catalog, [survivor, *gone])
    now = utcnow()
    merged = {**changes, MERGED: {"old": None, "new": others}}
    history = [_history(catalog, into, actor, now, "merge", merged)]
    for e in gone:
        into_note = {**e["changes"], MERGED_INTO: {"old": None, "new": into}}
        history.append(_history(catalog, e["record_id"], actor, now, "merged", into_note))
    bulk.insert_many(conn, schema.history, history)
    for source, entries in linking:
        bulk.insert_many(
            conn,
            schema.history,
            [_history(source, e["record_id"], actor, now, "update", e["changes"]) for e in entries],
        )
    seq = counters.take(conn, write.EVENT_COUNTER, 1)
    conn.execute(
        sa.insert(schema.events).values(
            seq=seq,
            type="record.merged",
            catalog_id=catalog.id,
            record_id=into,
            user_id=actor.user_id,
            at=now,
            depth=actor.depth,
            cause="-".join(str(i) for i in actor.cause) or None,
            payload={
                "catalog": {"id": catalog.id, "api_name": catalog.api_name},
                "values": {k: c["new"] for k, c in changes.items()},
                "previous": {k: c["old"] for k, c in changes.items()},
                "merged": others,
                "rows": [e["row"] for e in gone],
                "relinked": [
                    {"catalog": s.api_name, "records": [e["record_id"] for e in es]}
                    for s, es in linking
                ],
            },
        )
    )
    return seq


def _history(
    catalog: Catalog, rid: int, actor: Actor, now: Any, action: str, changes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "catalog_id": catalog.id,
        "record_id": rid,
        "at": now,
        "user_id": actor.user_id,
        "action": action,
        "changes": changes,
    }


def _repoint_links(
    conn: Connection, actor: Actor, catalog: Catalog, into: int, others: list[int]
) -> list[tuple[Catalog, list[dict[str, Any]]]]:
    """Links pointing at the merged records point at the survivor (each list keeps its
    order, without repeats); the linking records' history says so."""
    meta = actor.workspace.meta()
    lt = schema.links
    done: list[tuple[Catalog, list[dict[str, Any]]]] = []
    for source, f in meta.links_into(catalog.id):
        sources = sorted(
            {
                r[0]
                for r in conn.execute(
                    sa.select(lt.c.src_id).where(lt.c.field_id == f.id, lt.c.dst_id.in_(others))
                )
            }
            - (set(others) if source.id == catalog.id else set())
        )
        if not sources:
            continue
        before = load_links(conn, [f], sources)[f.id]
        rows, entries = [], []
        for src in sources:
            after = list(dict.fromkeys(into if d in others else d for d in before[src]))
            rows += [
                {"field_id": f.id, "src_id": src, "dst_id": d, "position": p}
                for p, d in enumerate(after)
            ]
            entries.append(
                {"record_id": src, "action": "update",
                 "changes": {f.api_name: {"old": before[src], "new": after}}}
            )  # fmt: skip
        for start in range(0, len(sources), 900):
            chunk = sources[start : start + 900]
            conn.execute(sa.delete(lt).where(lt.c.field_id == f.id, lt.c.src_id.in_(chunk)))
        bulk.insert_many(conn, lt, rows)
        # The survivor gets its new version with its own update.
        write.touch_rows(conn, actor, source, [s for s in sources if s != into])
        hooks.run_in_transaction(conn, actor, source, entries)
        done.append((source, entries))
    return done


def _repoint(conn: Connection, catalog: Catalog, into: int, others: list[int]) -> None:
    """Comments, files and shares of the merged records go to the survivor."""
    c, ft, sh = schema.comments, schema.files, schema.record_shares
    conn.execute(
        sa.update(c)
        .where(c.c.catalog_id == catalog.id, c.c.record_id.in_(others))
        .values(record_id=into)
    )
    conn.execute(
        sa.update(ft)
        .where(ft.c.catalog_id == catalog.id, ft.c.record_id.in_(others))
        .values(record_id=into)
    )
    shares = conn.execute(
        sa.select(sh).where(sh.c.catalog_id == catalog.id, sh.c.record_id.in_([into, *others]))
    ).all()
    if not shares:
        return
    best: dict[int, Any] = {}
    for s in shares:  # a user shared several of them keeps the widest share
        held = best.get(s.user_id)
        if held is None or (s.can_edit and not held.can_edit):
            best[s.user_id] = s
    conn.execute(
        sa.delete(sh).where(sh.c.catalog_id == catalog.id, sh.c.record_id.in_([into, *others]))
    )
    bulk.insert_many(
        conn,
        sh,
        [
            {"catalog_id": catalog.id, "record_id": into, "user_id": s.user_id,
             "can_edit": s.can_edit, "created_by": s.created_by, "created_at": s.created_at}
            for s in best.values()
        ],
    )  # fmt: skip
