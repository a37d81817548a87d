"""Matching records by key values (batch upsert, import keys, import link keys).

A key lookup is a question about stored values: "is there a record whose phone is
+7912...?". Answered over every record, or over a field the actor may not read, it
becomes an oracle that tells right guesses from wrong ones. So a key may only be a
field the actor reads in clear, and only records the actor may see are matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kartoteka.errors import Forbidden, problem
from kartoteka.storage import bulk

from . import service as access
from .visibility import FieldView

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from kartoteka.catalogs.models import Catalog, Field
    from kartoteka.context import Actor

CHUNK = 900


def readable_key(actor: Actor, catalog: Catalog, field: Field) -> bool:
    """Whether the actor reads `field` in clear (not hidden, not masked), so may key on it."""
    return FieldView.of(actor, catalog).clear(field.api_name)


def require_readable_keys(actor: Actor, catalog: Catalog, fields: Iterable[Field]) -> None:
    """Forbidden when a key field is hidden or masked for the actor.

    The message names the field as the actor asked for it and says nothing about values.
    """
    view = FieldView.of(actor, catalog)
    for field in fields:
        if not view.clear(field.api_name):
            raise Forbidden(
                errors=[problem("match_forbidden", None, name=field.api_name)],
                field=field.api_name,
            )


def match_visible(
    conn: Connection,
    actor: Actor,
    catalog: Catalog,
    key: Sequence[Field],
    wanted: Iterable[tuple[Any, ...]],
) -> dict[tuple[Any, ...], list[int]]:
    """Ids (ascending) of records the actor may see, by the tuple of their key values.

    Records the actor cannot see are never matched: to the caller they do not exist, so
    an upsert creates (and meets the unique check like any create) and an import line
    reports "no record with ...", the same answer as for a value nobody holds.
    """
    found: dict[tuple[Any, ...], list[int]] = {}
    wanted_set = set(wanted)
    if not wanted_set or not key:
        return found
    require_readable_keys(actor, catalog, key)
    table = catalog.table
    cols = [table.c[f.storage_column] for f in key if f.storage_column]
    rights = access.record_filter(actor, catalog, "view")
    firsts = _ordered({w[0] for w in wanted_set})
    # One statement for all the keys of a chunk when they bind as one parameter.
    one = bulk.values_in(conn, cols[0], firsts)
    matches = [one] if one is not None else [
        cols[0].in_(firsts[start : start + CHUNK]) for start in range(0, len(firsts), CHUNK)
    ]  # fmt: skip
    for match in matches:
        q = sa.select(table.c.id, *cols).where(match)
        if rights is not None:
            q = q.where(rights)
        for rid, *values in conn.execute(q.order_by(table.c.id)):
            if tuple(values) in wanted_set:
                found.setdefault(tuple(values), []).append(rid)
    return found


def _ordered(values: set[Any]) -> list[Any]:
    """Values in a stable order: their own when they compare (a chunk's texts or numbers,
    sorted in C), else by their `repr` (mixed kinds)."""
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)
