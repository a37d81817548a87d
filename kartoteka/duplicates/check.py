"""The before-write hook: a create or update whose key another record holds is refused.

The check reads (one indexed lookup per rule and batch) before the write transaction,
like every before-write hook; two writers racing with the same new key may both pass,
and the scan finds them (decision 0019). The caller skips the check with
`skipping()` (the API's `?skip_duplicates=true`, an import in `duplicates: "allow"`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from kartoteka.access.visibility import visible_ids
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import Duplicate, ItemError
from kartoteka.records.hooks import PendingChange
from kartoteka.records.linked import titles
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from .rules import Rule, rules_of

_skip: ContextVar[bool] = ContextVar("kartoteka_skip_duplicates", default=False)


@contextmanager
def skipping(skip: bool = True) -> Iterator[None]:
    """Writes inside the block are not checked for duplicates (when `skip`)."""
    token = _skip.set(skip or _skip.get())
    try:
        yield
    finally:
        _skip.reset(token)


@dataclass
class Candidate:
    """One item's key under one rule, and the records that already hold it."""

    where: str
    index: int | None
    record_id: int | None
    rule: Rule
    key: str
    matches: list[int] = field(default_factory=list)
    #: The earlier item of the same request with the same key ("create[0]").
    repeats: str | None = None


def _interested(actor: Actor, catalog: Catalog) -> bool:
    return not _skip.get() and catalog.system is None and bool(rules_of(actor, catalog))


def check(actor: Actor, catalog: Catalog, changes: list[PendingChange]) -> None:
    """Refuse the write with `Duplicate` naming every item that duplicates a record."""
    if not _interested(actor, catalog):
        return
    rules = rules_of(actor, catalog)
    with read_connection(actor.workspace.engine) as conn:
        candidates = candidates_of(conn, catalog, rules, changes)
        hits = [c for c in candidates if c.matches or c.repeats is not None]
        if hits:
            raise refusal(conn, actor, catalog, hits)


check.interested = _interested  # type: ignore[attr-defined]


def candidates_of(
    conn: Any, catalog: Catalog, rules: list[Rule], changes: list[PendingChange]
) -> list[Candidate]:
    """The keys the changes would give, with the records holding each already."""
    fields = {p.field.id for r in rules for p in r.parts}
    by_name = catalog.by_api_name
    current = _current_values(conn, catalog, fields, changes)
    out: list[Candidate] = []
    seen: dict[tuple[int, str], tuple[str, int | None]] = {}
    for change in changes:
        if change.action not in ("create", "update"):
            continue
        given = {by_name[k].id: v for k, v in change.values.items() if k in by_name}
        if change.action == "update" and not fields.intersection(given):
            continue
        before = current.get(change.record_id or 0, {})
        values = {**before, **given}
        for rule in rules:
            key = rule.key(values)
            if key is None or (change.action == "update" and key == rule.key(before)):
                continue
            item = Candidate(change.where, change.index, change.record_id, rule, key)
            me = (change.where, change.index)
            first = seen.setdefault((rule.id, key), me)
            if first != me:
                item.repeats = f"{first[0]}[{first[1]}]" if first[1] is not None else first[0]
            out.append(item)
    _fill_matches(conn, out)
    return out


def _current_values(
    conn: Any, catalog: Catalog, fields: set[int], changes: list[PendingChange]
) -> dict[int, dict[int, Any]]:
    """Stored values of the rule fields of the records being updated."""
    ids = [c.record_id for c in changes if c.action == "update" and c.record_id is not None]
    if not ids:
        return {}
    table = catalog.table
    order = sorted(fields)
    cols = [table.c[catalog.by_id[f].col] for f in order]
    out: dict[int, dict[int, Any]] = {}
    for start in range(0, len(ids), 900):
        q = sa.select(table.c.id, *cols).where(table.c.id.in_(ids[start : start + 900]))
        for row in conn.execute(q):
            out[row[0]] = dict(zip(order, row[1:], strict=True))
    return out


def _fill_matches(conn: Any, candidates: list[Candidate]) -> None:
    keys = schema.duplicate_keys
    by_rule: dict[int, set[str]] = {}
    for c in candidates:
        by_rule.setdefault(c.rule.id, set()).add(c.key)
    holders: dict[tuple[int, str], list[int]] = {}
    for rule_id, wanted in by_rule.items():
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 500):
            q = (
                sa.select(keys.c.key, keys.c.record_id)
                .where(keys.c.rule_id == rule_id, keys.c.key.in_(ordered[start : start + 500]))
                .order_by(keys.c.record_id)
                .limit(10_000)
            )
            for key, rid in conn.execute(q):
                holders.setdefault((rule_id, key), []).append(rid)
    for c in candidates:
        c.matches = [r for r in holders.get((c.rule.id, c.key), []) if r != c.record_id]


def refusal(conn: Any, actor: Actor, catalog: Catalog, hits: list[Candidate]) -> Duplicate:
    """The 409 for these items: matches the actor may see, by id and title; others unnamed."""
    seen = visible_ids(conn, actor, catalog, sorted({r for h in hits for r in h.matches}))
    names = titles(conn, actor, catalog, seen)
    errors, details = [], []
    for hit in hits:
        shown = [r for r in hit.matches if r in seen][:20]
        hidden = any(r not in seen for r in hit.matches)
        where = hit.where or None
        if shown:
            listed = ", ".join(f"#{r} {names.get(r, '')}".strip() for r in shown)
            errors.append(
                ItemError(
                    where, hit.index, None, "duplicate", {"rule": hit.rule.name, "records": listed}
                )
            )
        elif hidden:
            errors.append(
                ItemError(where, hit.index, None, "duplicate_hidden", {"rule": hit.rule.name})
            )
        else:
            errors.append(
                ItemError(
                    where,
                    hit.index,
                    None,
                    "duplicate_in_batch",
                    {"rule": hit.rule.name, "other": hit.repeats},
                )
            )
        details.append(
            {
                "where": where,
                "index": hit.index,
                "rule": {"id": hit.rule.id, "name": hit.rule.name},
                "matches": [{"id": r, "title": names.get(r, f"#{r}")} for r in shown],
                "hidden": hidden,
                "repeats": hit.repeats,
            }
        )
    return Duplicate(errors=errors, duplicates=details)
