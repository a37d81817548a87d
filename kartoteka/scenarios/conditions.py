"""Conditions: the views' filter language over the record, plus `$` keys over variables.

`{"stage": "Won", "$vars.total": {"gt": 1000}}`: keys naming fields are compiled to SQL
by `records.query` exactly as a view's filter is, and checked against the record;
keys starting with `$` are paths into the template names (`$vars.total`,
`$previous.stage`, `$steps.find.count`) compared in Python with the same operators.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa

from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import DomainError
from kartoteka.records.query import compile_filter
from kartoteka.storage import bulk
from kartoteka.storage.engine import read_connection

from .errors import StepFailed
from .templates import StepsView

RecordCheck = Callable[[dict[str, Any]], bool]


def _has_vars(spec: Any) -> bool:
    if isinstance(spec, dict):
        return any(
            k.startswith("$") or (k in ("and", "or", "not") and _has_vars(v))
            for k, v in spec.items()
        )
    if isinstance(spec, list):
        return any(_has_vars(v) for v in spec)
    return False


def record_part(spec: Any) -> Any:
    """The filter without its `$` keys (what must compile against the catalog)."""
    if isinstance(spec, list):
        parts = [record_part(v) for v in spec]
        return [p for p in parts if p]
    if not isinstance(spec, dict):
        return spec
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key.startswith("$"):
            continue
        if key in ("and", "or", "not"):
            inner = record_part(value)
            if inner:
                out[key] = inner
        else:
            out[key] = value
    return out


def record_matches(actor: Actor, catalog: Catalog, record_id: int, spec: dict) -> bool:
    """Does record `record_id` match a filter now (one indexed query)?"""
    q = _compiled(actor, catalog, spec)[1]
    with read_connection(actor.workspace.engine) as conn:
        return conn.execute(q, {"record_id": record_id}).first() is not None


def matching_ids(actor: Actor, catalog: Catalog, ids: list[int], spec: dict) -> set[int]:
    """Which of the records `ids` match a filter now (one query for all of them)."""
    clause = _compiled(actor, catalog, spec)[0]
    table = catalog.table
    with read_connection(actor.workspace.engine) as conn:
        q = sa.select(table.c.id).where(bulk.id_in(conn, table.c.id, ids))
        if clause is not None:
            q = q.where(clause)
        return {row[0] for row in conn.execute(q)}


class PassChecks:
    """The record part of conditions for the runs of one worker pass: the first run to
    ask about a condition has it checked for every run's record at once, the others
    get their answer from that. Any record step of the pass forgets the answers."""

    def __init__(self, records: dict[int, list[int]]) -> None:
        #: Catalog id -> ids of the records of the pass's runs.
        self.records = records
        self.known: dict[tuple[Any, ...], set[int]] = {}

    def matches(self, actor: Actor, catalog: Catalog, record_id: int, spec: dict) -> bool:
        """`record_matches`, answered from one query for the whole pass."""
        ids = self.records.get(catalog.id) or []
        key = _key(actor, catalog, spec)
        if key is None or len(ids) < 2 or record_id not in ids:
            return record_matches(actor, catalog, record_id, spec)
        if key not in self.known:
            self.known[key] = matching_ids(actor, catalog, ids, spec)
        return record_id in self.known[key]

    def forget(self) -> None:
        """Records may have changed: check again when next asked."""
        self.known.clear()


#: Compiled conditions: (catalog, actor, filter) -> (catalog, clause, statement, until).
_statements: dict[tuple[Any, ...], tuple[Catalog, Any, Any, float]] = {}
_statements_lock = threading.Lock()
#: A compiled condition is reused this long: many runs of a pass check one condition,
#: and compiling it cost more than the query; relative dates ("today") stay fresh.
STATEMENT_SECONDS = 1.0


def _key(actor: Actor, catalog: Catalog, spec: dict) -> tuple[Any, ...] | None:
    try:
        # The actor is in the key: a filter may name the actor's own profile ("$me").
        who = (actor.user_id, actor.email, actor.name, actor.is_admin)
        return (id(catalog), who, orjson.dumps(spec, option=orjson.OPT_SORT_KEYS))
    except TypeError:
        return None


def _compiled(actor: Actor, catalog: Catalog, spec: dict) -> tuple[Any, Any]:
    """The filter's clause, and `SELECT id ... WHERE id = :record_id AND <clause>`,
    compiled at most once a second."""
    key = _key(actor, catalog, spec)
    now = time.monotonic()
    with _statements_lock:
        hit = _statements.get(key) if key else None
    if hit is not None and hit[0] is catalog and hit[3] > now:
        return hit[1], hit[2]
    try:
        clause = compile_filter(actor, catalog, spec)
    except DomainError as exc:
        raise StepFailed.of("step_filter", reason=exc.message) from None
    table = catalog.table
    q = sa.select(table.c.id).where(table.c.id == sa.bindparam("record_id"))
    if clause is not None:
        q = q.where(clause)
    if key is not None:
        with _statements_lock:
            if len(_statements) > 512:
                _statements.clear()
            _statements[key] = (catalog, clause, q, now + STATEMENT_SECONDS)
    return clause, q


def matches(spec: Any, names: dict[str, Any], record: RecordCheck | None) -> bool:
    """Evaluate a condition; `record` checks the record part (None: there is no record)."""
    if spec in (None, {}):
        return True
    if not isinstance(spec, dict):
        raise StepFailed.of("step_condition_object")
    if not _has_vars(spec):
        return _record(spec, record)
    for key, value in spec.items():
        if key == "and":
            ok = all(matches(v, names, record) for v in _list(value, key))
        elif key == "or":
            ok = any(matches(v, names, record) for v in _list(value, key))
        elif key == "not":
            ok = not matches(value, names, record)
        elif key.startswith("$"):
            ok = _value_matches(lookup(names, key[1:]), value, key)
        else:
            ok = _record({key: value}, record)
        if not ok:
            return False
    return True


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise StepFailed.of("step_condition_list", key=key)
    return value


def _record(spec: dict[str, Any], record: RecordCheck | None) -> bool:
    if record is None:
        raise StepFailed.of("step_condition_no_record")
    return record(spec)


def lookup(names: dict[str, Any], path: str) -> Any:
    """`vars.total` or `steps.0.status` in the template names (None when missing)."""
    current: Any = names
    for part in path.split("."):
        if isinstance(current, StepsView) and not part.lstrip("-").isdigit():
            current = current[part]  # a step by its id
        elif isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Compare numbers with numbers, dates and labels as text."""
    if isinstance(a, dict):
        # A choice {"id", "label"} compares by its label, a user {"id", "name"} by name.
        a = a.get("label", a.get("name", a.get("id")))
    if isinstance(a, (int, float)) and isinstance(b, str):
        try:
            return a, float(b)
        except ValueError:
            return str(a), b
    if isinstance(b, (int, float)) and isinstance(a, str):
        try:
            return float(a), b
        except ValueError:
            return a, str(b)
    if isinstance(a, (dt.date, dt.datetime)):
        a = a.isoformat()
    return a, b


def _value_matches(value: Any, ops: Any, key: str) -> bool:
    if not isinstance(ops, dict) or not ops:
        ops = {"eq": ops}
    for op, operand in ops.items():
        test = _OPS.get(op)
        if test is None:
            raise StepFailed.of("step_condition_operator", key=key, op=op)
        try:
            if not test(value, operand):
                return False
        except TypeError:
            return False
    return True


def _eq(a: Any, b: Any) -> bool:
    x, y = _comparable(a, b)
    return bool(x == y)


def _order(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        x, y = _comparable(a, b)
        return check(x, y)

    return test


def _in(a: Any, b: Any) -> bool:
    return isinstance(b, list) and any(_eq(a, item) for item in b)


def _empty(a: Any, b: Any) -> bool:
    is_empty = a is None or a == "" or a == [] or a == {}
    return is_empty if b else not is_empty


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return any(_eq(item, b) for item in a)
    return str(b) in str(a or "")


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _order(lambda x, y: x < y),
    "lte": _order(lambda x, y: x <= y),
    "gt": _order(lambda x, y: x > y),
    "gte": _order(lambda x, y: x >= y),
    "in": _in,
    "nin": lambda a, b: not _in(a, b),
    "between": lambda a, b: (
        isinstance(b, list)
        and len(b) == 2
        and (b[0] is None or _order(lambda x, y: x >= y)(a, b[0]))
        and (b[1] is None or _order(lambda x, y: x <= y)(a, b[1]))
    ),
    "empty": _empty,
    "contains": _contains,
    "icontains": lambda a, b: str(b).lower() in str(a or "").lower(),
    "startswith": lambda a, b: str(a or "").startswith(str(b)),
}
