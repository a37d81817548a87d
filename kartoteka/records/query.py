"""Reading records in pages: filters and sorts bound to the reader's rights (compiled in
`kartoteka.filters`), ORDER BY, keyset conditions and cursors."""

from __future__ import annotations

import base64
import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.filters import compiler, sorts
from kartoteka.filters.compiler import field_column, invalid
from kartoteka.filters.sorts import SortKey

from . import hooks, tagged

#: Compiled filters kept per (catalog, filter, reader); the workspace metadata object and
#: the catalog table they were compiled against are checked on every hit.
FILTER_CACHE_SIZE = 1024
#: Longer filters (as JSON) are compiled every time rather than kept.
FILTER_CACHE_TEXT = 4096
_filters: OrderedDict[tuple[Any, ...], tuple[Any, Any, ColumnElement[bool]]] = OrderedDict()
_filters_lock = threading.Lock()


def search_condition(
    actor: Actor, catalog: Catalog, text: Any, field: Any, table: Any, reader: bool
) -> ColumnElement[bool]:
    """A full-text search as a filter condition (the `search` plugin runs it)."""
    if not hooks.searcher:
        key = compiler.SEARCH if field is None else field.api_name
        raise invalid(key, "search_unavailable")
    searcher = hooks.searcher[-1]
    condition: ColumnElement[bool] = searcher.filter_condition(
        actor, catalog, text, field, table, reader
    )
    return condition


def uses_search(spec: Any) -> bool:
    """Might this filter hold a full-text search (`"search"` as a key anywhere)?"""
    try:
        return b'"search":' in orjson.dumps(spec)
    except TypeError:
        return False


def compile_filter(
    actor: Actor, catalog: Catalog, spec: Any, search: bool = False
) -> ColumnElement[bool] | None:
    """SQL for a filter as the actor may ask it (None when there is none).

    A grid asks the same filter for every page it scrolls and every refresh; compiling it
    (and SQLAlchemy working out the new clause's cache key) cost more than a page's
    indexed read, so the clause is kept, and being the same object, so is the statement
    built over it (`page_statement`).
    """
    if spec in (None, {}, ""):
        return None
    searcher = search_condition if search else None
    try:
        text = orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not JSON at all: the compiler says what is wrong with it
        text = b""
    if not text or len(text) > FILTER_CACHE_TEXT or (search and b'"search":' in text):
        # A search is made ready (index built, waiting records indexed) each time.
        return compiler.compile_filter(actor, catalog, spec, rights=access, search=searcher)
    meta, table = actor.workspace.meta(), catalog.table
    key = (catalog.id, text, *access.reader_key(actor))
    with _filters_lock:
        hit = _filters.get(key)
        if hit is not None and hit[0] is meta and hit[1] is table:
            _filters.move_to_end(key)
            return hit[2]
    clause = compiler.compile_filter(actor, catalog, spec, rights=access, search=searcher)
    if clause is not None:
        with _filters_lock:
            _filters[key] = (meta, table, clause)
            while len(_filters) > FILTER_CACHE_SIZE:
                _filters.popitem(last=False)
    return clause


def parse_sort(actor: Actor, catalog: Catalog, spec: Any) -> list[SortKey]:
    """Sort keys as the actor may ask them (`-deadline,name`)."""
    return sorts.parse_sort(actor, catalog, spec, rights=access)


def order_columns(
    table: sa.Table, keys: list[SortKey], id_desc: bool = False
) -> list[tuple[ColumnElement[Any], bool]]:
    """(column, descending) for every sort key, ending with id as the tie-breaker.

    Ties go the direction of the last key, so (key, id) is one index range either way.
    """
    cols = [(field_column(table, k.field), k.desc) for k in keys]
    cols.append((table.c.id, keys[-1].desc if keys else id_desc))
    return cols


@dataclass(frozen=True)
class Segment:
    """Rows after a cursor, one index range: the condition, its bound values, and its
    shape, which says when two segments are the same SQL with other values (None: the
    values are inside the condition, the statement cannot be reused)."""

    condition: ColumnElement[bool]
    params: dict[str, Any]
    shape: tuple[Any, ...] | None


def keyset_segments(
    cols: list[tuple[ColumnElement[Any], bool]], values: list[Any], nulls_low: bool
) -> list[Segment]:
    """Conditions for the rows after a cursor, as disjoint segments to read in order.

    With one sort key each segment is a plain index range: `(key, id) > (v, x)`
    (a row-value comparison both dialects serve from the (key, id) index), then the
    NULL keys when they sort after. An OR of the two would make PostgreSQL walk the
    index from the start, so a deep page would cost as much as the pages before it.
    The values are bound at execution (`:cursor_value`, `:cursor_id`), so the next page
    of the same list runs the same statement.
    """
    if len(cols) != 2:
        return [Segment(after_cursor(cols, values, nulls_low), {}, None)]
    (col, desc), (id_col, _) = cols
    value, last_id = values
    nulls_first = nulls_low != desc
    shape = (id(col), desc, nulls_first, value is None)
    bound_id = sa.bindparam("cursor_id", type_=id_col.type)
    id_after = id_col < bound_id if desc else id_col > bound_id
    params: dict[str, Any] = {"cursor_id": last_id}
    if value is None:
        on_nulls = Segment(sa.and_(col.is_(None), id_after), params, (*shape, 0))
        rest = Segment(col.is_not(None), {}, (*shape, 1))
        return [on_nulls, rest] if nulls_first else [on_nulls]
    params["cursor_value"] = value
    pair = sa.tuple_(col, id_col)
    bound = sa.tuple_(sa.bindparam("cursor_value", type_=col.type), bound_id)
    beyond = Segment(pair < bound if desc else pair > bound, params, (*shape, 0))
    return [beyond] if nulls_first else [beyond, Segment(col.is_(None), {}, (*shape, 1))]


#: Page statements kept per (table, conditions, order, segment shape, limit).
STATEMENT_CACHE_SIZE = 2048
_statements: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Select[Any]]] = OrderedDict()
_statements_lock = threading.Lock()


def page_statement(
    table: sa.Table,
    where: list[ColumnElement[bool]],
    cols: list[tuple[ColumnElement[Any], bool]],
    segment: Segment | None,
    limit: int,
    *,
    reusable: bool = True,
) -> Select[Any]:
    """`SELECT * FROM table WHERE <where> [AND <segment>] ORDER BY <cols> LIMIT n`.

    The same conditions (cached clause objects), order, segment shape and limit give the
    same statement object, whose cache key SQLAlchemy then computes once: building a
    new one per page and keying it cost a page of 100 indexed rows several times over.
    `reusable=False` (conditions made for this request only, like a search's) builds one.
    """
    parts = (table, *where, *(c for c, _ in cols))
    shape = None if segment is None else segment.shape
    if not reusable or (segment is not None and shape is None):
        return _build_page(table, where, cols, segment, limit)
    key = (*(id(p) for p in parts), tuple(d for _, d in cols), shape, limit)
    with _statements_lock:
        hit = _statements.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], parts, strict=True)):
            _statements.move_to_end(key)
            return hit[1]
    q = _build_page(table, where, cols, segment, limit)
    with _statements_lock:
        _statements[key] = (parts, q)
        while len(_statements) > STATEMENT_CACHE_SIZE:
            _statements.popitem(last=False)
    return q


def _build_page(
    table: sa.Table,
    where: list[ColumnElement[bool]],
    cols: list[tuple[ColumnElement[Any], bool]],
    segment: Segment | None,
    limit: int,
) -> Select[Any]:
    q = sa.select(table).where(*where)
    if segment is not None:
        q = q.where(segment.condition)
    return q.order_by(*order_by(cols)).limit(limit)


def order_by(cols: list[tuple[ColumnElement[Any], bool]]) -> list[Any]:
    """ORDER BY clauses (dialect-natural NULL placement so indexes serve the sort)."""
    return [c.desc() if d else c.asc() for c, d in cols]


def _sort_signature(cols: list[tuple[ColumnElement[Any], bool]]) -> str:
    """A short fingerprint of a sort, so a cursor used with another sort is refused."""
    text = ",".join(f"{getattr(c, 'key', c)}:{int(d)}" for c, d in cols)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_cursor(
    values: list[Any], cols: list[tuple[ColumnElement[Any], bool]] | None = None
) -> str:
    """An opaque cursor holding the sort values of the last row returned (and, given the
    sort's columns, its fingerprint)."""
    dumped = [tagged.dump(v) for v in values]
    raw = orjson.dumps(dumped if cols is None else {"s": _sort_signature(cols), "v": dumped})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: int | list[tuple[ColumnElement[Any], bool]]) -> list[Any]:
    """Inverse of `encode_cursor`; a tampered, stale or foreign cursor is a 422.

    Given the sort's columns, every value must have its column's type (and the id a
    non-null integer), and the cursor must have been made for the same sort: on
    PostgreSQL a text compared with a number would otherwise be a 500.
    """
    cols = None if isinstance(expected, int) else expected
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if cols is not None:
            if not isinstance(data, dict) or data.get("s") != _sort_signature(cols):
                raise ValueError
            data = data.get("v")
        count = expected if cols is None else len(cols)
        if not isinstance(data, list) or len(data) != count:
            raise ValueError
        values = [tagged.load(v) for v in data]
        if cols is not None and not _cursor_values_fit(cols, values):
            raise ValueError
        return values
    except (ValueError, TypeError, ArithmeticError, orjson.JSONDecodeError):
        raise invalid("cursor", "cursor_invalid") from None


#: Integers the databases can bind (BIGINT).
INT_RANGE = range(-(2**63), 2**63)


def _cursor_values_fit(cols: list[tuple[ColumnElement[Any], bool]], values: list[Any]) -> bool:
    """Whether each cursor value can be compared with its column (the last one is the id)."""
    if not isinstance(values[-1], int) or isinstance(values[-1], bool):
        return False
    for (col, _), value in zip(cols, values, strict=True):
        try:
            kind = col.type.python_type
        except NotImplementedError:
            kind = object
        if value is not None and not _fits(value, kind):
            return False
    return True


def _fits(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) and value in INT_RANGE
    if kind is float:
        return (isinstance(value, int) and value in INT_RANGE) or (
            isinstance(value, float) and math.isfinite(value)
        )
    if kind is Decimal:
        return (isinstance(value, int) and value in INT_RANGE) or (
            isinstance(value, Decimal) and value.is_finite()
        )
    if kind is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind is str:
        return isinstance(value, str) and "\x00" not in value
    return isinstance(value, kind)


def after_cursor(
    cols: list[tuple[ColumnElement[Any], bool]], values: list[Any], nulls_low: bool
) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `cols` (keyset pagination with NULLs).

    `nulls_low` says whether the dialect sorts NULL before every value ascending
    (SQLite) or after (PostgreSQL).
    """
    ors = []
    for i, (col, desc) in enumerate(cols):
        prefix = [_same(c, v) for (c, _), v in zip(cols[:i], values[:i], strict=True)]
        ors.append(sa.and_(*prefix, _beyond(col, values[i], desc, nulls_low)))
    return sa.or_(*ors)


def _same(col: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    return col.is_(None) if value is None else col == value


def _beyond(
    col: ColumnElement[Any], value: Any, desc: bool, nulls_low: bool
) -> ColumnElement[bool]:
    # Position of NULL in this direction: "first" when (asc and nulls low) or (desc and nulls high).
    nulls_first = nulls_low != desc
    if value is None:
        return col.is_not(None) if nulls_first else sa.false()
    strict = col < value if desc else col > value
    return strict if nulls_first else sa.or_(strict, col.is_(None))
