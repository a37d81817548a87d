"""History and event values of a batch, rendered once per field and distinct value.

A stored value's JSON form for history and events (`history_value`) goes through the
field type's `from_db`. A batch of 2,000 imported rows repeats stages, dates, flags
and link lists on most rows; `Renderer` looks up each field's reader once per batch
and renders each distinct stored value once, so building payloads costs a dict
lookup per cell instead of a field-type call.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from kartoteka.catalogs.models import Catalog, Field
from kartoteka.fields.base import FieldType, same

_MISSING = object()
#: How a field's value goes into a new record's history: (api_name, is_empty or None for
#: the base rule, renderer or None when the stored value is its own rendering).
_Plan = tuple[str, Callable[[Any], bool] | None, Callable[[Any], Any] | None]
#: Distinct values remembered per field within one batch (unique columns do not repeat).
MEMO_LIMIT = 5_000


def history_value(f: Field, db_value: Any) -> Any:
    """A compact JSON form of a stored value for history and events."""
    if f.is_link:
        return list(db_value or [])
    ref = f.ftype.references
    if ref:
        ids = f.ftype.referenced_ids(db_value)
        return ids if (f.options.get("multiple", ref == "files")) else (ids[0] if ids else None)
    return f.ftype.from_db(db_value, f, None)


class Renderer:
    """`history_value` and `is_empty` of one catalog's fields, prepared for a batch."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._render: dict[int, Callable[[Any], Any]] = {}
        self._memo: dict[int, dict[Any, Any]] = {}
        self._plans: dict[int, _Plan] = {}
        self._change_plans: dict[int, tuple[Field, str, bool, Callable[[Any], bool]]] = {}

    def _renderer(self, f: Field) -> Callable[[Any], Any]:
        render = self._render.get(f.id)
        if render is not None:
            return render
        if f.is_link or f.ftype.references:
            render = self._slow(f)
        else:
            read = f.ftype.reader(f, None)
            render = _identity if read is same else self._memoised(f.id, read)
        self._render[f.id] = render
        return render

    def _slow(self, f: Field) -> Callable[[Any], Any]:
        def render(value: Any) -> Any:
            return history_value(f, value)

        return render

    def _memoised(self, fid: int, read: Callable[[Any], Any]) -> Callable[[Any], Any]:
        memo = self._memo.setdefault(fid, {})

        def render(value: Any) -> Any:
            try:
                out = memo.get(value, _MISSING)
            except TypeError:  # unhashable (a multi-value list): render it each time
                return read(value)
            if out is _MISSING:
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                out = memo[value] = read(value)
            return out

        return render

    def value(self, f: Field, db_value: Any) -> Any:
        """`history_value(f, db_value)`."""
        return self._renderer(f)(db_value)

    def create_changes(self, given: dict[int, Any]) -> dict[str, Any]:
        """{api_name: {"old": None, "new": value}} of a new record's non-empty values."""
        return self.create_entry(given)[0]

    def create_entry(self, given: dict[int, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """`create_changes` and its new values ({api_name: value}, the event's `values`)
        in one pass: a field's plan is looked up once per batch, the base type's emptiness
        and a stored value that is its own rendering cost no call per cell."""
        plans = self._plans
        out: dict[str, Any] = {}
        new: dict[str, Any] = {}
        for fid, v in given.items():
            if v is None:
                continue
            plan = plans.get(fid)
            if plan is None:
                plan = plans[fid] = self._plan(fid)
            name, empty, render = plan
            if empty is None:
                if v == "":
                    continue
            elif empty(v):
                continue
            if render is not None:
                v = render(v)
            out[name] = {"old": None, "new": v}
            new[name] = v
        return out, new

    def create_entries(
        self, givens: list[dict[int, Any]]
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """`create_entry` of each of many new records; when they all give the same fields
        (an import's chunk), field by field: a field's plan is looked up and its
        renderer mapped over its column once, and each record's entry is two dict
        comprehensions."""
        keys = givens[0].keys() if givens else None
        if len(givens) < 2 or not keys or any(g.keys() != keys for g in givens):
            return [self.create_entry(g) for g in givens]
        fids = list(keys)
        plans = self._plans
        names, columns = [], []
        pick = operator.itemgetter(*fids)
        rows = map(pick, givens) if len(fids) > 1 else ((g[fids[0]],) for g in givens)
        for fid, column in zip(fids, zip(*rows, strict=True), strict=True):
            plan = plans.get(fid)
            if plan is None:
                plan = plans[fid] = self._plan(fid)
            names.append(plan[0])
            columns.append(_rendered(column, plan[1], plan[2]))
        out = []
        for values in zip(*columns, strict=True):
            new = {n: v for n, v in zip(names, values, strict=True) if v is not _MISSING}
            out.append(({n: {"old": None, "new": v} for n, v in new.items()}, new))
        return out

    def _plan(self, fid: int) -> _Plan:
        """(api_name, is_empty or None for the base rule, renderer or None for identity)."""
        f = self.catalog.by_id[fid]
        kind = type(f.ftype)
        empty = None if kind.is_empty is FieldType.is_empty else f.ftype.is_empty
        render: Callable[[Any], Any] | None = self._renderer(f)
        return f.api_name, empty, None if render is _identity else render

    def changes(self, old: dict[int, Any], new: dict[int, Any]) -> dict[str, Any]:
        """{api_name: {"old", "new"}} of the values `new` changes (an unchanged record,
        the common case of a re-import, costs a comparison per field)."""
        plans = self._change_plans
        out = {}
        for fid, value in new.items():
            plan = plans.get(fid)
            if plan is None:
                f = self.catalog.by_id[fid]
                plan = plans[fid] = (f, f.api_name, f.is_link, f.ftype.is_empty)
            f, name, is_link, empty = plan
            before = old.get(fid)
            if is_link:
                if list(before or []) == list(value or []):
                    continue
            elif before == value or (empty(before) and empty(value)):
                continue
            render = self._renderer(f)
            out[name] = {"old": render(before), "new": render(value)}
        return out


class Unchanged:
    """Tells at the cost of one tuple comparison that an update gives every field the
    value its record holds (the common case of a re-import). False is not "changed":
    values equal only under a field's emptiness rule are left to `Renderer.changes`."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._plans: dict[tuple[int, ...], tuple[_Getter, _Getter, list[int]]] = {}

    def __call__(self, row: Any, given: dict[int, Any], links: Any) -> bool:
        """True when `given` equals the stored `row` and its `links` (field id -> record
        id -> ids, as `linked.load_links` gives them) field by field."""
        fids = tuple(given)
        plan = self._plans.get(fids)
        if plan is None:
            plan = self._plans[fids] = self._plan(row, fids)
        stored, new, link_fids = plan
        if stored(row) != new(given):
            return False
        return all(
            links.get(fid, {}).get(row.id, []) == list(given[fid] or []) for fid in link_fids
        )

    def _plan(self, row: Any, fids: tuple[int, ...]) -> tuple[_Getter, _Getter, list[int]]:
        """(the row's stored values, the given values) of the column fields as tuples in
        one order, and the link fields compared one by one."""
        by_id = self.catalog.by_id
        columns = [fid for fid in fids if not by_id[fid].is_link]
        places = [row._fields.index(by_id[fid].column) for fid in columns]
        return _getter(places), _getter(columns), [fid for fid in fids if by_id[fid].is_link]


_Getter = Callable[[Any], tuple[Any, ...]]


def _getter(keys: list[Any]) -> _Getter:
    """A tuple of these keys' items (itemgetter gives a bare item for one key)."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    if keys:
        key = keys[0]
        return lambda source: (source[key],)
    return lambda _source: ()


def _rendered(
    column: tuple[Any, ...],
    empty: Callable[[Any], bool] | None,
    render: Callable[[Any], Any] | None,
) -> list[Any]:
    """A column of new values as `create_entry` renders them (`_MISSING`: left out)."""
    if empty is None and render is None:
        return [_MISSING if v is None or v == "" else v for v in column]
    if empty is None:
        assert render is not None
        return [_MISSING if v is None or v == "" else render(v) for v in column]
    if render is None:
        return [_MISSING if v is None or empty(v) else v for v in column]
    return [_MISSING if v is None or empty(v) else render(v) for v in column]


def _identity(value: Any) -> Any:
    return value
