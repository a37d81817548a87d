"""The write hook keeping every record's duplicate keys in step, inside the write's transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.storage import bulk, schema

from .rules import Rule, keys_of_rows, rules_of


def on_write(
    conn: Connection, actor: Actor, catalog: Catalog, entries: list[dict[str, Any]]
) -> None:
    """Deleted records lose their keys; created ones, and updated ones whose rule fields
    changed, get their keys computed from the rows as written."""
    if actor.via == "dry_run" or catalog.system is not None or not entries:
        return
    rules = rules_of(actor, catalog)
    if not rules:
        return
    names = {p.field.api_name for r in rules for p in r.parts}
    gone = [e["record_id"] for e in entries if e["action"] == "delete"]
    created = [e for e in entries if e["action"] == "create"]
    changed = sorted(
        {
            e["record_id"]
            for e in entries
            if e["action"] == "update" and names.intersection(e["changes"])
        }
    )
    if gone:
        forget(conn, [r.id for r in rules], gone)
    if created:
        # A new record's values are all in its entry (an empty field is not there): no
        # read of the row, no keys to replace.
        rows = []
        for e in created:
            values = {
                catalog.by_api_name[k].id: c["new"] for k, c in e["changes"].items() if k in names
            }
            for rule in rules:
                key = rule.key(values)
                if key is not None:
                    rows.append({"rule_id": rule.id, "record_id": e["record_id"], "key": key})
        bulk.insert_many(conn, schema.duplicate_keys, rows)
    if changed:
        store(conn, catalog, rules, changed)


def forget(conn: Connection, rule_ids: list[int], record_ids: list[int]) -> None:
    """Remove the keys of these records."""
    keys = schema.duplicate_keys
    for start in range(0, len(record_ids), 900):
        chunk = record_ids[start : start + 900]
        conn.execute(
            sa.delete(keys).where(
                keys.c.rule_id.in_(rule_ids), bulk.id_in(conn, keys.c.record_id, chunk)
            )
        )


def store(conn: Connection, catalog: Catalog, rules: list[Rule], ids: list[int]) -> None:
    """Compute and write the keys of these records (replacing what they had)."""
    now = keys_of_rows(conn, catalog, rules, ids)
    forget(conn, [r.id for r in rules], ids)
    rows = [
        {"rule_id": rule_id, "record_id": rid, "key": key}
        for rule_id, per_record in now.items()
        for rid, key in per_record.items()
        if key is not None
    ]
    bulk.insert_many(conn, schema.duplicate_keys, rows)
