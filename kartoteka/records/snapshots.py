"""Stored rows of deleted records, so rights can still be judged after the row is gone.

A deletion event keeps the record's last stored row (column -> value, JSON-safe). To
tell whether an actor could see a deleted record, the actor's record rule is compiled
against a derived table built from those rows (`SELECT <literals> UNION ALL ...`) — the
same SQL rule as for live rows, so a deletion reaches exactly the people who saw the
record. A rule condition through a link cannot be judged this way (the record's links
are deleted with it): such a condition counts as not met.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor

from . import tagged

CHUNK = 200


def snapshot(row: Any) -> dict[str, Any]:
    """A stored row as JSON-safe column values."""
    mapping = row._mapping
    return {str(getattr(key, "name", key)): tagged.dump(value) for key, value in mapping.items()}


def _derived(catalog: Catalog, rows: list[dict[str, Any]]) -> Any:
    """The rows as a subquery with the catalog table's columns and types."""
    selects = [
        sa.select(
            *[
                sa.literal(tagged.load(row.get(col.name)), type_=col.type).label(col.name)
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
