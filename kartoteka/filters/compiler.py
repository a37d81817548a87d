"""The filter JSON of the contract, compiled to one SQL condition over a catalog table.

The compiler knows nothing of rights. A read for an actor passes `rights` (the
`access.service` module is one): fields hidden or masked from the actor are refused, and
each hop ANDs the target's record rules. Record rules themselves compile without
(`rights=None`), which is how `access` compiles them here without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from kartoteka.context import Actor
from kartoteka.errors import Forbidden, RecordInvalid, problem
from kartoteka.fields.base import FieldValueError
from kartoteka.storage import schema

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Catalog, Field

MISSING = object()
#: Built-in `$user.<key>` values users may change about themselves (users.SELF_KEYS):
#: record rules may not use them. Profile keys are set by administrators only.
SELF_EDITABLE_KEYS = frozenset({"name"})
MAX_NODES = 300
#: The filter key (and field operator) of a full-text search.
SEARCH = "search"
MAX_DEPTH = 12


def invalid(key: str, code: str, /, **params: Any) -> RecordInvalid:
    """A 422 naming `key` (filter, sort, cursor or a field) with the coded reason."""
    return RecordInvalid(errors=[problem(code, key, **params)])


class Rights(Protocol):
    """What the compiler asks about the reader (`kartoteka.access.service` is one)."""

    def field_rules(self, actor: Actor, catalog: Catalog) -> dict[str, str]:
        """api_name -> hidden | read_only | masked for this reader."""
        ...

    def record_filter(
        self, actor: Actor, catalog: Catalog, action: str = "view", table: Any = None
    ) -> ColumnElement[bool] | None:
        """The condition limiting the records the reader may see (None: all)."""
        ...


#: Full-text search as a filter condition: (actor, catalog, query text, the field or None
#: for the whole record, the table (or alias) the condition is on, whether the reader's
#: rights apply) -> SQL. Given by callers that may run a search (`records.query`).
SearchCondition = Callable[[Actor, "Catalog", Any, "Field | None", Any, bool], ColumnElement[bool]]


#: Checks a full-text query without running it (raises ValueError saying why); filled
#: by `plugins.install()` from the searcher, empty without one.
search_syntax: list[Callable[[Any], object]] = []


def check_search(
    actor: Actor, catalog: Catalog, text: Any, field: Field | None, table: Any, reader: bool
) -> ColumnElement[bool]:
    """A `search` checked, not run (a saved view's filter): its query's syntax only."""
    key = SEARCH if field is None else field.api_name
    if not search_syntax:
        raise invalid(key, "search_unavailable")
    for check in search_syntax:
        try:
            check(text)
        except ValueError as exc:
            # A searcher's error may carry a message code (`search.analyzer.QueryError`).
            code = getattr(exc, "code", None)
            if isinstance(code, str):
                raise invalid(key, code, **getattr(exc, "params", {})) from None
            raise invalid(key, str(exc)) from None
    return sa.true()


def resolve_field(
    actor: Actor, catalog: Catalog, key: str, purpose: str, rights: Rights | None
) -> Field:
    """A field by api_name for filtering/sorting: a hidden one is unknown (422), a masked
    one forbidden (403).

    Without `rights` (record rules, written by administrators) every field is usable.
    """
    field = catalog.by_api_name.get(key) or catalog.pseudo_field(key)
    if field is None:
        raise invalid(purpose, "filter_unknown_field", name=key)
    if rights is None:
        return field
    rule = rights.field_rules(actor, catalog).get(field.api_name)
    if rule == "hidden":
        # Answered exactly like a field that does not exist: a different answer would
        # tell the reader which hidden fields there are.
        raise invalid(purpose, "filter_unknown_field", name=key)
    if rule == "masked":
        raise Forbidden.of(f"masked_{purpose}", None, name=key)
    return field


def field_column(table: Any, field: Field) -> ColumnElement[Any]:
    """The SQL column expression holding a field's value."""
    return table.c[field.storage_column or "id"]


class FilterCompiler:
    """Turns the filter JSON of the contract into one SQL condition."""

    def __init__(
        self,
        actor: Actor,
        catalog: Catalog,
        table: Any = None,
        rights: Rights | None = None,
        search: SearchCondition | None = None,
    ) -> None:
        self.actor = actor
        # Full-text search (`{"search": "…"}`, `{"field": {"search": "…"}}`) where the
        # caller runs one: record lists, exports and saved views. Record rules, scenario
        # and webhook filters run inside writes, where an index cannot be made ready.
        self.search = search
        self.catalog = catalog
        self.table = table if table is not None else catalog.table
        self.nodes = 0
        # Depth of OR/NOT nodes around the node being compiled (see `_hop`).
        self.disjunctive = 0
        # Record rules are written by administrators and compile without `rights`: they
        # may use fields hidden from the actor, and their hops do not apply the target's
        # rules (no recursion).
        self.rights = rights
        self.for_rule = rights is None

    def _field(self, catalog: Catalog, key: str) -> Field:
        return resolve_field(self.actor, catalog, key, "filter", self.rights)

    def compile(self, spec: Any, depth: int = 0) -> ColumnElement[bool]:
        """Compile one filter node."""
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise invalid("filter", "filter_too_large")
        if not isinstance(spec, dict) or not spec:
            raise invalid("filter", "filter_object")
        parts = [self._entry(key, value, depth) for key, value in spec.items()]
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _entry(self, key: str, value: Any, depth: int) -> ColumnElement[bool]:
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                raise invalid("filter", "filter_list", key=key)
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
        if key == SEARCH and key not in self.catalog.by_api_name:
            # A field named "search" (made before the name was reserved) keeps its key.
            return self._search(self.catalog, None, value, self.table)
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
            if op == SEARCH and ftype.searchable:
                parts.append(self._search(self.catalog, field, operand, table))
                continue
            if op not in ftype.operators:
                raise invalid(
                    field.api_name,
                    "filter_operator",
                    op=op,
                    type=field.type,
                    allowed=", ".join(sorted(ftype.operators)),
                )
            operand = self._placeholder(operand)
            if operand is MISSING:
                # A rule naming a profile key the user lacks matches nothing (never all).
                parts.append(sa.false())
                continue
            try:
                parts.append(ftype.filter_clause(col, op, operand, field, self.actor))
            except FieldValueError as exc:
                raise invalid(field.api_name, exc.code, **exc.params) from None
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _search(
        self, catalog: Catalog, field: Field | None, text: Any, table: Any
    ) -> ColumnElement[bool]:
        """A full-text search over the record (`field` None) or one field."""
        key = SEARCH if field is None else field.api_name
        if self.for_rule:
            raise invalid(key, "search_in_rule")
        if self.search is None:
            raise invalid(key, "search_lists_only")
        return self.search(self.actor, catalog, text, field, table, self.rights is not None)

    def _placeholder(self, operand: Any) -> Any:
        """`$user.<key>` becomes the actor's profile value (record rules use it)."""
        if isinstance(operand, str) and operand.startswith("$user."):
            key = operand[len("$user.") :]
            if self.for_rule and key in SELF_EDITABLE_KEYS:
                # A user could widen their own access by renaming themselves: refused when
                # the rule is saved, and a stored one denies (a broken rule never leaks).
                raise invalid("filter", "filter_self_editable", key=key)
            builtin = {"id": self.actor.user_id, "email": self.actor.email, "name": self.actor.name}
            value = builtin[key] if key in builtin else self.actor.profile.get(key)
            return MISSING if value is None else value
        if isinstance(operand, list):
            return [v for v in (self._placeholder(o) for o in operand) if v is not MISSING]
        return operand

    def _hop(self, key: str, value: Any) -> ColumnElement[bool]:
        link_key, _, target_key = key.partition(".")
        link = self._field(self.catalog, link_key)
        if not link.is_link:
            raise invalid("filter", "filter_hop_not_link", link=link_key, key=key)
        target = self.actor.workspace.meta().catalog(link.options.get("catalog") or 0)
        if target is None:
            raise invalid("filter", "filter_hop_target", link=link_key)
        if "." in target_key:
            raise invalid("filter", "filter_hop_depth")
        target_field = self._field(target, target_key)
        ttable = target.table.alias(f"hop_{link.id}")
        inner = FilterCompiler(self.actor, target, ttable, self.rights, self.search)
        condition = inner._conditions(target_field, value, ttable)
        rights = (
            None
            if self.rights is None
            else self.rights.record_filter(self.actor, target, "view", ttable)
        )
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


def compile_filter(
    actor: Actor,
    catalog: Catalog,
    spec: Any,
    rights: Rights | None,
    search: SearchCondition | None = None,
) -> ColumnElement[bool] | None:
    """SQL for a filter (None when there is none)."""
    if spec in (None, {}, ""):
        return None
    return FilterCompiler(actor, catalog, rights=rights, search=search).compile(spec)


def parse_filter_param(text: str | None) -> Any:
    """Parse the `filter` query parameter (JSON)."""
    if not text:
        return None
    if len(text) > 100_000:
        raise invalid("filter", "filter_too_long")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise invalid("filter", "filter_json", reason=str(exc)) from None
