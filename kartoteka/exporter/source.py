"""The records an export reads: one query over the rows the reader may see, in chunks.

The list API pages with keyset cursors and renders each record as a JSON object;
an export of a million rows does neither. It compiles the same filter, view, sort,
record rules and field rules (`records.query`, `access`, `FieldView`) into one
SELECT, streams its rows from one snapshot (`storage.engine.stream_rows`) and turns
them into columns of rendered values, one field at a time. Fields whose values need
other tables (links, users, files) go through `records.read.Renderer`, the list API's
own renderer, chunk by chunk; every other value is its type's `from_db`, masked where
the reader's field rule says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
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

    @property
    def name(self) -> str:
        """The column header: the field's name."""
        return self.field.name


@dataclass
class Chunk:
    """Consecutive exported records: their ids and, per column, the rendered values."""

    ids: list[int]
    values: list[list[Any]]
    rows: list[Any]


@dataclass
class Source:
    """An export's query and columns, checked before the first byte is sent."""

    actor: Actor
    catalog: Catalog
    columns: list[Column]
    statement: Any
    where: list[Any]

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
        view = FieldView.of(self.actor, self.catalog)
        names = list(self.catalog.table.c.keys())
        converters = [
            None if c.looked_up else _converter(self.actor, view, c, names) for c in self.columns
        ]
        with read_connection(engine) as lookups:
            for rows in stream_rows(engine, self.statement, size):
                rendered = _looked_up(lookups, self.actor, self.catalog, looked_up, rows)
                values = [
                    rendered[c.field.api_name] if convert is None else convert(rows)
                    for c, convert in zip(self.columns, converters, strict=True)
                ]
                yield Chunk([r.id for r in rows], values, rows)

    def records(self, size: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """The records as the list API renders them (title, values, authors...), in chunks."""
        size = size or CHUNK
        engine = self.actor.workspace.engine
        only = [c.field.api_name for c in self.columns]
        with read_connection(engine) as lookups:
            renderer = Renderer(lookups, self.actor, self.catalog, only)
            for rows in stream_rows(engine, self.statement, size):
                yield renderer.render(rows)


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
    columns = [_column(f, rules.get(f.api_name) == "masked") for f in shown]
    cols = query.order_columns(catalog.table, query.parse_sort(actor, catalog, sort))
    where = [
        c
        for c in (
            query.compile_filter(actor, catalog, filter, search=True),
            access.record_filter(actor, catalog, "view"),
        )
        if c is not None
    ]
    statement = sa.select(catalog.table).where(*where).order_by(*query.order_by(cols))
    return Source(actor, catalog, columns, statement, where)


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


def _column(f: Field, masked: bool) -> Column:
    looked_up = f.is_link or f.ftype.references is not None
    return Column(f, TEXT_EXPORT if masked else f.ftype.export_type(f), masked, looked_up)


def _converter(
    actor: Actor, view: FieldView, column: Column, names: list[str]
) -> Callable[[list[Any]], list[Any]]:
    """A function from rows to the column's rendered values (None when empty)."""
    f = column.field
    # Rows hold the table's columns in order; a position is cheaper than a name per value.
    position = names.index(f.storage_column or "")
    render = f.ftype.from_db_column

    def convert(rows: list[Any]) -> list[Any]:
        values = render([r[position] for r in rows], f, actor)
        return [view.value(f, v) for v in values] if column.masked else values

    return convert


def _looked_up(
    conn: Any, actor: Actor, catalog: Catalog, columns: list[Column], rows: list[Any]
) -> dict[str, list[Any]]:
    """Values of link, user and file columns for these rows, as the list API renders them."""
    if not columns or not rows:
        return {c.field.api_name: [] for c in columns}
    names = [c.field.api_name for c in columns]
    records = Renderer(conn, actor, catalog, names).render(rows)
    return {name: [r["values"][name] for r in records] for name in names}
