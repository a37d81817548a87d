"""Reference checks of the write path, in bulk: links, users and files named in a batch
must exist and be allowed (a link field's view and `accessible_only`), one query each."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.storage import schema
from kartoteka.views.service import view_filter

from .query import compile_filter
from .write import Prepared, in_chunks, invalid


def check_references(
    conn: Connection, actor: Actor, catalog: Catalog, items: list[Prepared]
) -> None:
    """Links, users and files named in the batch must exist and be allowed; one query each."""
    for f in catalog.fields:
        if not (f.is_link or f.ftype.references in ("users", "files")):
            continue  # nothing to look up (and no list of every item per field)
        wanted = [(i, i.given[f.id]) for i in items if i.given.get(f.id)]
        if not wanted:
            continue
        if f.is_link:
            _check_links(conn, actor, f, wanted)
        elif f.ftype.references == "users":
            _check_users(conn, f, wanted)
        elif f.ftype.references == "files":
            _check_files(conn, actor, catalog, f, wanted)


def _link_conditions(actor: Actor, f: Field, target: Catalog) -> list[Any]:
    conditions = []
    view_id = f.options.get("view")
    if view_id:
        view_spec = view_filter(actor, target, view_id)
        clause = compile_filter(actor.__class__.system(actor.workspace), target, view_spec)
        if clause is not None:
            conditions.append(clause)
    if f.options.get("accessible_only"):
        rights = access.record_filter(actor, target, "view")
        if rights is not None:
            conditions.append(rights)
    return conditions


def _check_links(
    conn: Connection, actor: Actor, f: Field, wanted: list[tuple[Prepared, list[int]]]
) -> None:
    meta = actor.workspace.meta()
    ref = f.options.get("catalog")
    target = meta.catalog(ref) if ref is not None else None
    if target is None:
        item = wanted[0][0]
        raise invalid(item.error(f.api_name, "link_catalog_gone"))
    all_ids = sorted({i for _, ids in wanted for i in ids})
    table = target.table
    conditions = _link_conditions(actor, f, target)
    found: set[int] = set()
    for match in in_chunks(conn, table.c.id, all_ids):
        q = sa.select(table.c.id).where(match, *conditions)
        found.update(conn.execute(q).scalars())
    if found.issuperset(all_ids):
        return  # (the common case: no item to look at one by one)
    for item, ids in wanted:
        missing = [i for i in ids if i not in found]
        if missing:
            code = "link_not_found"
            if f.options.get("view"):
                code = "link_outside_view"
            elif f.options.get("accessible_only"):
                code = "link_not_accessible"
            raise invalid(item.error(f.api_name, code, id=missing[0]))


def _check_users(conn: Connection, f: Field, wanted: list[tuple[Prepared, Any]]) -> None:
    per_item = [(item, f.ftype.referenced_ids(v)) for item, v in wanted]
    all_ids = sorted({i for _, ids in per_item for i in ids})
    u = schema.users
    found = {r[0] for r in conn.execute(sa.select(u.c.id).where(u.c.id.in_(all_ids)))}
    for item, ids in per_item:
        missing = [i for i in ids if i not in found]
        if missing:
            raise invalid(item.error(f.api_name, "user_not_found", id=missing[0]))


def _check_files(
    conn: Connection, actor: Actor, catalog: Catalog, f: Field, wanted: list[tuple[Prepared, Any]]
) -> None:
    per_item = [(item, f.ftype.referenced_ids(v)) for item, v in wanted]
    all_ids = sorted({i for _, ids in per_item for i in ids})
    t = schema.files
    rows = {r.id: r for r in conn.execute(sa.select(t).where(t.c.id.in_(all_ids)))}
    for item, ids in per_item:
        for fid in ids:
            r = rows.get(fid)
            ok = r is not None and (
                # A file let go of by a deleted record is no longer its uploader's own.
                (
                    r.record_id is None
                    and (
                        actor.is_admin or (r.uploaded_by == actor.user_id and r.detached_at is None)
                    )
                )
                or (
                    r.catalog_id == catalog.id
                    and r.record_id == item.record_id
                    and r.record_id is not None
                )
            )
            if not ok:
                raise invalid(item.error(f.api_name, "file_unavailable", id=fid))
            if r is not None and r.record_id is None:  # newly attached: kinds and size apply
                _check_file_fits(f, item, r)


def _check_file_fits(f: Field, item: Prepared, row: Any) -> None:
    refused = f.ftype.refuses_file(f, row.name, row.mime, row.size)
    if refused is not None:
        code, params = refused
        raise invalid(item.error(f.api_name, code, **params))
