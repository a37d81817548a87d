"""Stored rows of deleted records, so rights can still be judged after the row is gone.

A deletion event keeps the record's last stored row (column -> value, JSON-safe). To
tell whether an actor could see a deleted record, the actor's record rule is compiled
against a derived table built from those rows (`SELECT <literals> UNION ALL ...`) — the
same SQL rule as for live rows, so a deletion reaches exactly the people who saw the
record. A rule condition through a link cannot be judged this way (the record's links
are deleted with it): such a condition counts as not met.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor

CHUNK = 200


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    if isinstance(value, dict):
        return {"$j": value}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$n" in value:
            return Decimal(value["$n"])
        if "$j" in value:
            return value["$j"]
    return value


def snapshot(row: Any) -> dict[str, Any]:
    """A stored row as JSON-safe column values."""
    return {str(getattr(key, "name", key)): _encode(value) for key, value in row._mapping.items()}


def _derived(catalog: Catalog, rows: list[dict[str, Any]]) -> Any:
    """The rows as a subquery with the catalog table's columns and types."""
    selects = [
        sa.select(
            *[
                sa.literal(_decode(row.get(col.name)), type_=col.type).label(col.name)
                if row.get(col.name) is not None
                else sa.null().cast(col.type).label(col.name)
                for col in catalog.table.columns
            ]
        )
        for row in rows
    ]
    query = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return query.subquery("gone")


def visible(conn: Any, actor: Actor, catalog: Catalog, rows: list[dict[str, Any]]) -> set[int]:
    """Ids among the snapshots whose record the actor could see (by the rule, as rows)."""
    found: set[int] = set()
    rows = [r for r in rows if isinstance(r, dict) and isinstance(r.get("id"), int)]
    for start in range(0, len(rows), CHUNK):
        gone = _derived(catalog, rows[start : start + CHUNK])
        rule = access.record_filter(actor, catalog, "view", table=gone)
        q = sa.select(gone.c.id)
        if rule is not None:
            q = q.where(rule)
        found.update(r[0] for r in conn.execute(q))
    return found
