"""The one write path: validate, check references, write rows, links, history and events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.catalogs import common_options
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import DomainError, Forbidden, ItemError, PreconditionFailed
from kartoteka.fields.base import FieldValueError
from kartoteka.storage import bulk, schema
from kartoteka.storage.engine import utcnow

from .errors import RecordInvalid, RecordNotFound
from .events import EVENT_COUNTER, record_events

__all__ = ["EVENT_COUNTER", "Prepared", "prepare", "prepare_stored", "record_events"]


@dataclass
class Prepared:
    """One record's validated input: column values and link lists, keyed by field.

    `where` and `index` say which item of the request it is (index None for
    single-record calls), so every error can name it as an `ItemError`.
    """

    where: str
    index: int | None
    record_id: int | None
    columns: dict[str, Any] = field(default_factory=dict)  # column -> db value
    links: dict[int, list[int]] = field(default_factory=dict)  # field id -> ids
    given: dict[int, Any] = field(default_factory=dict)  # field id -> db value or ids
    version: int | None = None  # the version the caller expects (If-Match)
    upserted: bool = False
    #: An import keeping the file's dates and authors (created_at, updated_by...); None
    #: for every other write. History calls such a create "import".
    stamps: dict[str, Any] | None = None
    #: The scenario run/step marker of this item's event when it differs per item.
    scenario: Any = None

    def error(self, field: str | None, code: str, **params: Any) -> ItemError:
        """An error about this item."""
        return ItemError(self.where, self.index, field, code, params)


def invalid(*errors: ItemError) -> RecordInvalid:
    """A validation error made of typed item errors."""
    return RecordInvalid(errors=errors)


def value_error(where: str, index: int | None, key: str, exc: FieldValueError) -> ItemError:
    """A field type's refusal as an item error."""
    return ItemError(where, index, key, exc.code, exc.params)


def prepare(
    actor: Actor,
    catalog: Catalog,
    values: Any,
    *,
    creating: bool,
    where: str = "create",
    index: int | None = None,
    record_id: int | None = None,
    rules: dict[str, str] | None = None,
) -> Prepared:
    """Validate one record's values with the field types; nothing touches the database.

    `rules` are the actor's field rules; batches pass them once for all records.
    """
    if not isinstance(values, Mapping):
        raise invalid(ItemError(where, index, "values", "values_object"))
    if rules is None:
        rules = access.field_rules(actor, catalog)
    errors: list[ItemError] = []
    out = Prepared(where=where, index=index, record_id=record_id)
    for key, value in values.items():
        f = catalog.by_api_name.get(key)
        rule = rules.get(key)
        if f is None or rule == "hidden":
            errors.append(out.error(str(key)[:100], "unknown_field"))
            continue
        if f.ftype.read_only:
            errors.append(out.error(key, "read_only_field"))
            continue
        if rule in ("read_only", "masked"):
            raise Forbidden(errors=[out.error(key, "field_forbidden")], field=key)
        try:
            db_value = f.ftype.to_db(value, f, actor)
        except FieldValueError as exc:
            errors.append(value_error(where, index, key, exc))
            continue
        _accept(out, f, db_value, errors)
    _finish(catalog, out, creating, errors, actor)
    return out


def prepare_stored(
    catalog: Catalog,
    values: dict[int, Any],
    *,
    creating: bool,
    rules: dict[str, str],
    where: str = "create",
    index: int | None = None,
    record_id: int | None = None,
    actor: Actor | None = None,
    verdicts: dict[int, str] | None = None,
) -> Prepared:
    """`prepare` for values (by field id) `to_db` already normalised: the importer converts
    each distinct cell text once. Rights, defaults and required checks are the same; a
    batch passes `stored_verdicts` once for all its rows."""
    if verdicts is None:
        verdicts = stored_verdicts(catalog, rules)
    errors: list[ItemError] = []
    out = Prepared(where, index, record_id)
    by_id = catalog.by_id
    for fid, db_value in values.items():
        verdict = verdicts[fid]
        f = by_id[fid]
        if verdict == "ok":
            _accept(out, f, db_value, errors)
        elif verdict == "field_forbidden":
            raise Forbidden(errors=[out.error(f.api_name, verdict)], field=f.api_name)
        else:
            errors.append(out.error(f.api_name, verdict))
    _finish(catalog, out, creating, errors, actor)
    return out


def stored_verdicts(catalog: Catalog, rules: dict[str, str]) -> dict[int, str]:
    """Per field id, what `prepare_stored` does with a value: "ok" or the error code."""
    out = {}
    for f in catalog.fields:
        rule = rules.get(f.api_name)
        if rule == "hidden":
            out[f.id] = "unknown_field"
        elif f.ftype.read_only:
            out[f.id] = "read_only_field"
        elif rule in ("read_only", "masked"):
            out[f.id] = "field_forbidden"
        else:
            out[f.id] = "ok"
    return out


def _accept(out: Prepared, f: Field, db_value: Any, errors: list[ItemError]) -> None:
    """Take one normalised value into the item (a required field must not be empty)."""
    if f.required and f.ftype.is_empty(db_value):
        errors.append(out.error(f.api_name, "required"))
        return
    out.given[f.id] = db_value
    if f.is_link:
        out.links[f.id] = db_value
    else:
        out.columns[f.col] = db_value


def _finish(
    catalog: Catalog,
    out: Prepared,
    creating: bool,
    errors: list[ItemError],
    actor: Actor | None = None,
) -> None:
    """A new record gets defaults and needs every required field; raise the item's errors."""
    if creating:
        named = {e.field for e in errors}
        common_options.fill_defaults(catalog, out.given, out.columns, actor)
        for f in catalog.fields:
            if f.required and f.id not in out.given and f.api_name not in named:
                errors.append(out.error(f.api_name, "required"))
    if errors:
        raise invalid(*errors)


def check_unique(conn: Connection, catalog: Catalog, items: list[Prepared]) -> None:
    """Unique fields: no duplicates inside the batch nor against other records."""
    table = catalog.table
    for f in catalog.fields:
        if not f.unique or not f.column:
            continue
        seen: dict[Any, Prepared] = {}
        for item in items:
            v = item.columns.get(f.column)
            if v is None:
                continue
            key = v.lower() if isinstance(v, str) else v
            if key in seen:
                raise invalid(item.error(f.api_name, "unique_repeats", value=v))
            seen[key] = item
        if not seen:
            continue
        own = {i.record_id for i in items if i.record_id}
        values = [i.columns[f.column] for i in items if i.columns.get(f.column) is not None]
        col = table.c[f.column]
        for match in in_chunks(conn, col, values):
            for rid, v in conn.execute(sa.select(table.c.id, col).where(match)):
                if rid not in own:
                    item = next(i for i in items if i.columns.get(f.column) == v)
                    raise invalid(item.error(f.api_name, "unique_exists", value=v))


# ----- writing ---------------------------------------------------------------------------
def insert_rows(
    conn: Connection, actor: Actor, catalog: Catalog, items: list[Prepared]
) -> list[int]:
    """Insert new rows (autonumbers assigned) and their links; returns ids in order."""
    if not items:
        return []
    now = utcnow()
    table = catalog.table
    columns = [f.column for f in catalog.fields if f.column and f.ftype.storage == "column"]
    given = set().union(*[item.columns.keys() for item in items])
    columns += sorted(given.difference(columns))
    # Column by column (no dict per row); `version` is left to its server default (1).
    data: dict[str, Sequence[Any] | bulk.Same] = {
        c: [item.columns.get(c) for item in items] for c in columns
    }
    if any(item.stamps for item in items):
        stamps = [_stamps_on_create(item.stamps or {}) for item in items]
        for name, value in (
            ("created_at", now), ("updated_at", now),
            ("created_by", actor.user_id), ("updated_by", actor.user_id),
        ):  # fmt: skip
            data[name] = [s.get(name, value) for s in stamps]
    else:
        data.update(
            created_at=bulk.Same(now),
            updated_at=bulk.Same(now),
            created_by=bulk.Same(actor.user_id),
            updated_by=bulk.Same(actor.user_id),
        )
    for f in catalog.fields:
        numbers = f.ftype.values_on_create(conn, f, len(items))
        if numbers is not None:
            data[f.col] = numbers
            for item, value in zip(items, numbers, strict=True):
                item.given[f.id] = value
    ids = bulk.reserve_ids(conn, table, len(items))
    data["id"] = ids
    bulk.insert_columns(conn, table, len(items), data)
    for item, rid in zip(items, ids, strict=True):
        item.record_id = rid
    write_links(conn, items, replace=False)
    attach_files(conn, catalog, items, replace=False)
    return ids


def _stamps_on_create(stamps: dict[str, Any]) -> dict[str, Any]:
    """A new record's stamps from a file: an updated_* it leaves out is its created_*."""
    out = dict(stamps)
    for updated, created in (("updated_at", "created_at"), ("updated_by", "created_by")):
        if updated not in out and created in out:
            out[updated] = out[created]
    return out


def write_links(conn: Connection, items: list[Prepared], replace: bool) -> None:
    """Store link lists; on update the old links of the given fields are replaced."""
    links = schema.links
    if replace:
        # One DELETE per link field and 900 records, not one per record and field.
        sources: dict[int, list[int]] = {}
        for item in items:
            for fid in item.links:
                if item.record_id is not None:
                    sources.setdefault(fid, []).append(item.record_id)
        for fid, ids in sources.items():
            for start in range(0, len(ids), 900):
                chunk = ids[start : start + 900]
                conn.execute(
                    sa.delete(links).where(links.c.field_id == fid, links.c.src_id.in_(chunk))
                )
    rows = [
        (fid, item.record_id, dst, pos)
        for item in items
        for fid, dsts in item.links.items()
        for pos, dst in enumerate(dsts)
    ]
    if rows:
        fids, from_ids, to_ids, positions = zip(*rows, strict=True)
        bulk.insert_columns(
            conn,
            links,
            len(rows),
            {"field_id": fids, "src_id": from_ids, "dst_id": to_ids, "position": positions},
        )


def attach_files(
    conn: Connection, catalog: Catalog, items: list[Prepared], *, replace: bool
) -> None:
    """Mark uploaded files as held by the record (rights on files follow the record).

    With `replace` (an update), files the new value leaves out are marked detached: they
    keep pointing at the record so its history can put them back, and the files garbage
    collection deletes them only once nothing can (docs/decisions/0020).
    """
    t = schema.files
    now = utcnow()
    for f in catalog.fields:
        if f.ftype.references != "files":
            continue
        given = [
            (item, f.ftype.referenced_ids(item.given[f.id])) for item in items if f.id in item.given
        ]
        for item, ids in given:
            if ids:
                conn.execute(
                    sa.update(t)
                    .where(t.c.id.in_(ids))
                    .values(
                        catalog_id=catalog.id,
                        record_id=item.record_id,
                        field_id=f.id,
                        detached_at=None,
                    )
                )
        if replace:
            for start in range(0, len(given), 400):
                chunk = given[start : start + 400]
                kept = [i for _, ids in chunk for i in ids]
                conn.execute(
                    sa.update(t)
                    .where(
                        t.c.catalog_id == catalog.id,
                        t.c.record_id.in_([item.record_id for item, _ in chunk]),
                        t.c.field_id == f.id,
                        t.c.detached_at.is_(None),
                        t.c.id.not_in(kept),
                    )
                    .values(detached_at=now)
                )


def update_rows(conn: Connection, actor: Actor, catalog: Catalog, items: list[Prepared]) -> None:
    """Write changed columns (grouped by column set for executemany) and links."""
    now = utcnow()
    table = catalog.table
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    params: dict[str, Any]
    for item in items:
        params = {f"p_{k}": v for k, v in item.columns.items()}
        params.update(rid=item.record_id, p_updated_at=now, p_updated_by=actor.user_id)
        if item.stamps:
            params["p_updated_at"] = item.stamps.get("updated_at", now)
            params["p_updated_by"] = item.stamps.get("updated_by", actor.user_id)
        groups.setdefault(tuple(sorted(item.columns)), []).append(params)
    for cols, group in groups.items():
        values: dict[str, Any] = {
            c: sa.bindparam(f"p_{c}") for c in (*cols, "updated_at", "updated_by")
        }
        if "version" in table.c:
            values["version"] = table.c.version + 1
        stmt = sa.update(table).where(table.c.id == sa.bindparam("rid")).values(values)
        conn.execute(stmt, group)
    write_links(conn, items, replace=True)
    attach_files(conn, catalog, items, replace=True)


def touch_rows(conn: Connection, actor: Actor, catalog: Catalog, ids: list[int]) -> None:
    """A new version for records changed outside `update_rows` (links to them removed)."""
    table = catalog.table
    if not ids or "version" not in table.c:
        return
    for start in range(0, len(ids), 900):
        conn.execute(
            sa.update(table)
            .where(table.c.id.in_(ids[start : start + 900]))
            .values(version=table.c.version + 1)
        )


def load_current(
    conn: Connection,
    actor: Actor,
    catalog: Catalog,
    items: list[Prepared],
    action: str,
    *,
    lock: bool = True,
    columns: list[str] | None = None,
) -> dict[int, Any]:
    """Current rows of the items' records, which the actor must be allowed to `action`.

    A record the actor cannot see is a 404; one they see but may not change is a 403;
    an item expecting another version than the row's is a 412. On PostgreSQL the rows
    are locked until commit (unless `lock` is False), so the version compared is the
    one written over. `columns`: only these besides `id` and `version` (None: all).
    """
    table = catalog.table
    rights = access.record_filter(actor, catalog, action)
    ids = [i.record_id for i in items if i.record_id is not None]
    found: dict[int, Any] = {}
    read: list[Any] = [table]
    if columns is not None:
        wanted = ["id", *(["version"] if "version" in table.c else []), *columns]
        read = [table.c[c] for c in dict.fromkeys(wanted)]
    for match in in_chunks(conn, table.c.id, ids):
        q = sa.select(*read).where(match)
        if rights is not None:
            q = q.where(rights)
        if lock and conn.dialect.name == "postgresql":
            q = q.with_for_update()
        found.update({r.id: r for r in conn.execute(q)})
    for item in items:
        row = found.get(item.record_id)  # type: ignore[arg-type]
        if row is None:
            raise _missing(conn, actor, catalog, item, action)
        if item.version is not None and "version" in table.c and row.version != item.version:
            raise PreconditionFailed(
                {"id": row.id, "version": row.version},
                errors=[
                    item.error(
                        None,
                        "version_mismatch",
                        id=row.id,
                        expected=item.version,
                        current=row.version,
                    )
                ],
            )
    return found


def in_chunks(conn: Connection, col: Any, values: list[Any]) -> list[Any]:
    """`col IN values` as one condition with one bound parameter when the values allow
    it (`bulk.values_in`), else as IN lists of 900."""
    one = bulk.values_in(conn, col, values)
    if one is not None:
        return [one]
    return [col.in_(values[start : start + 900]) for start in range(0, len(values), 900)]


def _missing(
    conn: Connection, actor: Actor, catalog: Catalog, item: Prepared, action: str
) -> DomainError:
    """Why a record is not there for `action`: unseen (404) or seen but not allowed (403)."""
    table = catalog.table
    q = sa.select(table.c.id).where(table.c.id == item.record_id)
    view = access.record_filter(actor, catalog, "view")
    if view is not None:
        q = q.where(view)
    if action != "view" and conn.execute(q).first() is not None:
        code = "delete_forbidden" if action == "delete" else "edit_forbidden"
        return Forbidden(errors=[item.error(None, code, id=item.record_id)])
    if item.where == "upsert":
        # The key matched a record this actor cannot see: say so without naming it.
        return invalid(item.error(None, "key_unavailable"))
    return RecordNotFound(errors=[item.error(None, "record_not_found", id=item.record_id)])
