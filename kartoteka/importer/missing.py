"""`create_missing`: the linked records no key of an import matched, created by their key."""

from __future__ import annotations

from typing import Any

from kartoteka.access import service as access
from kartoteka.context import Actor
from kartoteka.errors import DomainError
from kartoteka.records import batches, write
from kartoteka.records.errors import RecordInvalid

from .plan import Column


def create_missing(actor: Actor, col: Column, values: set[Any]) -> dict[tuple[Any, ...], list[int]]:
    """Create the linked records no key matched (`create_missing`), in one batch each
    1000; a key that cannot make a record (a required field) stays unmatched."""
    key, target = col.link_key, col.target
    assert key is not None and target is not None
    out: dict[tuple[Any, ...], list[int]] = {}
    ordered = sorted(values, key=repr)
    rules = access.field_rules(actor, target)
    for start in range(0, len(ordered), batches.MAX_BATCH):
        part = ordered[start : start + batches.MAX_BATCH]
        items = []
        for i, value in enumerate(part):
            try:
                items.append(
                    write.prepare_stored(
                        target,
                        {key.id: value},
                        creating=True,
                        rules=rules,
                        index=i,
                        actor=actor,
                    )
                )
            except RecordInvalid:
                continue
        if not items:
            continue
        try:
            batches.run_prepared(actor, target, items, [])
        except DomainError:
            continue  # reported per row as "no record with ..." below
        for item in items:
            if item.record_id is not None:
                out[(item.columns[key.col],)] = [item.record_id]
    return out
