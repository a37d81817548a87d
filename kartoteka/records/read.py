"""Rendering stored rows as API records, with links, users and files looked up in bulk."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import RecordInvalid
from kartoteka.fields.datetime import render_datetime
from kartoteka.storage import schema

NAMES_TTL = 5.0


def file_url(actor: Actor, file_id: int, thumbnail: bool = False) -> str:
    """Public path of a file (workspace-prefixed unless it is the default workspace)."""
    ws = actor.workspace
    prefix = "" if ws.name == ws.settings.default_workspace else f"/w/{ws.name}"
    return f"{prefix}/api/v1/files/{file_id}" + ("/thumbnail" if thumbnail else "")


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
    out: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 900):
        q = sa.select(table.c.id, col).where(table.c.id.in_(ordered[start : start + 900]))
        if seen is not None:
            q = q.where(seen)
        out.update({rid: title_text(catalog, raw, rid) for rid, raw in conn.execute(q)})
    return out


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


def visible_fields(actor: Actor, catalog: Catalog, only: list[str] | None) -> list[Field]:
    """Fields to render: not hidden for the actor, limited to `only` when given.

    A name in `only` that is hidden is answered like an unknown one (422), never
    silently dropped: the difference would tell which hidden fields exist.
    """
    rules = access.field_rules(actor, catalog)
    fields = [f for f in catalog.fields if rules.get(f.api_name) != "hidden"]
    if only is not None:
        wanted = set(only)
        shown = {f.api_name for f in fields}
        for name in only:
            if name not in shown and not catalog.pseudo_field(name):
                raise RecordInvalid(
                    f"unknown field {name!r}", fields={"fields": f"unknown field {name!r}"}
                )
        fields = [f for f in fields if f.api_name in wanted]
    return fields


def load_links(
    conn: Connection, fields: list[Field], ids: list[int]
) -> dict[int, dict[int, list[int]]]:
    """field id -> record id -> linked record ids, in link order."""
    result: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    link_ids = [f.id for f in fields if f.is_link]
    if not link_ids or not ids:
        return result
    links = schema.links
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = conn.execute(
            sa.select(links.c.field_id, links.c.src_id, links.c.dst_id)
            .where(links.c.field_id.in_(link_ids), links.c.src_id.in_(chunk))
            .order_by(links.c.position, links.c.dst_id)
        )
        for fid, src, dst in rows:
            result[fid][src].append(dst)
    return result


class Renderer:
    """Turns raw rows of one catalog into record JSON for one actor."""

    def __init__(
        self, conn: Connection, actor: Actor, catalog: Catalog, only: list[str] | None = None
    ) -> None:
        self.conn = conn
        self.actor = actor
        self.catalog = catalog
        self.fields = visible_fields(actor, catalog, only)
        self.view = FieldView.of(actor, catalog)
        self.rules = self.view.rules
        # Per-field facts looked up once per render, not once per value (a list page
        # renders 100 x 20 values; the lookups were most of its time).
        self.plan = [
            (f, f.api_name, f.storage_column, self.rules.get(f.api_name) == "masked")
            for f in self.fields
        ]

    def render(self, rows: list[Any]) -> list[dict[str, Any]]:
        """Records for these rows (each row has the catalog table's columns)."""
        ids = [r.id for r in rows]
        links = load_links(self.conn, self.fields, ids)
        link_titles = self._link_titles(links)
        user_ids: set[int] = set()
        file_ids: set[int] = set()
        for r in rows:
            m = r._mapping
            user_ids.update(x for x in (m["created_by"], m["updated_by"]) if x)
            for f in self.fields:
                ref = f.ftype.references
                if ref and f.storage_column:
                    target = user_ids if ref == "users" else file_ids
                    target.update(f.ftype.referenced_ids(m[f.storage_column]))
        users = self._users(user_ids)
        files = self._files(file_ids)
        keys = rows[0]._fields if rows else ()
        return [
            self._one(dict(zip(keys, r, strict=True)), links, link_titles, users, files)
            for r in rows
        ]

    def _link_titles(
        self, links: dict[int, dict[int, list[int]]]
    ) -> dict[int, dict[int, dict[str, Any]]]:
        out: dict[int, dict[int, dict[str, Any]]] = {}
        for f in self.fields:
            if not f.is_link or f.id not in links:
                continue
            ids = {d for dsts in links[f.id].values() for d in dsts}
            out[f.id] = link_items(self.conn, self.actor, f, ids)
        return out

    def _users(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        # Names of authors are on every record; a short-lived per-process cache saves a
        # query per request (a renamed user shows the new name within NAMES_TTL).
        cache = self.actor.workspace.meta_holder.setdefault("user_names", {})
        now = time.monotonic()
        found = {i: cache[i][0] for i in ids if i in cache and cache[i][1] > now}
        missing = sorted(ids - found.keys())
        if missing:
            u = schema.users
            rows = self.conn.execute(sa.select(u.c.id, u.c.name).where(u.c.id.in_(missing)))
            for r in rows:
                found[r.id] = r.name
                cache[r.id] = (r.name, now + NAMES_TTL)
        return found

    def _files(self, ids: set[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        f = schema.files
        rows = self.conn.execute(
            sa.select(f.c.id, f.c.name, f.c.size, f.c.mime).where(f.c.id.in_(sorted(ids)))
        )
        out = {}
        for r in rows:
            item = {
                "id": r.id,
                "name": r.name,
                "size": r.size,
                "mime": r.mime,
                "url": file_url(self.actor, r.id),
            }
            if r.mime.startswith("image/"):
                item["thumbnail_url"] = file_url(self.actor, r.id, thumbnail=True)
            out[r.id] = item
        return out

    def _user_ref(self, users: dict[int, str], uid: int | None) -> dict[str, Any] | None:
        return None if uid is None else {"id": uid, "name": users.get(uid)}

    def _one(self, m: dict[str, Any], links, link_titles, users, files) -> dict[str, Any]:
        rid = m["id"]
        values: dict[str, Any] = {}
        title_raw = None
        title_field = self.catalog.title_field
        for f, api_name, column, masked in self.plan:
            values[api_name] = self._value(
                f, column, masked, m, rid, links, link_titles, users, files
            )
        if title_field is not None and title_field.storage_column in m:
            title_raw = m[title_field.storage_column]
        record = {
            "id": rid,
            "catalog": {"id": self.catalog.id, "api_name": self.catalog.api_name},
            "title": self.view.title(title_text(self.catalog, title_raw, rid), rid),
            "values": values,
            "created_at": render_datetime(m["created_at"]),
            "updated_at": render_datetime(m["updated_at"]),
            "created_by": self._user_ref(users, m["created_by"]),
            "updated_by": self._user_ref(users, m["updated_by"]),
            # The optimistic-concurrency token (If-Match); system catalogs have none.
            "version": m.get("version"),
        }
        return record

    def _value(self, f, column, masked, m, rid, links, link_titles, users, files) -> Any:
        ftype = f.ftype
        if f.is_link:
            items = link_titles.get(f.id, {})
            linked = [
                items.get(d) or {"id": d, "title": f"#{d}", "restricted": True}
                for d in links.get(f.id, {}).get(rid, [])
            ]
            return self.view.value(f, linked) if masked else linked
        raw = m.get(column)
        value = ftype.from_db(raw, f, self.actor)
        ref = ftype.references
        if ref == "users":
            if isinstance(value, list):
                value = [{"id": v["id"], "name": users.get(v["id"])} for v in value]
            elif value is not None:
                value = {"id": value["id"], "name": users.get(value["id"])}
        elif ref == "files":
            value = [files[v["id"]] for v in value if v["id"] in files]
        if masked:
            value = self.view.value(f, value)
        return value
