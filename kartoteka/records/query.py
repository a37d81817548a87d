"""Reading records in pages: filters and sorts bound to the reader's rights (compiled in
`kartoteka.filters`), ORDER BY, keyset conditions and cursors."""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.filters import compiler, sorts
from kartoteka.filters.compiler import field_column, invalid
from kartoteka.filters.sorts import SortKey

from . import tagged


def compile_filter(actor: Actor, catalog: Catalog, spec: Any) -> ColumnElement[bool] | None:
    """SQL for a filter as the actor may ask it (None when there is none)."""
    return compiler.compile_filter(actor, catalog, spec, rights=access)


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


def keyset_segments(
    cols: list[tuple[ColumnElement[Any], bool]], values: list[Any], nulls_low: bool
) -> list[ColumnElement[bool]]:
    """Conditions for the rows after a cursor, as disjoint segments to read in order.

    With one sort key each segment is a plain index range: `(key, id) > (v, x)`
    (a row-value comparison both dialects serve from the (key, id) index), then the
    NULL keys when they sort after. An OR of the two would make PostgreSQL walk the
    index from the start, so a deep page would cost as much as the pages before it.
    """
    if len(cols) != 2:
        return [after_cursor(cols, values, nulls_low)]
    (col, desc), (id_col, _) = cols
    value, last_id = values
    nulls_first = nulls_low != desc
    id_after = id_col < last_id if desc else id_col > last_id
    if value is None:
        on_nulls = sa.and_(col.is_(None), id_after)
        return [on_nulls, col.is_not(None)] if nulls_first else [on_nulls]
    pair, bound = sa.tuple_(col, id_col), sa.tuple_(sa.literal(value), sa.literal(last_id))
    beyond = pair < bound if desc else pair > bound
    return [beyond] if nulls_first else [beyond, col.is_(None)]


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
        raise invalid(
            "cursor", "invalid cursor (it belongs to another sort or was altered)"
        ) from None


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
