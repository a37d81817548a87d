"""Rendering stored rows as API records, with links, users and files looked up in bulk."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView, masked
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import RecordInvalid
from kartoteka.fields.datetime import render_datetime
from kartoteka.storage import kept, schema

from .linked import LinkTitles, kept_statement, links_with_titles
from .values import Column, values_maker

NAMES_TTL = 5.0


def file_url(actor: Actor, file_id: int, thumbnail: bool = False) -> str:
    """Public path of a file (workspace-prefixed unless it is the default workspace)."""
    ws = actor.workspace
    prefix = "" if ws.name == ws.settings.default_workspace else f"/w/{ws.name}"
    return f"{prefix}/api/v1/files/{file_id}" + ("/thumbnail" if thumbnail else "")


def visible_fields(actor: Actor, catalog: Catalog, only: list[str] | None) -> list[Field]:
    """Fields to render: not hidden for the actor, limited to `only` when given.

    A name in `only` that is hidden is answered like an unknown one (422), never
    silently dropped: the difference would tell which hidden fields exist.
    """
    return _visible(catalog, access.field_rules(actor, catalog), only)


def _visible(catalog: Catalog, rules: dict[str, str], only: list[str] | None) -> list[Field]:
    fields = [f for f in catalog.fields if rules.get(f.api_name) != "hidden"]
    if only is not None:
        wanted = set(only)
        shown = {f.api_name for f in fields}
        for name in only:
            if name not in shown and not catalog.pseudo_field(name):
                raise RecordInvalid.of("field_list_unknown", "fields", name=name)
        fields = [f for f in fields if f.api_name in wanted]
    return fields


#: How a layout column gets its reader on each page: ready (the same reader for every
#: page), or made from what the page looked up (links, users, files) or for its reader.
READY, LINK, USERS, FILES, FOR_ACTOR = range(5)
#: (api_name, row position, reader or None, kind, field, masked)
Slot = tuple[str, int, "Callable[[Any], Any] | None", int, Field, bool]


class Layout:
    """What rendering a catalog's rows settles from the catalog, the reader's field rules
    and `fields=` alone: the fields shown, which of them are links or refer to users and
    files, and per row shape the position and reader of each column.

    Kept per (catalog object, rules, `fields=`) by `layout`: a GET of one record rebuilt
    all of this per request (60 `is_link` and 21 readers for a 20-field catalog: a sixth
    of the service's CPU, issue 16). A catalog object lives until its metadata changes.
    """

    __slots__ = ("fields", "links", "references", "_catalog", "_rules", "_shapes")

    def __init__(self, catalog: Catalog, rules: dict[str, str], only: list[str] | None) -> None:
        self.fields = _visible(catalog, rules, only)
        self.links = [f for f in self.fields if f.is_link]
        self.references = [f for f in self.fields if f.ftype.references and not f.is_link]
        self._catalog = catalog
        self._rules = dict(rules)
        self._shapes: dict[tuple[str, ...], Shape] = {}

    def shape(self, keys: tuple[str, ...]) -> Shape:
        """For rows with these columns: where each column is, each field's slot, the
        title's reader and, when every slot is ready, the row's values function."""
        got = self._shapes.get(keys)
        if got is None:
            at = {key: i for i, key in enumerate(keys)}
            slots = [self._slot(f, at) for f in self.fields]
            ready = [(name, i, fn) for name, i, fn, *_ in slots if fn is not None]
            got = Shape(
                at,
                slots,
                values_maker(ready) if len(ready) == len(slots) else None,
                _title_reader(self._catalog, FieldView(self._catalog, self._rules), at),
            )
            if len(self._shapes) < 8:  # a catalog's statements select one or two shapes
                self._shapes[keys] = got
        return got

    def _slot(self, f: Field, at: dict[str, int]) -> Slot:
        masked_ = self._rules.get(f.api_name) == "masked"
        if f.is_link:
            return (f.api_name, at["id"], None, LINK, f, masked_)
        i = at.get(f.storage_column or "", -1)
        ref = f.ftype.references
        if ref == "users":
            return (f.api_name, i, None, USERS, f, masked_)
        if ref == "files":
            return (f.api_name, i, None, FILES, f, masked_)
        if f.ftype.reads_for_actor:
            return (f.api_name, i, None, FOR_ACTOR, f, masked_)
        fn = f.ftype.reader(f, None)
        if i < 0:  # not among the row's columns: shown as empty, as before
            i, fn = at["id"], _empty(fn)
        if masked_:
            fn = _masked_reader(fn, f)
        return (f.api_name, i, fn, READY, f, False)


class Shape(NamedTuple):
    """A `Layout` for rows of one shape of columns (`Layout.shape`)."""

    #: column name -> position in the row
    at: dict[str, int]
    slots: list[Slot]
    #: the row's `values` when no field's reader depends on the page (else None: made
    #: per page from what it looked up)
    values: Callable[[Any], dict[str, Any]] | None
    #: the row's title as the layout's field rules show it
    title: Callable[[Any, int], str]


def _title_reader(
    catalog: Catalog, view: FieldView, at: dict[str, int]
) -> Callable[[Any, int], str]:
    """A row's title as a reader with `view`'s field rules may see it (`#id` without a
    title field). Made once per layout and shape: it depends on nothing else."""
    field = catalog.title_field
    column = field.storage_column if field is not None else None
    title = view.title
    if field is None or column not in at:
        return lambda row, rid: title(f"#{rid}", rid)
    i, read, to_text = at[column], field.ftype.reader(field, None), field.ftype.to_text
    if view.rules.get(field.api_name) is not None:  # hidden or masked: as `view.title` says

        def ruled_title(row: Any, rid: int) -> str:
            raw = row[i]
            text = None if raw is None else to_text(read(raw), field)
            return title(text or f"#{rid}", rid)

        return ruled_title

    def title_of(row: Any, rid: int) -> str:
        raw = row[i]
        text = None if raw is None else to_text(read(raw), field)
        return text or f"#{rid}"  # what `view.title` gives with no rule on the field

    return title_of


_layouts: OrderedDict[tuple[Any, ...], tuple[Catalog, Layout]] = OrderedDict()
_layouts_lock = threading.Lock()
LAYOUT_CACHE_SIZE = 512


def layout(catalog: Catalog, rules: dict[str, str], only: list[str] | None) -> Layout:
    """The kept `Layout` of a catalog for these field rules and `fields=`."""
    key = (id(catalog), tuple(rules.items()), None if only is None else tuple(only))
    with _layouts_lock:
        hit = _layouts.get(key)
        if hit is not None and hit[0] is catalog:
            _layouts.move_to_end(key)
            return hit[1]
    made = Layout(catalog, rules, only)  # an unknown name in `only` raises: nothing kept
    with _layouts_lock:
        _layouts[key] = (catalog, made)
        while len(_layouts) > LAYOUT_CACHE_SIZE:
            _layouts.popitem(last=False)
    return made


class Renderer:
    """Turns raw rows of one catalog into record JSON for one actor.

    Everything that is the same for every row (which fields show, their readers, masks,
    the positions of their columns) is settled once per catalog, rules and row shape
    (`Layout`); each row is then one pass of plain function calls (issue 16: a page of
    100 records x 20 fields was 2,000 generic `from_db` dispatches with option lookups).
    """

    def __init__(
        self, conn: Connection, actor: Actor, catalog: Catalog, only: list[str] | None = None
    ) -> None:
        self.conn = conn
        self.actor = actor
        self.catalog = catalog
        self.view = FieldView.of(actor, catalog)
        self.rules = self.view.rules
        self.layout = layout(catalog, self.rules, only)
        self.fields = self.layout.fields

    def render(self, rows: list[Any]) -> list[dict[str, Any]]:
        """Records for these rows (each row has the catalog table's columns)."""
        if not rows:
            return []
        at, slots, ready_values, title_of = self.layout.shape(tuple(rows[0]._fields))
        id_at = at["id"]
        ids = [r[id_at] for r in rows]
        links, link_titles = (
            links_with_titles(self.conn, self.actor, self.layout.links, ids)
            if self.layout.links
            else ({}, {})
        )
        user_ids, file_ids = self._referenced(rows, at)
        users = self._users(user_ids)
        files = self._files(file_ids)
        values_of = ready_values or values_maker(
            self._columns(slots, at, links, link_titles, users, files)
        )
        created_at, updated_at = at["created_at"], at["updated_at"]
        created_by, updated_by = at["created_by"], at["updated_by"]
        version_at = at.get("version")
        catalog_id, catalog_api = self.catalog.id, self.catalog.api_name
        out = []
        for r in rows:
            rid = r[id_at]
            by_at, ub_at = r[created_by], r[updated_by]
            out.append(
                {
                    "id": rid,
                    "catalog": {"id": catalog_id, "api_name": catalog_api},
                    "title": title_of(r, rid),
                    "values": values_of(r),
                    "created_at": render_datetime(r[created_at]),
                    "updated_at": render_datetime(r[updated_at]),
                    "created_by": None
                    if by_at is None
                    else {"id": by_at, "name": users.get(by_at)},
                    "updated_by": None
                    if ub_at is None
                    else {"id": ub_at, "name": users.get(ub_at)},
                    # The optimistic-concurrency token (If-Match); system catalogs have none.
                    "version": None if version_at is None else r[version_at],
                }
            )
        return out

    def _referenced(self, rows: list[Any], at: dict[str, int]) -> tuple[set[int], set[int]]:
        """Ids of the users (authors and user fields) and files the rows refer to."""
        user_ids: set[int] = set()
        file_ids: set[int] = set()
        for key in ("created_by", "updated_by"):
            i = at[key]
            user_ids.update(r[i] for r in rows if r[i])
        for f in self.layout.references:
            if f.storage_column in at:
                ref = f.ftype.references
                i, target = at[f.storage_column], (user_ids if ref == "users" else file_ids)
                for r in rows:
                    target.update(f.ftype.referenced_ids(r[i]))
        return user_ids, file_ids

    def _columns(
        self,
        slots: list[Slot],
        at: dict[str, int],
        links: dict[int, dict[int, list[int]]],
        link_titles: LinkTitles,
        users: dict[int, str],
        files: dict[int, dict[str, Any]],
    ) -> list[Column]:
        """Every shown field as a column: the layout's ready readers as they are, the
        others made from what this page looked up."""
        columns: list[Column] = []
        for name, i, fn, kind, f, masked_ in slots:
            if fn is not None:
                columns.append((name, i, fn))
                continue
            if kind == LINK:
                fn = _link_reader(links.get(f.id, {}), link_titles.get(f.id, {}))
            else:
                fn = f.ftype.reader(f, self.actor)
                if kind == USERS:
                    fn = _with_user_names(fn, users)
                elif kind == FILES:
                    fn = _with_file_items(fn, files)
                if i < 0:  # not among the row's columns: shown as empty, as before
                    i, fn = at["id"], _empty(fn)
            if masked_:
                fn = _masked_reader(fn, f)
            columns.append((name, i, fn))
        return columns

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
            u, dialect = schema.users, self.conn.dialect.name
            q = kept_statement(
                (u, dialect),
                lambda: sa.select(u.c.id, u.c.name).where(kept.in_ids(u.c.id, dialect)),
            )
            for r in kept.all_rows(self.conn, q, "ids", kept.ids_value(dialect, missing)):
                found[r.id] = r.name
                cache[r.id] = (r.name, now + NAMES_TTL)
        return found

    def _files(self, ids: set[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        f, dialect = schema.files, self.conn.dialect.name
        q = kept_statement(
            (f, dialect),
            lambda: sa.select(f.c.id, f.c.name, f.c.size, f.c.mime).where(
                kept.in_ids(f.c.id, dialect)
            ),
        )
        out = {}
        for r in kept.all_rows(self.conn, q, "ids", kept.ids_value(dialect, sorted(ids))):
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


def _link_reader(
    by_record: dict[int, list[int]], items: dict[int, dict[str, Any]]
) -> Callable[[int], list[dict[str, Any]]]:
    """A link field's value from the record id: the linked records, titles withheld where
    the reader may not see them."""

    def read(rid: int) -> list[dict[str, Any]]:
        return [
            items.get(d) or {"id": d, "title": f"#{d}", "restricted": True}
            for d in by_record.get(rid, ())
        ]

    return read


def _with_user_names(read: Callable[[Any], Any], names: dict[int, str]) -> Callable[[Any], Any]:
    """A user field's reader with the names filled in (looked up once per page)."""

    def named(raw: Any) -> Any:
        value = read(raw)
        if isinstance(value, list):
            return [{"id": v["id"], "name": names.get(v["id"])} for v in value]
        return None if value is None else {"id": value["id"], "name": names.get(value["id"])}

    return named


def _with_file_items(
    read: Callable[[Any], Any], files: dict[int, dict[str, Any]]
) -> Callable[[Any], Any]:
    """A file field's reader with each file's metadata (looked up once per page)."""
    return lambda raw: [files[v["id"]] for v in read(raw) if v["id"] in files]


def _empty(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A reader that renders no stored value, whatever it is given."""
    return lambda _: read(None)


def _masked_reader(read: Callable[[Any], Any], field: Field) -> Callable[[Any], Any]:
    """A reader whose values come out masked (the field's rule for this reader)."""
    return lambda raw: masked(field, read(raw))
