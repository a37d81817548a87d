"""Records service: the functions every caller (API, UI, import, scenarios) uses."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView, require_visible, visible_ids
from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import DomainError, Forbidden, ItemError, PreconditionFailed
from kartoteka.fields.datetime import render_datetime
from kartoteka.storage import bulk, schema
from kartoteka.storage.engine import reading
from kartoteka.storage.kept import first_row
from kartoteka.views.service import get_view

from . import batches, hooks, query
from .errors import RecordInvalid, RecordNotFound
from .linked import titles
from .read import Renderer
from .requests import BatchRequest, BatchResult, CreateItem, DeleteItem, UpdateItem

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
        params = {"catalog": catalog.api_name, "managed_at": catalog.system.managed_at}
        raise Forbidden(errors=[ItemError(None, None, None, "system_catalog", params)])


def _read(actor: Actor) -> AbstractContextManager[Connection]:
    return reading(actor.workspace.engine)


history_value = batches.history_value


# ----- writes ----------------------------------------------------------------------------
def batch(actor: Actor, catalog_ref: str | int, request: BatchRequest) -> BatchResult:
    """Create, update, delete and upsert up to 1000 records in one transaction, all or nothing."""
    catalog = get_catalog(actor, catalog_ref)
    _require_writable(catalog)
    return _run(actor, catalog, request, single=False)


def create_record(actor: Actor, catalog_ref: str | int, values: Any) -> dict[str, Any]:
    """Create one record; returns it as the API shows it."""
    catalog = get_catalog(actor, catalog_ref)
    _require_writable(catalog)
    result = _run(actor, catalog, BatchRequest(create=[CreateItem(values)]), single=True)
    return get_record(actor, catalog.id, result.created[0])


def update_record(
    actor: Actor,
    catalog_ref: str | int,
    record_id: int,
    values: Any,
    *,
    version: int | None = None,
) -> dict[str, Any]:
    """Change the given fields of one record (only if it is still `version`, when given)."""
    catalog = get_catalog(actor, catalog_ref)
    _require_writable(catalog)
    item = UpdateItem(record_id, values, version)
    _run(actor, catalog, BatchRequest(update=[item]), single=True)
    return get_record(actor, catalog.id, record_id)


def delete_record(
    actor: Actor, catalog_ref: str | int, record_id: int, *, version: int | None = None
) -> None:
    """Delete one record (links to it are removed and noted in the linking records' history)."""
    catalog = get_catalog(actor, catalog_ref)
    _require_writable(catalog)
    item = DeleteItem(record_id, version)
    _run(actor, catalog, BatchRequest(delete=[item]), single=True)


def _run(actor: Actor, catalog: Catalog, request: BatchRequest, *, single: bool) -> BatchResult:
    """Run a batch; a version conflict is answered with the record as it is now."""
    try:
        return batches.run(actor, catalog, request, single=single)
    except PreconditionFailed as exc:
        current = exc.current
        try:
            current = get_record(actor, catalog.id, int(current["id"]))
        except RecordNotFound:
            pass  # allowed to change but not to see: the id and version are all it gets
        raise PreconditionFailed(current, errors=exc.errors) from None


# ----- reads -----------------------------------------------------------------------------
def get_record(
    actor: Actor, catalog_ref: str | int, record_id: int, fields: list[str] | None = None
) -> dict[str, Any]:
    """One record the actor may see, or RecordNotFound."""
    catalog = get_catalog(actor, catalog_ref)
    q = _get_statement(catalog.table, access.record_filter(actor, catalog, "view"))
    with _read(actor) as conn:
        row = first_row(conn, q, "record_id", record_id)
        if row is None:
            raise RecordNotFound.of(
                "record_not_found", None, id=record_id, catalog=catalog.api_name
            )
        return Renderer(conn, actor, catalog, fields).render([row])[0]


def get_records(actor: Actor, catalog_ref: str | int, ids: Sequence[int]) -> dict[int, Any]:
    """The records among `ids` the actor may see, by id, as `get_record` shows each (one
    query for all: a worker pass reads the records of many scenario runs at once)."""
    catalog = get_catalog(actor, catalog_ref)
    table = catalog.table
    if not ids:
        return {}
    with _read(actor) as conn:
        q = sa.select(table).where(bulk.id_in(conn, table.c.id, sorted(set(ids))))
        rights = access.record_filter(actor, catalog, "view")
        if rights is not None:
            q = q.where(rights)
        rows = list(conn.execute(q).all())
        rendered = Renderer(conn, actor, catalog, None).render(rows) if rows else []
    return {record["id"]: record for record in rendered}


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
        raise RecordInvalid.of("integer", "limit") from None
    if not 1 <= value <= MAX_LIMIT:
        raise RecordInvalid.of("whole_number_range", "limit", max=MAX_LIMIT)
    return value


def _parse_fields(fields: Any) -> list[str] | None:
    if fields in (None, ""):
        return None
    if isinstance(fields, str):
        return [f.strip() for f in fields.split(",") if f.strip()]
    if isinstance(fields, list) and all(isinstance(f, str) for f in fields):
        return fields
    raise RecordInvalid.of("field_list", "fields")


def _grouped_sort(actor: Actor, catalog: Catalog, view: dict[str, Any], sort: Any) -> Any:
    """A view grouped by a field (`options.group_by`) lists its records by that field
    first, so each group arrives whole and in order; within it the sort asked for. A
    field that cannot be sorted on (a link) or that the reader may not sort on leaves
    the sort as it was."""
    group = (view.get("options") or {}).get("group_by")
    field = catalog.by_api_name.get(group) if isinstance(group, str) else None
    if field is None or not field.ftype.sortable:
        return sort
    items = sort.split(",") if isinstance(sort, str) else sort if isinstance(sort, list) else []
    parts = [str(p).strip() for p in items if str(p).strip()]
    if parts and parts[0].lstrip("+-") == field.api_name:
        return sort
    grouped = ",".join([field.api_name, *(p for p in parts if p.lstrip("+-") != field.api_name)])
    try:
        query.parse_sort(actor, catalog, grouped)
    except DomainError:
        return sort
    return grouped


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
        sort = _grouped_sort(actor, catalog, v, sort)
    page_size = _parse_limit(limit)
    keys = query.parse_sort(actor, catalog, sort)
    desc_id = isinstance(sort, str) and sort.strip() in ("-id",)
    cols = query.order_columns(catalog.table, keys, desc_id)
    where = [
        c
        for c in (
            query.compile_filter(actor, catalog, filter, search=True),
            access.record_filter(actor, catalog, "view"),
        )
        if c is not None
    ]
    # A search's condition (in `search` or the filter) is made for this request.
    reusable = not query.uses_search(filter)
    if only is not None:
        unknown = [f for f in only if f not in catalog.by_api_name]
        if unknown:
            raise RecordInvalid.of("field_list_unknown", "fields", name=unknown[0])
    if search not in (None, ""):
        if not hooks.searcher:
            raise RecordInvalid.of("search_unavailable", "search")
        searcher = hooks.searcher[-1]
        found = searcher.prepare(actor, catalog, search)
        if sort in (None, "", []):
            return searcher.list_page(actor, catalog, found, where, page_size, cursor, only, count)
        where.append(found.condition)
        reusable = False  # the search's condition is made for this request
    table = catalog.table
    segments: list[query.Segment | None] = [None]
    if cursor:
        values = query.decode_cursor(cursor, cols)
        nulls_low = actor.workspace.dialect == "sqlite"
        segments = list(query.keyset_segments(cols, values, nulls_low))
    with _read(actor) as conn:
        rows: list[Any] = []
        for segment in segments:
            limit = page_size + 1 - len(rows)
            q = query.page_statement(table, where, cols, segment, limit, reusable=reusable)
            rows += conn.execute(q, segment.params if segment else {}).all()
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
            raise RecordNotFound.of(
                "record_not_found", None, id=record_id, catalog=catalog.api_name
            )
        names = sa.select(schema.users.c.id, schema.users.c.name).where(
            schema.users.c.id.in_({r.user_id for r in rows if r.user_id})
        )
        users: dict[int, str] = {uid: name for uid, name in conn.execute(names)}
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


def _deleted_visible(actor: Actor, rows: Sequence[Any]) -> bool:
    # History of a deleted (or merged) record stays readable by administrators (it is the
    # only copy).
    return actor.is_admin and rows[-1].action in ("delete", "merged")


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
