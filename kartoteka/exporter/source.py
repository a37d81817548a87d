"""The records an export reads: one query over the rows the reader may see, in chunks.

The list API pages with keyset cursors and renders each record as a JSON object;
an export of a million rows does neither. It compiles the same filter, view, sort,
record rules and field rules (`records.query`, `access`, `FieldView`) into one
SELECT, streams its rows from one snapshot (`storage.engine.stream_rows`) and turns
them into columns, one field at a time. Fields whose values need other tables (links,
users, files) go through `records.read.Renderer`, the list API's own renderer, chunk by
chunk; every other column is handed on as stored, and `cells.py` turns it into cells
by the field type's rules (masked where the reader's field rule says so). Without such
fields the SELECT names only `id` and the exported fields' columns.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import ValidationFailed
from kartoteka.fields.base import TEXT_EXPORT, ExportType
from kartoteka.records import query
from kartoteka.records.read import Renderer, visible_fields
from kartoteka.storage.engine import read_connection, stream_rows
from kartoteka.views.service import get_view

from .cells import Cells, cells

#: Rows read and converted at a time: large enough that per-chunk costs vanish, small
#: enough that a chunk of wide rows stays a few MB.
CHUNK = 5000


@dataclass(frozen=True)
class Column:
    """One exported field as this reader sees it."""

    field: Field
    #: The typed-export type; masked fields are text (a mask is not a number).
    type: ExportType
    masked: bool
    #: Its values need other tables (links, users, files): rendered by `Renderer`.
    looked_up: bool
    #: Its values (stored, or rendered when looked up) -> CSV texts and typed values.
    cells: Cells

    @property
    def name(self) -> str:
        """The column header: the field's name."""
        return self.field.name


@dataclass
class Chunk:
    """Consecutive exported records: their ids and, per column, its values (as stored, or
    as the records API renders them for looked-up columns); `Column.cells` writes them."""

    ids: list[int]
    values: list[list[Any]]


@dataclass
class Source:
    """An export's query and columns, checked before the first byte is sent."""

    actor: Actor
    catalog: Catalog
    columns: list[Column]
    #: The SELECT of `chunks`: ids and the exported columns (whole rows with lookups).
    statement: Any
    where: list[Any]
    #: The same rows, whole: the records renderer of `records` reads every column.
    whole: Any

    def count(self) -> int:
        """How many records the export will write (for a progress bar)."""
        table = self.catalog.table
        q = sa.select(sa.func.count()).select_from(table).where(*self.where)
        with read_connection(self.actor.workspace.engine) as conn:
            return int(conn.execute(q).scalar_one())

    def chunks(self, size: int | None = None) -> Iterator[Chunk]:
        """The records in order, `size` (default `CHUNK`) at a time."""
        size = size or CHUNK
        engine = self.actor.workspace.engine
        looked_up = [c for c in self.columns if c.looked_up]
        names = list(self.statement.selected_columns.keys())
        # A position per column, taken from the rows with a C-level getter (no call
        # per value of ours): far cheaper than a name per value.
        ids = itemgetter(names.index("id"))
        getters = [
            None if c.looked_up else itemgetter(names.index(_stored(c))) for c in self.columns
        ]
        with read_connection(engine) as lookups:
            batches = stream_rows(engine, self.statement, size)
            while True:
                with collector_paused():
                    rows = next(batches, None)
                    if rows is None:
                        return
                    rendered = _looked_up(lookups, self.actor, self.catalog, looked_up, rows)
                    values = [
                        rendered[c.field.api_name] if get is None else list(map(get, rows))
                        for c, get in zip(self.columns, getters, strict=True)
                    ]
                    chunk = Chunk(list(map(ids, rows)), values)
                yield chunk

    def records(self, size: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """The records as the list API renders them (title, values, authors...), in chunks."""
        size = size or CHUNK
        engine = self.actor.workspace.engine
        only = [c.field.api_name for c in self.columns]
        with read_connection(engine) as lookups:
            renderer = Renderer(lookups, self.actor, self.catalog, only)
            batches = stream_rows(engine, self.whole, size)
            while True:
                with collector_paused():
                    rows = next(batches, None)
                    if rows is None:
                        return
                    records = renderer.render(rows)
                yield records


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while one chunk is read or written.

    A chunk allocates tens of thousands of rows, lists and tuples, none of them in a
    cycle; each 700 allocations start a collection that walks them all, a fifth of an
    export's CPU time. Paused only for the work on one chunk (never while the
    generator waits for a slow client), and only where this code paused it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def plan(
    actor: Actor,
    catalog: Catalog,
    filter: Any = None,
    view: Any = None,
    fields: Any = None,
    sort: Any = None,
) -> Source:
    """The export's query: the view's filter AND `filter`, its sort and fields unless given."""
    only = _field_names(fields)
    if view not in (None, ""):
        saved = get_view(actor, catalog.id, view)
        if saved["filter"]:
            filter = {"and": [saved["filter"], filter]} if filter else saved["filter"]
        if not sort and saved["sort"]:
            sort = saved["sort"]
        if only is None and saved["fields"]:
            only = saved["fields"]
    shown = visible_fields(actor, catalog, only)
    if only is not None:
        order = {name: i for i, name in enumerate(only)}
        shown.sort(key=lambda f: order[f.api_name])
    rules = access.field_rules(actor, catalog)
    view_rules = FieldView.of(actor, catalog)
    columns = [_column(actor, view_rules, f, rules.get(f.api_name) == "masked") for f in shown]
    cols = query.order_columns(catalog.table, query.parse_sort(actor, catalog, sort))
    where = [
        c
        for c in (
            query.compile_filter(actor, catalog, filter, search=True),
            access.record_filter(actor, catalog, "view"),
        )
        if c is not None
    ]
    table = catalog.table
    # The renderer of looked-up columns reads whole rows (titles, authors); the other
    # columns need their own column only, and every column left out is one less to
    # fetch and decode per row.
    picked = (
        [table]
        if any(c.looked_up for c in columns)
        else [table.c.id, *(_selected(table.c[_stored(c)], c) for c in columns)]
    )
    order_by = query.order_by(cols)
    statement = sa.select(*picked).where(*where).order_by(*order_by)
    whole = sa.select(table).where(*where).order_by(*order_by)
    return Source(actor, catalog, columns, statement, where, whole)


def _field_names(fields: Any) -> list[str] | None:
    if fields in (None, ""):
        return None
    if isinstance(fields, str):
        names = [f.strip() for f in fields.split(",") if f.strip()]
    elif isinstance(fields, list) and all(isinstance(f, str) for f in fields):
        names = list(fields)
    else:
        raise ValidationFailed.of("field_list", "fields")
    if len(set(names)) != len(names):
        raise ValidationFailed.of("field_list_twice", "fields")
    return names or None


def _column(actor: Actor, view: FieldView, f: Field, masked: bool) -> Column:
    looked_up = f.is_link or f.ftype.references is not None
    kind = TEXT_EXPORT if masked else f.ftype.export_type(f)
    text_moments = actor.workspace.engine.dialect.name == "sqlite"
    made = cells(actor, view, f, kind, masked=masked, rendered=looked_up, text_moments=text_moments)
    return Column(f, kind, masked, looked_up, made)


def _selected(col: Any, column: Column) -> Any:
    """A column as the SELECT names it: without SQLAlchemy's result processing when its
    converter takes the driver's values (SQLite's dates as text: one parse less each)."""
    if not column.cells.raw:
        return col
    return sa.type_coerce(col, sa.types.NullType()).label(col.key)


def _stored(column: Column) -> str:
    """The table column a (not looked-up) field is stored in."""
    return column.field.storage_column or ""


def _looked_up(
    conn: Any, actor: Actor, catalog: Catalog, columns: list[Column], rows: list[Any]
) -> dict[str, list[Any]]:
    """Values of link, user and file columns for these rows, as the list API renders them."""
    if not columns or not rows:
        return {c.field.api_name: [] for c in columns}
    names = [c.field.api_name for c in columns]
    records = Renderer(conn, actor, catalog, names).render(rows)
    return {name: [r["values"][name] for r in records] for name in names}
