"""The scan: groups of existing records sharing a key, one GROUP BY over the key index.

Only records the reader may see take part (the rights clause joins the catalog table),
so a group is two or more records the reader sees; pages follow the keys in order.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import ItemError, NotFound, ValidationFailed
from kartoteka.records import service as records
from kartoteka.records.linked import kept_statement, titles
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection
from kartoteka.storage.kept import all_rows

from .normalise import SEPARATOR
from .rules import Rule, find_rule, readable_rules, rule_json

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
#: Records listed per group (the group's `count` says how many there are).
MAX_MEMBERS = 100


def _invalid(field: str, code: str, /, **params: Any) -> ValidationFailed:
    return ValidationFailed(errors=[ItemError(None, None, field, code, params)])


def _limit(value: Any) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LIMIT
    if not ok:
        raise _invalid("limit", "scan_limit", limit=MAX_LIMIT)
    return int(value)


def _cursor(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 400:
        raise _invalid("cursor", "merge_cursor")
    try:
        key = base64.b64decode(value.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid("cursor", "merge_cursor") from None
    if not key:
        raise _invalid("cursor", "merge_cursor")
    return key


def pick_rule(actor: Actor, catalog: Catalog, ref: Any) -> Rule:
    """The rule a scan asks for (by id), or the catalog's only rule."""
    readable = readable_rules(actor, catalog)
    if ref in (None, ""):
        if len(readable) != 1:
            code = "duplicate_rule_not_found" if not readable else "duplicate_rule_choose"
            raise _invalid("rule", code, id=None)
        return readable[0]
    if isinstance(ref, str) and ref.isdecimal():
        ref = int(ref)
    rule = find_rule(actor, catalog, ref)
    if rule not in readable:  # on a field the reader does not read: as if there were none
        raise NotFound(
            errors=[ItemError(None, None, "rule", "duplicate_rule_not_found", {"id": rule.id})]
        )
    return rule


def scan(actor: Actor, catalog_ref: str | int, body: Any = None) -> dict[str, Any]:
    """A page of duplicate groups under one rule: `{"rule", "items", "next_cursor"}`.

    `body`: `{"rule": id, "limit": 1..500, "cursor": from the previous page}`.
    """
    catalog = records.get_catalog(actor, catalog_ref)
    body = body if body is not None else {}
    if not isinstance(body, dict):
        raise _invalid("body", "duplicate_rule_body")
    unknown = sorted(set(body) - {"rule", "limit", "cursor"})
    if unknown:
        raise _invalid(str(unknown[0])[:100], "unknown_key")
    rule = pick_rule(actor, catalog, body.get("rule"))
    size = _limit(body.get("limit"))
    after = _cursor(body.get("cursor"))
    keys = schema.duplicate_keys
    table = catalog.table
    rights = access.record_filter(actor, catalog, "view")
    count = sa.func.count()
    q = sa.select(keys.c.key, count).where(keys.c.rule_id == rule.id)
    if rights is not None:
        q = q.join(table, table.c.id == keys.c.record_id).where(rights)
    if after is not None:
        q = q.where(keys.c.key > after)
    q = q.group_by(keys.c.key).having(count > 1).order_by(keys.c.key).limit(size + 1)
    with read_connection(actor.workspace.engine) as conn:
        groups = conn.execute(q).all()
        more = len(groups) > size
        groups = groups[:size]
        members = _members(conn, rule, [g[0] for g in groups], table, rights)
        names = titles(conn, actor, catalog, {r for ids in members.values() for r in ids})
    items = [
        {
            "key": key.replace(SEPARATOR, " · "),
            "count": n,
            "records": [{"id": r, "title": names.get(r, f"#{r}")} for r in members.get(key, [])],
        }
        for key, n in groups
    ]
    cursor = None
    if more and groups:
        cursor = base64.urlsafe_b64encode(groups[-1][0].encode()).decode()
    return {"rule": rule_json(catalog, rule), "items": items, "next_cursor": cursor}


def _members(
    conn: Any, rule: Rule, page: list[str], table: Any, rights: Any
) -> dict[str, list[int]]:
    """key -> the first record ids holding it (oldest first), for the page's keys."""
    keys = schema.duplicate_keys
    out: dict[str, list[int]] = {}
    for start in range(0, len(page), 200):
        q = sa.select(keys.c.key, keys.c.record_id).where(
            keys.c.rule_id == rule.id, keys.c.key.in_(page[start : start + 200])
        )
        if rights is not None:
            q = q.join(table, table.c.id == keys.c.record_id).where(rights)
        for key, rid in conn.execute(q.order_by(keys.c.key, keys.c.record_id)):
            ids = out.setdefault(key, [])
            if len(ids) < MAX_MEMBERS:
                ids.append(rid)
    return out


#: Duplicates named per rule on a record's card (a group can be larger: the page lists it).
MAX_OF_RECORD = 20


def of_record(actor: Actor, catalog: Catalog, record_id: int) -> list[dict[str, Any]]:
    """The records the reader sees that hold one of this record's keys, per valid rule:
    `[{"rule": {"id", "name"}, "records": [{"id", "title"}...]}]` (rules without any left
    out). One statement for every rule; nothing is read when the catalog has no rule."""
    rules = {r.id: r for r in readable_rules(actor, catalog)}
    if not rules or catalog.system is not None:
        return []
    rights = access.record_filter(actor, catalog, "view")
    # Kept per table, rights clause and rules (cached objects while the metadata stands).
    parts = (catalog.table, rights, *rules.values())
    q = kept_statement(parts, lambda: _of_record(catalog, rights, sorted(rules)))
    found: dict[int, list[int]] = {}
    with read_connection(actor.workspace.engine) as conn:
        for rule_id, rid in all_rows(conn, q, "record_id", record_id):
            held = found.setdefault(rule_id, [])
            if len(held) < MAX_OF_RECORD:
                held.append(rid)
        names = titles(conn, actor, catalog, {r for ids in found.values() for r in ids})
    return [
        {
            "rule": {"id": rule_id, "name": rules[rule_id].name},
            "records": [{"id": r, "title": names.get(r, f"#{r}")} for r in ids],
        }
        for rule_id, ids in found.items()
    ]


def _of_record(catalog: Catalog, rights: Any, rule_ids: list[int]) -> Any:
    """`of_record`'s statement for one rights clause and set of rules (kept: building it
    and its cache key cost more than the two index lookups it runs)."""
    keys = schema.duplicate_keys
    mine, other = keys.alias("mine"), keys.alias("other")
    table = catalog.table
    record_id: Any = sa.bindparam("record_id")
    q = (
        sa.select(other.c.rule_id, other.c.record_id)
        .join(mine, sa.and_(mine.c.rule_id == other.c.rule_id, mine.c.key == other.c.key))
        .join(table, table.c.id == other.c.record_id)
        .where(
            mine.c.record_id == record_id,
            # The rules' ids written into the statement (kept per set of rules).
            mine.c.rule_id.in_([sa.literal_column(str(int(i))) for i in rule_ids]),
            other.c.record_id != record_id,
        )
        .order_by(other.c.rule_id, other.c.record_id)
        .limit(MAX_OF_RECORD * len(rule_ids))
    )
    return q if rights is None else q.where(rights)
