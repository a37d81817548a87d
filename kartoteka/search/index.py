"""Keeping each catalog's full-text index in step with its records.

The index of a catalog is built the first time it is needed (a write or a search),
then every write updates it in the writing transaction through the records write
hook, so a search never sees a record as it was before a committed change. A
signature (searchable fields, their types, the linked catalogs' title fields and the
analyzer version) is stored beside it: when fields change so that stored stems no
longer describe the records, the index is rebuilt.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.catalogs.models import Catalog, WorkspaceMeta
from kartoteka.context import Actor, Workspace
from kartoteka.errors import NotFound
from kartoteka.storage import fulltext, schema
from kartoteka.storage.engine import read_connection

from . import analyzer, attachments
from .documents import (
    Span,
    documents,
    documents_of,
    file_fields,
    indexed_fields,
    row_query,
)

BATCH = 2000
#: A write of at least this many records queues them for the index (`search_pending`,
#: a few bytes each) instead of indexing inside the write: the worker indexes them just
#: after the commit, and any search of the catalog indexes what still waits first, so
#: searches never miss them (docs/search.md).
DEFER_AT = 100
#: Kept in the workspace (`meta_holder`), so it goes with it: catalog id -> the meta
#: object the catalog's index is known to be current for.
CURRENT = "search_index_current"


def signature(meta: WorkspaceMeta, catalog: Catalog) -> str:
    """What an index built now would describe (fields, types, link title fields)."""
    parts: list[list[Any]] = []
    for f in indexed_fields(catalog):
        target = meta.catalog(f.options.get("catalog") or 0) if f.ftype.storage == "links" else None
        title = target.title_field.id if target is not None and target.title_field else None
        parts.append([f.id, f.type, title])
    return orjson.dumps({"v": analyzer.VERSION, "fields": parts}).decode()


def _only_added(old: str, new: str) -> bool:
    """True when `new` differs from `old` by new fields alone (empty: nothing to index)."""
    before, after = orjson.loads(old), orjson.loads(new)
    if before["v"] != after["v"]:
        return False
    current = {f[0]: f for f in after["fields"]}
    return all(current.get(f[0]) == f for f in before["fields"])


def reindex(
    conn: Connection, meta: WorkspaceMeta, catalog: Catalog, ids: list[int], new: bool = False
) -> None:
    """Bring the index rows of these records up to date (deleted ones leave the index).

    `new`: the records were just created, so they have no index rows to replace.
    """
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        if not new:
            fulltext.delete_documents(conn, catalog.id, chunk)
        fulltext.insert_documents(conn, catalog.id, documents(conn, meta, catalog, chunk))


def all_ids(conn: Connection, catalog: Catalog, size: int = BATCH) -> Iterator[list[int]]:
    """Every record id of a catalog, in batches (keyset over the primary key)."""
    for rows in _all_rows(conn, sa.select(catalog.table.c.id), catalog, size):
        yield [r[0] for r in rows]


def _all_rows(conn: Connection, query: Any, catalog: Catalog, size: int) -> Iterator[Sequence[Any]]:
    """`query`'s rows (the record id first) in batches, keyset over the primary key."""
    table = catalog.table
    last = 0
    while True:
        rows = conn.execute(query.where(table.c.id > last).order_by(table.c.id).limit(size)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def build(
    conn: Connection,
    meta: WorkspaceMeta,
    catalog: Catalog,
    progress: Callable[[int], None] | None = None,
    reader: Connection | None = None,
) -> int:
    """Create the catalog's index afresh from its records; returns how many were indexed.

    The table is read in id order, a chunk per query; each chunk's comments, links and
    attachments are read as id ranges (a few queries per chunk, none per record).
    `reader`: another connection to read the records through (their committed state),
    so that `conn` can take the index rows as one stream (`fulltext.filling`).
    """
    fulltext.create_index(conn, catalog.id)
    source = reader if reader is not None else conn
    done = 0
    with fulltext.filling(conn, catalog.id, streaming=reader is not None) as add:
        for rows in _all_rows(source, row_query(catalog), catalog, BATCH):
            span = Span([r[0] for r in rows], rows[0][0], rows[-1][0])
            add(documents_of(source, meta, catalog, rows, span))
            done += len(rows)
            if progress is not None:
                progress(len(rows))
    fulltext.finish_index(conn, catalog.id)
    fulltext.write_signature(conn, catalog.id, signature(meta, catalog))
    fulltext.drop_pending_all(conn, catalog.id)  # the fresh index holds every record
    return done


def is_current(workspace: Workspace, catalog: Catalog) -> bool:
    """Known current in this process for the workspace's present metadata (no I/O)."""
    known = workspace.meta_holder.get(CURRENT)
    return known is not None and known.get(catalog.id) is workspace.meta()


def ensure(conn: Connection, workspace: Workspace, catalog: Catalog) -> bool:
    """Make the catalog's index exist and describe its present fields (in `conn`'s transaction).

    True when it was built now, from the rows as `conn` sees them.
    """
    meta = workspace.meta()
    if is_current(workspace, catalog):
        return False
    wanted = signature(meta, catalog)
    fulltext.lock_index(conn, catalog.id)
    stored = fulltext.read_signature(conn, catalog.id)
    if stored is None or not fulltext.index_exists(conn, catalog.id):
        build(conn, meta, catalog)
        return True
    if stored != wanted:
        if _only_added(stored, wanted):
            fulltext.write_signature(conn, catalog.id, wanted)
            return False
        build(conn, meta, catalog)
        return True
    # Known current only once read back as such: an index built in this transaction
    # may still be rolled back with it.
    workspace.meta_holder.setdefault(CURRENT, {})[catalog.id] = meta
    return False


def forget(workspace: Workspace) -> None:
    """Drop what this process knows about a workspace's indexes (after a rebuild)."""
    workspace.meta_holder.pop(CURRENT, None)


def on_write(
    conn: Connection, actor: Actor, catalog: Catalog, entries: list[dict[str, Any]]
) -> None:
    """The write hook: reindex the written records, and records whose link titles changed."""
    if actor.via == "dry_run" or catalog.system is not None or not entries:
        return
    meta = actor.workspace.meta()
    holding = {f.api_name for f in file_fields(catalog)}
    if holding:  # (a set test per record costs ~1 ms of a 1,000-record batch)
        attached = [
            e["record_id"]
            for e in entries
            if e["action"] != "delete" and not holding.isdisjoint(e["changes"])
        ]
        attachments.queue_attached(conn, catalog.id, attached)
    indexed = {f.api_name for f in indexed_fields(catalog)}
    # An update that changed no indexed field leaves the record's index row as it is.
    touched = [
        e for e in entries if e["action"] != "update" or not indexed.isdisjoint(e["changes"])
    ]
    if actor.importing is not None or len(touched) >= DEFER_AT:
        # An import's chunk or a big batch: the records wait in `search_pending` and the
        # worker or the next search of the catalog indexes them (`catch_up`). A catalog
        # with no index yet needs nothing: its first search builds it whole.
        built = is_current(actor.workspace, catalog)
        if touched and (built or fulltext.read_signature(conn, catalog.id) is not None):
            fulltext.queue_pending(conn, catalog.id, [e["record_id"] for e in touched])
        if actor.importing is not None:
            return
    elif touched and not ensure(conn, actor.workspace, catalog):
        # (a fresh build already holds these rows)
        created = all(e["action"] == "create" for e in touched)
        reindex(conn, meta, catalog, sorted({e["record_id"] for e in touched}), new=created)
    title = catalog.title_field
    if title is None:
        return
    renamed = [
        e["record_id"]
        for e in entries
        if e["action"] == "update" and title.api_name in e["changes"]
    ]
    if renamed:
        _reindex_linking(conn, actor, meta, catalog, renamed)


def _reindex_linking(
    conn: Connection, actor: Actor, meta: WorkspaceMeta, catalog: Catalog, ids: list[int]
) -> None:
    """Records of other catalogs show these records' titles in link fields: reindex them."""
    links = schema.links
    for source, f in meta.links_into(catalog.id):
        if source.system is not None or not f.ftype.searchable:
            continue
        sources = sorted(
            {
                r[0]
                for start in range(0, len(ids), 900)
                for r in conn.execute(
                    sa.select(links.c.src_id).where(
                        links.c.field_id == f.id, links.c.dst_id.in_(ids[start : start + 900])
                    )
                )
            }
        )
        if sources and fulltext.read_signature(conn, source.id) is not None:
            ensure(conn, actor.workspace, source)
            reindex(conn, meta, source, sources)


def rebuild(
    workspace: Workspace,
    only: str | None = None,
    started: Callable[[Catalog, int], None] | None = None,
    advanced: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Rebuild the indexes of every catalog (or `only` one); api_name -> records indexed.

    Each catalog is rebuilt in its own transaction: searches keep seeing the old index
    until the new one is committed. Indexes of catalogs that no longer exist are dropped.
    """
    meta = workspace.meta()
    chosen = [
        c
        for c in meta.catalogs
        if c.system is None and (only is None or only in (c.api_name, str(c.id)))
    ]
    if only is not None and not chosen:
        raise NotFound.of("catalog_not_found", None, ref=only)
    done: dict[str, int] = {}
    for catalog in chosen:
        with workspace.engine.begin() as conn, _reader(workspace) as reader:
            if started is not None:
                total = conn.execute(sa.select(sa.func.count()).select_from(catalog.table))
                started(catalog, int(total.scalar_one()))
            done[catalog.api_name] = build(conn, meta, catalog, advanced, reader)
    if only is None:
        with workspace.engine.begin() as conn:
            known = {c.id for c in meta.catalogs}
            for catalog_id in fulltext.indexed_catalogs(conn):
                if catalog_id not in known:
                    fulltext.drop_index(conn, catalog_id)
    forget(workspace)
    return done


@contextlib.contextmanager
def _reader(workspace: Workspace) -> Iterator[Connection | None]:
    """PostgreSQL: a second connection a rebuild reads the records through (committed
    data, as its own READ COMMITTED reads saw before), so its index rows stream to the
    server while the next chunk is analysed (docs/benchmarks.md, search, session 7).
    SQLite: None (one connection; FTS5 inserts run in this process anyway)."""
    if workspace.engine.dialect.name != "postgresql":
        yield None
        return
    with read_connection(workspace.engine) as conn:
        yield conn


def catch_up(
    workspace: Workspace,
    catalog: Catalog | None = None,
    budget_seconds: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index records an import left waiting (`search_pending`), BATCH per transaction;
    all of them, or those of one catalog, or until the time budget is spent. Returns how
    many were indexed. Searches and the worker call it; running twice at once is safe
    (PostgreSQL: the index lock; SQLite: one writer)."""
    meta = workspace.meta()
    started = time.monotonic()
    done = 0
    with read_connection(workspace.engine) as conn:
        waiting = fulltext.pending_catalogs(conn)
    for catalog_id in waiting:
        if catalog is not None and catalog_id != catalog.id:
            continue
        target = meta.catalog(catalog_id)
        while True:
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                return done
            with workspace.engine.begin() as conn:
                if target is None or target.system is not None:
                    fulltext.drop_pending_all(conn, catalog_id)
                    break
                fulltext.lock_index(conn, catalog_id)
                ids = fulltext.take_pending(conn, catalog_id, BATCH)
                if not ids:
                    break
                if not ensure(conn, workspace, target):  # a fresh build holds them already
                    reindex(conn, meta, target, ids)
                fulltext.drop_pending(conn, catalog_id, ids)
            done += len(ids)
            if progress is not None:
                progress(len(ids))
    return done


def has_pending(workspace: Workspace, catalog: Catalog | None = None) -> bool:
    """Are records waiting for the index (of one catalog, or any)?"""
    with read_connection(workspace.engine) as conn:
        return fulltext.has_pending(conn, catalog.id if catalog else None)
