"""What the full-text index holds of each record: the stems of its searchable fields,
its link titles, its comments and its attachments' text, analysed a chunk at a time
(`index` writes them; `service` reads the same fields for rights and snippets).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.catalogs.models import Catalog, Field, WorkspaceMeta
from kartoteka.records.linked import title_text
from kartoteka.storage import schema

from . import analyzer, attachments

#: The `parts` key of a record's comments (field ids start at 1); whoever sees the
#: record reads its comments.
COMMENTS = 0


def searchable_fields(catalog: Catalog) -> list[Field]:
    """Fields whose values' text the index holds."""
    return [f for f in catalog.fields if f.ftype.searchable]


def file_fields(catalog: Catalog) -> list[Field]:
    """File fields: the index holds their attachments' text (`attachments`)."""
    return [f for f in catalog.fields if f.ftype.references == "files"]


def indexed_fields(catalog: Catalog) -> list[Field]:
    """Every field the index holds text of (a reader matches only those they read)."""
    return [*searchable_fields(catalog), *file_fields(catalog)]


@dataclass(frozen=True)
class Span:
    """The records a chunk of documents is made for: listed ids, or (for a rebuild, which
    reads the table in id order) every record from `first` to `last`, which reads the
    comments, links and attachments of the chunk as index ranges instead of id lists."""

    ids: list[int]
    first: int | None = None
    last: int | None = None

    def condition(self, column: Any) -> Any:
        """`column` within the span."""
        if self.first is not None:
            return column.between(self.first, self.last)
        return column.in_(self.ids)

    def pieces(self) -> Iterator[Span]:
        """The span in parts small enough for an IN list (a range is one part)."""
        if self.first is not None:
            yield self
            return
        for start in range(0, len(self.ids), 900):
            yield Span(self.ids[start : start + 900])


def row_query(catalog: Catalog) -> Any:
    """SELECT id and the stored columns the index reads (searchable and file fields)."""
    table = catalog.table
    stored = [f for f in searchable_fields(catalog) if f.storage_column and not f.is_link]
    attached = [f for f in file_fields(catalog) if f.storage_column]
    return sa.select(table.c.id, *[table.c[f.storage_column or "id"] for f in stored + attached])


def documents(
    conn: Connection, meta: WorkspaceMeta, catalog: Catalog, ids: list[int]
) -> list[tuple[int, dict[int, str]]]:
    """(record id, {field id: "stem stem…"}) for these records (missing ids are left out)."""
    rows = conn.execute(row_query(catalog).where(catalog.table.c.id.in_(ids))).all()
    return documents_of(conn, meta, catalog, rows, Span([r[0] for r in rows]))


def documents_of(
    conn: Connection, meta: WorkspaceMeta, catalog: Catalog, rows: Sequence[Any], span: Span
) -> list[tuple[int, dict[int, str]]]:
    """The documents of rows read by `_row_query`, all analysed in one pass."""
    fields = searchable_fields(catalog)
    columns = [f for f in fields if f.storage_column and not f.is_link]
    linked = [f for f in fields if f.is_link]
    attached = [f for f in file_fields(catalog) if f.storage_column]
    # (record id, field id, text) of every non-empty value, analysed all together.
    texts: list[tuple[int, int, str]] = []
    for at, f in enumerate(columns, start=1):
        texts += _column_texts(f, [(row[0], row[at]) for row in rows])
    for fid, by_record in _link_texts(conn, meta, linked, span).items():
        texts += [(rid, fid, text) for rid, text in by_record.items() if text]
    texts += [(rid, COMMENTS, text) for rid, text in _comments(conn, catalog, span)]
    texts += _file_texts(conn, attached, rows, 1 + len(columns))
    parts: dict[int, dict[int, str]] = {row[0]: {} for row in rows}
    stemmed = analyzer.joined_tokens_many([t for _, _, t in texts])
    for (rid, fid, _), stems in zip(texts, stemmed, strict=True):
        if stems and rid in parts:
            before = parts[rid].get(fid)
            parts[rid][fid] = f"{before} {stems}" if before else stems
    # Each record's parts come in the order of `texts`: stored fields, links, comments,
    # attachments (the first text of a field places it).
    return list(parts.items())


def _column_texts(field: Field, values: list[tuple[int, Any]]) -> list[tuple[int, int, str]]:
    """(record id, field id, text) of a stored column's non-empty values; a value met
    again (a select's choice, a company name) is rendered once."""
    text_of = field.ftype.search_text
    seen: dict[Any, str] = {}
    out = []
    for rid, raw in values:
        if raw is None or raw == "":
            continue
        try:
            text = seen.get(raw)
        except TypeError:  # an unhashable stored value
            text = None
        if text is None:
            text = text_of(raw, field)
            if isinstance(raw, str | int):
                seen[raw] = text
        out.append((rid, field.id, text))
    return out


def _file_texts(
    conn: Connection, attached: list[Field], rows: Sequence[Any], at: int
) -> list[tuple[int, int, str]]:
    """(record id, field id, text) of the attachments whose texts the worker extracted."""
    held = [
        (row[0], f.id, f.ftype.referenced_ids(row[at + i]))
        for row in rows
        for i, f in enumerate(attached)
        if row[at + i]
    ]
    if not held:
        return []
    file_text = attachments.texts_of(conn, [i for _, _, ids in held for i in ids])
    return [(rid, fid, file_text[i]) for rid, fid, ids in held for i in ids if i in file_text]


def _comments(conn: Connection, catalog: Catalog, span: Span) -> list[tuple[int, str]]:
    """(record id, text) of the comments on these records, oldest first."""
    c = schema.comments
    out: list[tuple[int, str]] = []
    for part in span.pieces():
        rows = conn.execute(
            sa.select(c.c.record_id, c.c.text)
            .where(c.c.catalog_id == catalog.id, part.condition(c.c.record_id))
            .order_by(c.c.id)
        )
        out += [(r[0], r[1]) for r in rows]
    return out


def comments_of(conn: Connection, catalog: Catalog, ids: list[int]) -> dict[int, list[str]]:
    """record id -> its comments' texts, oldest first."""
    out: dict[int, list[str]] = {}
    for rid, text in _comments(conn, catalog, Span(ids)):
        out.setdefault(rid, []).append(text)
    return out


def _link_texts(
    conn: Connection, meta: WorkspaceMeta, fields: list[Field], span: Span
) -> dict[int, dict[int, str]]:
    """link field id -> record id -> the titles of the linked records, joined."""
    if not fields or not span.ids:
        return {}
    links = schema.links
    by_field: dict[int, dict[int, list[int]]] = {f.id: {} for f in fields}
    for part in span.pieces():
        rows = conn.execute(
            sa.select(links.c.field_id, links.c.src_id, links.c.dst_id)
            .where(links.c.field_id.in_(list(by_field)), part.condition(links.c.src_id))
            .order_by(links.c.position, links.c.dst_id)
        )
        for fid, src, dst in rows:
            by_field[fid].setdefault(src, []).append(dst)
    out: dict[int, dict[int, str]] = {}
    for f in fields:
        target = meta.catalog(f.options.get("catalog") or 0)
        by_src = by_field[f.id]
        if target is None or not by_src:
            continue
        names = _titles(conn, target, {d for dsts in by_src.values() for d in dsts})
        # A record without a title shows as "#<id>": that is no text of its own.
        out[f.id] = {
            src: " ".join(names[d] for d in dsts if names.get(d, f"#{d}") != f"#{d}")
            for src, dsts in by_src.items()
        }
    return out


def _titles(conn: Connection, catalog: Catalog, ids: set[int]) -> dict[int, str]:
    """Titles as stored (no rights: `service.readable_fields` decides who may match them)."""
    field = catalog.title_field
    if field is None or field.storage_column is None or not ids:
        return {}
    table = catalog.table
    col = table.c[field.storage_column]
    ordered = sorted(ids)
    out: dict[int, str] = {}
    for start in range(0, len(ordered), 900):
        rows = conn.execute(
            sa.select(table.c.id, col).where(table.c.id.in_(ordered[start : start + 900]))
        )
        out.update({rid: title_text(catalog, raw, rid) for rid, raw in rows})
    return out
