"""Duplicate rules of a catalog: stored, cached per metadata version, managed by managers.

A rule names one or several fields (`{"field": api_name, "normalise": ...}`); the
records whose normalised values are all equal are duplicates under it. Changing rules
moves the workspace's metadata version (every process reloads them) and rebuilds the
rule's keys in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.meta import bump_meta, invalidate
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import ItemError, NotFound, ValidationFailed
from kartoteka.fields.datetime import render_datetime
from kartoteka.records import service as records
from kartoteka.storage import bulk, schema
from kartoteka.storage.engine import read_connection, utcnow

from . import backfill
from .normalise import FIELD_TYPES, NORMALISERS, default_normaliser, key_of, normalise, valid_region

MAX_RULES = 20
MAX_FIELDS = 5


@dataclass(frozen=True)
class RulePart:
    """One field of a rule and how its values are normalised."""

    field: Field
    normalise: str

    def value(self, raw: Any) -> str | None:
        """A value of the field normalised for a key."""
        stored_e164 = isinstance(raw, str) and raw.startswith("+")
        if self.normalise == "phone" and self.field.type == "phone" and stored_e164:
            return str(raw)  # a phone field stores E.164 already: no second parse
        return normalise(self.normalise, raw, valid_region(self.field.options.get("region")))


@dataclass(frozen=True)
class Rule:
    """A rule as the write path uses it (fields resolved against the current metadata)."""

    id: int
    catalog_id: int
    name: str
    parts: tuple[RulePart, ...]
    #: False when a field it names is gone or changed type: it checks nothing any more.
    valid: bool
    stored: tuple[dict[str, Any], ...]
    created_at: Any

    def key(self, values: dict[int, Any]) -> str | None:
        """The key of a record's values (by field id); None when a field is empty."""
        return key_of([p.value(values.get(p.field.id)) for p in self.parts])

    @property
    def field_ids(self) -> set[int]:
        """The ids of the fields it reads."""
        return {p.field.id for p in self.parts}


# ----- the cache: rules of every catalog, reloaded with the metadata -----------------------
#: Kept in the workspace (`meta_holder`), so it goes with it: (the meta they were read
#: for, catalog id -> its rules).
CACHE = "duplicate_rules"


def rules_of(actor: Actor, catalog: Catalog, *, all_rules: bool = False) -> list[Rule]:
    """The catalog's rules (valid ones only unless `all_rules`), from the cache."""
    meta = actor.workspace.meta()
    hit = actor.workspace.meta_holder.get(CACHE)
    if hit is None or hit[0] is not meta:
        with read_connection(actor.workspace.engine) as conn:
            rows = conn.execute(
                sa.select(schema.duplicate_rules).order_by(schema.duplicate_rules.c.id)
            ).all()
        loaded: dict[int, list[Rule]] = {}
        for row in rows:
            owner = meta.catalog(row.catalog_id)
            if owner is not None:
                loaded.setdefault(owner.id, []).append(_resolve(owner, row))
        hit = (meta, loaded)
        actor.workspace.meta_holder[CACHE] = hit
    found = hit[1].get(catalog.id, [])
    return found if all_rules else [r for r in found if r.valid]


def readable_rules(actor: Actor, catalog: Catalog) -> list[Rule]:
    """The valid rules whose every field the actor reads in full: none hidden or masked
    by a field rule. A scan's groups and keys and a card's "same as" tell those fields'
    values (two records share a phone; the key is the phone), so a rule on a field the
    reader may not read is not theirs to scan. Checks on writes use every rule
    (`rules_of`): the writer gave the value."""
    rules = rules_of(actor, catalog)
    fields = access.field_rules(actor, catalog) if rules else {}
    if not fields:
        return rules
    return [r for r in rules if all(fields.get(p.field.api_name) not in _UNREAD for p in r.parts)]


#: Field rules under which a reader does not read a field's whole value.
_UNREAD = ("hidden", "masked")


def _resolve(catalog: Catalog, row: Any) -> Rule:
    parts, valid = [], True
    for spec in row.fields or []:
        f = catalog.by_id.get(spec.get("field"))
        if f is None or f.type not in FIELD_TYPES or not f.column:
            valid = False
            continue
        parts.append(RulePart(f, spec.get("normalise") or default_normaliser(f.type)))
    return Rule(
        row.id,
        row.catalog_id,
        row.name,
        tuple(parts),
        valid and bool(parts),
        tuple(row.fields or []),
        row.created_at,
    )


def rule_json(catalog: Catalog, rule: Rule) -> dict[str, Any]:
    """A rule as the API shows it."""
    fields = []
    for spec in rule.stored:
        f = catalog.by_id.get(spec.get("field") or 0)
        fields.append(
            {"field": f.api_name if f else None, "normalise": spec.get("normalise") or "exact"}
        )
    return {
        "id": rule.id,
        "catalog": catalog.api_name,
        "name": rule.name,
        "fields": fields,
        "valid": rule.valid,
        "created_at": render_datetime(rule.created_at),
    }


# ----- managing rules ----------------------------------------------------------------------
def _managed(actor: Actor, catalog_ref: str | int) -> Catalog:
    catalog = records.get_catalog(actor, catalog_ref)
    catalogs.require_manage(actor, catalog)
    return catalog


def _invalid(field: str, code: str, /, **params: Any) -> ValidationFailed:
    return ValidationFailed(errors=[ItemError(None, None, field, code, params)])


def _clean(catalog: Catalog, body: Any, previous: Rule | None = None) -> tuple[str, list[dict]]:
    """(name, stored fields) from a request body; a 422 naming the offending key."""
    if not isinstance(body, dict):
        raise _invalid("body", "duplicate_rule_body")
    unknown = sorted(set(body) - {"name", "fields"})
    if unknown:
        raise _invalid(str(unknown[0])[:100], "unknown_key")
    if previous is None or "fields" in body:
        raw_fields = _clean_fields(catalog, body.get("fields"))
    else:
        raw_fields = list(previous.stored)
    name = body.get("name")
    if name is None:
        name = previous.name if previous else None
    if name is None:
        name = " + ".join(catalog.by_id[s["field"]].name for s in raw_fields)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise _invalid("name", "duplicate_rule_name")
    return name.strip(), raw_fields


def _clean_fields(catalog: Catalog, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_FIELDS:
        raise _invalid("fields", "duplicate_rule_fields", limit=MAX_FIELDS)
    out: list[dict[str, Any]] = []
    for i, spec in enumerate(value):
        where = f"fields[{i}]"
        if isinstance(spec, str):
            spec = {"field": spec}
        if not isinstance(spec, dict) or set(spec) - {"field", "normalise"}:
            raise _invalid(where, "duplicate_rule_part")
        ref = spec.get("field")
        f = catalog.field(ref) if isinstance(ref, str) else None
        if f is None:
            raise _invalid(where, "unknown_field")
        if f.type not in FIELD_TYPES or not f.column:
            raise _invalid(where, "duplicate_rule_type", type=f.type)
        how = spec.get("normalise") or default_normaliser(f.type)
        if how not in NORMALISERS:
            raise _invalid(where, "duplicate_rule_normalise", allowed=", ".join(NORMALISERS))
        if any(o["field"] == f.id for o in out):
            raise _invalid(where, "duplicate_rule_repeat", field=f.api_name)
        out.append({"field": f.id, "normalise": how})
    return out


def list_rules(actor: Actor, catalog_ref: str | int) -> list[dict[str, Any]]:
    """Every rule of a catalog (anyone who sees the catalog may read them)."""
    catalog = records.get_catalog(actor, catalog_ref)
    return [rule_json(catalog, r) for r in rules_of(actor, catalog, all_rules=True)]


def get_rule(actor: Actor, catalog_ref: str | int, rule_id: int) -> dict[str, Any]:
    """One rule of a catalog."""
    catalog = records.get_catalog(actor, catalog_ref)
    return rule_json(catalog, find_rule(actor, catalog, rule_id, valid=False))


def find_rule(actor: Actor, catalog: Catalog, rule_id: Any, *, valid: bool = True) -> Rule:
    """A rule of this catalog by id (404 if unknown; 422 if `valid` and it checks nothing)."""
    for rule in rules_of(actor, catalog, all_rules=True):
        if rule.id == rule_id:
            if valid and not rule.valid:
                raise _invalid("rule", "duplicate_rule_broken", id=rule.id)
            return rule
    raise NotFound(
        errors=[ItemError(None, None, "rule", "duplicate_rule_not_found", {"id": rule_id})]
    )


def create_rule(actor: Actor, catalog_ref: str | int, body: Any) -> dict[str, Any]:
    """Add a rule and compute the keys of the existing records (managers only)."""
    catalog = _managed(actor, catalog_ref)
    if len(rules_of(actor, catalog, all_rules=True)) >= MAX_RULES:
        raise _invalid("fields", "duplicate_rules_limit", limit=MAX_RULES)
    name, fields = _clean(catalog, body)
    t = schema.duplicate_rules
    with actor.workspace.engine.begin() as conn:
        rule_id = conn.execute(
            sa.insert(t)
            .values(
                catalog_id=catalog.id,
                name=name,
                fields=fields,
                created_at=utcnow(),
                created_by=actor.user_id,
            )
            .returning(t.c.id)
        ).scalar_one()
        row = conn.execute(sa.select(t).where(t.c.id == rule_id)).one()
        rebuild_keys(conn, catalog, _resolve(catalog, row))
        bump_meta(conn)
    invalidate(actor.workspace)
    return get_rule(actor, catalog.id, rule_id)


def update_rule(actor: Actor, catalog_ref: str | int, rule_id: int, body: Any) -> dict[str, Any]:
    """Rename a rule or change its fields (its keys are computed again)."""
    catalog = _managed(actor, catalog_ref)
    previous = find_rule(actor, catalog, rule_id, valid=False)
    name, fields = _clean(catalog, body, previous)
    t = schema.duplicate_rules
    with actor.workspace.engine.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == rule_id).values(name=name, fields=fields))
        if fields != list(previous.stored):
            row = conn.execute(sa.select(t).where(t.c.id == rule_id)).one()
            rebuild_keys(conn, catalog, _resolve(catalog, row))
        bump_meta(conn)
    invalidate(actor.workspace)
    return get_rule(actor, catalog.id, rule_id)


def delete_rule(actor: Actor, catalog_ref: str | int, rule_id: int) -> None:
    """Remove a rule and its keys."""
    catalog = _managed(actor, catalog_ref)
    find_rule(actor, catalog, rule_id, valid=False)
    with actor.workspace.engine.begin() as conn:
        conn.execute(
            sa.delete(schema.duplicate_keys).where(schema.duplicate_keys.c.rule_id == rule_id)
        )
        conn.execute(
            sa.delete(schema.duplicate_rules).where(schema.duplicate_rules.c.id == rule_id)
        )
        bump_meta(conn)
    invalidate(actor.workspace)


# ----- keys ----------------------------------------------------------------------------------
def rebuild_keys(conn: Connection, catalog: Catalog, rule: Rule) -> int:
    """Compute the rule's key of every record again; returns how many have one."""
    return backfill.rebuild(conn, catalog, rule)


def keys_of_rows(
    conn: Connection, catalog: Catalog, rules: list[Rule], ids: list[int]
) -> dict[int, dict[int, str | None]]:
    """rule id -> record id -> its key now (read in the caller's transaction)."""
    table = catalog.table
    fields = sorted({f for r in rules for f in r.field_ids})
    cols = [table.c[catalog.by_id[f].col] for f in fields]
    out: dict[int, dict[int, str | None]] = {r.id: {} for r in rules}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for row in conn.execute(
            sa.select(table.c.id, *cols).where(bulk.id_in(conn, table.c.id, chunk))
        ):
            values = dict(zip(fields, row[1:], strict=True))
            for rule in rules:
                out[rule.id][row[0]] = rule.key(values)
    return out
