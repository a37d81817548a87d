"""Filters, sorting and keyset cursors, compiled to SQL over a catalog table."""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import Forbidden
from kartoteka.fields.base import FieldValueError
from kartoteka.storage import schema

from . import tagged
from .errors import RecordInvalid

MISSING = object()
#: Built-in `$user.<key>` values users may change about themselves (users.SELF_KEYS):
#: record rules may not use them. Profile keys are set by administrators only.
SELF_EDITABLE_KEYS = frozenset({"name"})
MAX_NODES = 300
MAX_DEPTH = 12
SYSTEM_KEYS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "created_by": "created_by",
    "updated_by": "updated_by",
}


def _bad(key: str, message: str) -> RecordInvalid:
    return RecordInvalid(f"{key}: {message}", fields={key: message})


def pseudo_field(catalog: Catalog, key: str) -> Field | None:
    """System columns usable in filters and sorts without a declared field."""
    if key == "id":
        return Field(
            id=0,
            catalog_id=catalog.id,
            name="id",
            api_name="id",
            type="number",
            column="id",
            options={"decimals": 0},
        )
    if key in SYSTEM_KEYS:
        return Field(id=0, catalog_id=catalog.id, name=key, api_name=key, type=key, column=None)
    return None


def resolve_field(actor: Actor, catalog: Catalog, key: str, purpose: str) -> Field:
    """A field by api_name for filtering/sorting, honouring hidden-field rules (403)."""
    field = catalog.by_api_name.get(key) or pseudo_field(catalog, key)
    if field is None:
        raise _bad(purpose, f"unknown field {key!r}")
    rule = access.field_rules(actor, catalog).get(field.api_name)
    if rule == "hidden":
        raise Forbidden(f"you may not {purpose} by field {key!r}")
    if rule == "masked":
        raise Forbidden(f"field {key!r} is masked for you; you may not {purpose} by it")
    return field


def field_column(table: Any, field: Field) -> ColumnElement[Any]:
    """The SQL column expression holding a field's value."""
    return table.c[field.storage_column or "id"]


class FilterCompiler:
    """Turns the filter JSON of the contract into one SQL condition."""

    def __init__(
        self, actor: Actor, catalog: Catalog, table: Any = None, for_rule: bool = False
    ) -> None:
        self.actor = actor
        self.catalog = catalog
        self.table = table if table is not None else catalog.table
        self.nodes = 0
        # Depth of OR/NOT nodes around the node being compiled (see `_hop`).
        self.disjunctive = 0
        # Record rules are written by administrators: they may use fields hidden from
        # the actor, and their hops do not apply the target's rules (no recursion).
        self.for_rule = for_rule

    def _field(self, catalog: Catalog, key: str) -> Field:
        if self.for_rule:
            field = catalog.by_api_name.get(key) or pseudo_field(catalog, key)
            if field is None:
                raise _bad("filter", f"unknown field {key!r}")
            return field
        return resolve_field(self.actor, catalog, key, "filter")

    def compile(self, spec: Any, depth: int = 0) -> ColumnElement[bool]:
        """Compile one filter node."""
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise _bad("filter", "filter is too large or too deeply nested")
        if not isinstance(spec, dict) or not spec:
            raise _bad("filter", "each filter must be a non-empty object")
        parts = [self._entry(key, value, depth) for key, value in spec.items()]
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _entry(self, key: str, value: Any, depth: int) -> ColumnElement[bool]:
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                raise _bad("filter", f"{key} takes a non-empty list of filters")
            if key == "and":
                return sa.and_(*[self.compile(v, depth + 1) for v in value])
            self.disjunctive += 1
            try:
                return sa.or_(*[self.compile(v, depth + 1) for v in value])
            finally:
                self.disjunctive -= 1
        if key == "not":
            self.disjunctive += 1
            try:
                return sa.not_(self.compile(value, depth + 1))
            finally:
                self.disjunctive -= 1
        if "." in key:
            return self._hop(key, value)
        field = self._field(self.catalog, key)
        return self._conditions(field, value, self.table)

    def _conditions(self, field: Field, ops: Any, table: Any) -> ColumnElement[bool]:
        if not isinstance(ops, dict) or not ops:
            # A bare value is shorthand for eq.
            ops = {"eq": ops}
        parts: list[ColumnElement[bool]] = []
        ftype = field.ftype
        col = table.c.id if ftype.storage == "links" else field_column(table, field)
        for op, operand in ops.items():
            if op not in ftype.operators:
                raise _bad(
                    field.api_name,
                    f"operator {op!r} is not supported for {field.type} fields "
                    f"(use one of: {', '.join(sorted(ftype.operators))})",
                )
            operand = self._placeholder(operand)
            if operand is MISSING:
                # A rule naming a profile key the user lacks matches nothing (never all).
                parts.append(sa.false())
                continue
            try:
                parts.append(ftype.filter_clause(col, op, operand, field, self.actor))
            except FieldValueError as exc:
                raise _bad(field.api_name, exc.message) from None
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _placeholder(self, operand: Any) -> Any:
        """`$user.<key>` becomes the actor's profile value (record rules use it)."""
        if isinstance(operand, str) and operand.startswith("$user."):
            key = operand[len("$user.") :]
            if self.for_rule and key in SELF_EDITABLE_KEYS:
                # A user could widen their own access by renaming themselves: refused when
                # the rule is saved, and a stored one denies (a broken rule never leaks).
                raise _bad("filter", f"rules may not use $user.{key}: users change it themselves")
            builtin = {"id": self.actor.user_id, "email": self.actor.email, "name": self.actor.name}
            value = builtin[key] if key in builtin else self.actor.profile.get(key)
            return MISSING if value is None else value
        if isinstance(operand, list):
            return [v for v in (self._placeholder(o) for o in operand) if v is not MISSING]
        return operand

    def _hop(self, key: str, value: Any) -> ColumnElement[bool]:
        link_key, _, target_key = key.partition(".")
        link = self._field(self.catalog, link_key)
        if link.type != "link":
            raise _bad("filter", f"{link_key!r} is not a link field, so {key!r} cannot hop")
        target = self.actor.workspace.meta().catalog(link.options.get("catalog") or 0)
        if target is None:
            raise _bad("filter", f"the target of {link_key!r} no longer exists")
        if "." in target_key:
            raise _bad("filter", "filters may go through one link only")
        target_field = self._field(target, target_key)
        ttable = target.table.alias(f"hop_{link.id}")
        inner = FilterCompiler(self.actor, target, ttable, self.for_rule)
        condition = inner._conditions(target_field, value, ttable)
        rights = None if self.for_rule else access.record_filter(self.actor, target, "view", ttable)
        if rights is not None:
            # The hop must never reveal linked records the actor cannot see.
            condition = sa.and_(condition, rights)
        links = schema.links
        sub = (
            sa.select(sa.literal(1))
            .select_from(links.join(ttable, ttable.c.id == links.c.dst_id))
            .where(links.c.field_id == link.id, links.c.src_id == self.table.c.id, condition)
        )
        if self.actor.workspace.dialect == "postgresql" and (self.for_rule or self.disjunctive):
            # PostgreSQL cannot turn an EXISTS under OR/NOT into a semi-join, and plans it
            # as a hashed subplan built from every link of the field before the first row
            # is read: a page of 100 then costs as much as the whole links table. `OFFSET
            # 0` keeps it a per-row index probe, which is what a paged, index-ordered read
            # needs. Record rules always end up under an OR (with the record shares).
            sub = sub.offset(0)
        return sa.exists(sub)


def compile_filter(actor: Actor, catalog: Catalog, spec: Any) -> ColumnElement[bool] | None:
    """SQL for a filter (None when there is none)."""
    if spec in (None, {}, ""):
        return None
    return FilterCompiler(actor, catalog).compile(spec)


def parse_filter_param(text: str | None) -> Any:
    """Parse the `filter` query parameter (JSON)."""
    if not text:
        return None
    if len(text) > 100_000:
        raise _bad("filter", "filter is too long")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _bad("filter", f"not valid JSON ({exc})") from None


@dataclass
class SortKey:
    """One sort column."""

    field: Field
    desc: bool


def parse_sort(actor: Actor, catalog: Catalog, spec: Any) -> list[SortKey]:
    """`-deadline,name` (or a list of such names) to sort keys."""
    if spec in (None, "", []):
        return []
    items = spec.split(",") if isinstance(spec, str) else spec
    if not isinstance(items, list) or len(items) > 10:
        raise _bad("sort", "sort takes at most 10 comma-separated field names")
    keys = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise _bad("sort", "empty sort key")
        item = item.strip()
        desc = item.startswith("-")
        name = item.lstrip("+-")
        field = resolve_field(actor, catalog, name, "sort")
        if not field.ftype.sortable:
            raise _bad("sort", f"cannot sort by {field.type} field {name!r}")
        if name != "id":
            keys.append(SortKey(field, desc))
    return keys


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
        raise _bad("cursor", "invalid cursor (it belongs to another sort or was altered)") from None


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
