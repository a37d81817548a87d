"""The one place that decides rights. Every read and write path asks these functions.

Model: per catalog and group a rights document
`{"view": R, "create": bool, "edit": R, "delete": R, "manage": bool,
"fields": {api_name: "hidden"|"read_only"|"masked"}, "reveal": [api_name...]}`
where R is true, false, a filter (record rule) or `{"$view": <view id>}`.
A user's rights are the union over their groups; administrators are not restricted;
a user without a grant sees nothing. Record rules compile to one SQL condition.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from kartoteka.errors import DomainError, Forbidden, problem
from kartoteka.filters.compiler import FilterCompiler
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Catalog, Field
    from kartoteka.context import Actor

ACTIONS = ("view", "edit", "delete")
FIELD_RULES = ("read_only", "masked", "hidden")  # least to most restrictive
#: Compiled record filters kept per (catalog, action, user, groups, profile, day); the
#: workspace meta object they were compiled against is checked on every hit.
FILTER_CACHE_SIZE = 2048
_filters: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()
_filters_lock = threading.Lock()
#: Field rules per (catalog object, groups), with the meta object they were read from.
_rules: OrderedDict[tuple[Any, ...], tuple[Any, Any, dict[str, str]]] = OrderedDict()


def grants(actor: Actor, catalog: Catalog) -> list[dict[str, Any]]:
    """The rights documents of the actor's groups on a catalog."""
    by_group = actor.workspace.meta().rights.get(catalog.id, {})
    return [by_group[g] for g in actor.group_ids if g in by_group]


def can_manage(actor: Actor, catalog: Catalog | None) -> bool:
    """May change the catalog's fields and views (creating catalogs: administrators)."""
    if catalog is not None and catalog.system is not None:
        return False  # the platform keeps its structure; rights on it cannot be granted
    if actor.is_admin:
        return True
    return catalog is not None and any(g.get("manage") is True for g in grants(actor, catalog))


def within_token_scope(actor: Actor, catalog: Catalog) -> bool:
    """An API token scoped to some catalogs reaches only those (even an administrator's)."""
    scoped = (actor.token_scopes or {}).get("catalogs")
    return not scoped or catalog.id in scoped or catalog.api_name in scoped


def can_see_catalog(actor: Actor, catalog: Catalog) -> bool:
    """May see that the catalog exists and read (some of) its records."""
    if not within_token_scope(actor, catalog):
        return False
    if catalog.system is not None:
        # Platform configuration (webhook URLs may carry credentials): whatever rights
        # say, only administrators see it — in lists, exports and the live feed alike.
        return actor.is_admin
    if actor.is_admin:
        return True
    return any(g.get("view") not in (None, False) for g in grants(actor, catalog))


def may_reach(actor: Actor, catalog: Catalog) -> bool:
    """Whether any record of the catalog could be the actor's to see (by a grant or a
    share): within the token's scope, and a system catalog only for administrators."""
    if not within_token_scope(actor, catalog):
        return False
    return catalog.system is None or actor.is_admin


def require_catalog(actor: Actor, catalog: Catalog) -> None:
    """Forbidden unless the actor has some access to the catalog."""
    if not within_token_scope(actor, catalog):
        raise Forbidden.of("token_scope_catalog", None, catalog=catalog.api_name)
    # A system catalog opens to administrators only, whatever shares say.
    if not can_see_catalog(actor, catalog) and (
        catalog.system is not None or not _has_shares(actor, catalog)
    ):
        raise Forbidden.of("catalog_forbidden", None, catalog=catalog.api_name)


def can_create(actor: Actor, catalog: Catalog) -> bool:
    """May create records in the catalog."""
    return actor.is_admin or any(g.get("create") is True for g in grants(actor, catalog))


def _rule_clause(
    actor: Actor, catalog: Catalog, rule: Any, table: Any
) -> ColumnElement[bool] | None:
    """SQL for one record rule (None: all records); a broken rule denies, never leaks."""
    if rule is True:
        return None
    if not rule:
        return sa.false()
    if isinstance(rule, dict) and set(rule) == {"$view"}:
        found = actor.workspace.meta().view_filters.get(rule["$view"])
        if found is None or found[0] != catalog.id:
            return sa.false()
        if not found[1]:
            return None
        rule = found[1]
    try:
        compiler = FilterCompiler(actor, catalog, table)  # a rule: no reader rights
        return compiler.compile(rule)
    except (DomainError, ValueError, KeyError):
        return sa.false()


def _shared_clause(actor: Actor, catalog: Catalog, action: str, table: Any) -> ColumnElement[bool]:
    s = schema.record_shares
    q = sa.select(s.c.record_id).where(s.c.catalog_id == catalog.id, s.c.user_id == actor.user_id)
    if action != "view":
        q = q.where(s.c.can_edit.is_(True))
    return table.c.id.in_(q)


def _has_shares(actor: Actor, catalog: Catalog) -> bool:
    if actor.user_id is None:
        return False
    s = schema.record_shares
    with read_connection(actor.workspace.engine) as conn:
        found = conn.execute(
            sa.select(s.c.record_id)
            .where(s.c.catalog_id == catalog.id, s.c.user_id == actor.user_id)
            .limit(1)
        ).first()
    return found is not None


def _union(clauses: list[ColumnElement[bool] | None]) -> ColumnElement[bool] | None:
    """OR of rule clauses; None when one of them allows everything."""
    if any(c is None for c in clauses):
        return None
    real = [c for c in clauses if c is not None]
    return sa.or_(*real) if real else sa.false()


def reader_key(actor: Actor) -> tuple[Any, ...]:
    """Everything about a reader that a compiled rule or filter depends on, besides the
    workspace metadata: who (rights come from the groups, `$user.` operands from the
    profile), relative dates (the day), token scopes (which catalogs a hop may reach).

    Caches of compiled clauses key on it and check the metadata object on every hit.
    """
    who = actor.reader
    if who is None:
        who = actor.reader = (
            actor.workspace.name,
            actor.user_id,
            actor.is_admin,
            actor.group_ids,
            actor.email,
            actor.name,
            orjson.dumps(actor.profile, option=orjson.OPT_SORT_KEYS, default=str),
            orjson.dumps(actor.token_scopes, option=orjson.OPT_SORT_KEYS, default=str),
        )
    return (*who, actor.today())


def record_filter(
    actor: Actor, catalog: Catalog, action: str = "view", table: Any = None
) -> ColumnElement[bool] | None:
    """SQL condition on the catalog table (or `table`, an alias of it) limiting `action`.

    `action` is view, edit or delete; None means no restriction. Editing and deleting
    also require seeing the record.
    """
    if actor.is_admin:
        return None
    if table is not None and table is not catalog.table:
        return _record_filter(actor, catalog, action, table)
    # Compiling a rule costs as much as the indexed read it restricts; the same actor asks
    # for the same clause on every page. The key holds everything the clause depends on:
    # rights and rights views live in the meta object, `$user.` values in the profile,
    # relative dates in the day.
    meta = actor.workspace.meta()
    key = (catalog.id, action, *reader_key(actor))
    with _filters_lock:
        hit = _filters.get(key)
        if hit is not None and hit[0] is meta:
            _filters.move_to_end(key)
            return hit[1]  # type: ignore[no-any-return]
    clause = _record_filter(actor, catalog, action, catalog.table)
    with _filters_lock:
        _filters[key] = (meta, clause)
        while len(_filters) > FILTER_CACHE_SIZE:
            _filters.popitem(last=False)
    return clause


def _record_filter(
    actor: Actor, catalog: Catalog, action: str, table: Any
) -> ColumnElement[bool] | None:
    docs = grants(actor, catalog)
    view = _union([_rule_clause(actor, catalog, d.get("view"), table) for d in docs])
    if action == "view":
        result = view
    else:
        act = _union([_rule_clause(actor, catalog, d.get(action), table) for d in docs])
        if act is None:
            result = view
        elif view is None:
            result = act
        else:
            result = sa.and_(act, view)
    if actor.user_id is None:
        return result
    shared = _shared_clause(actor, catalog, action, table)
    return None if result is None else sa.or_(result, shared)


def field_rules(actor: Actor, catalog: Catalog) -> dict[str, str]:
    """api_name -> "hidden" | "read_only" | "masked" for this actor.

    Over the actor's groups that grant a view of the catalog the least strict rule wins.
    An actor with no such group (who reaches records only through shares) gets the
    strictest rule any group of the catalog has: a share grants a record, never more
    of its fields than the catalog's own rules give anybody.
    """
    if actor.is_admin:
        return {}
    # A page asks several times (fields shown, titles, links' targets); the rules depend
    # only on the groups and the metadata (rights documents, the catalog's fields).
    meta = actor.workspace.meta()
    key = (id(catalog), actor.group_ids)
    with _filters_lock:
        hit = _rules.get(key)
        if hit is not None and hit[0] is meta and hit[1] is catalog:
            return dict(hit[2])  # a copy: callers may change theirs
    docs = [d for d in grants(actor, catalog) if d.get("view") not in (None, False)]
    if not docs:
        every = meta.rights.get(catalog.id, {})
        rules = _rules_of(catalog, list(every.values()), strictest=True)
    else:
        rules = _rules_of(catalog, docs, strictest=False)
    with _filters_lock:
        _rules[key] = (meta, catalog, rules)
        while len(_rules) > FILTER_CACHE_SIZE:
            _rules.popitem(last=False)
    return dict(rules)


def _rules_of(catalog: Catalog, docs: list[dict[str, Any]], strictest: bool) -> dict[str, str]:
    """Per field, the least (or the strictest) rule of `docs`; fields without one are open."""
    if not docs:
        return {}
    pick = max if strictest else min
    result: dict[str, str] = {}
    for field in catalog.fields:
        levels = [
            FIELD_RULES.index(rule) if rule in FIELD_RULES else -1
            for rule in ((d.get("fields") or {}).get(str(field.id)) for d in docs)
        ]
        level = pick(levels)
        if level >= 0:
            result[field.api_name] = FIELD_RULES[level]
    return result


def may_reveal(actor: Actor, catalog: Catalog, field: Field) -> bool:
    """May see the unmasked value of a masked field (an audited action)."""
    if actor.is_admin:
        return True
    return any(str(field.id) in (d.get("reveal") or []) for d in grants(actor, catalog))


def verify_rows(conn: Any, actor: Actor, catalog: Catalog, ids: list[int], action: str) -> None:
    """After a write, inside its transaction: every written row must still satisfy the
    actor's rule, so nobody creates or moves a record outside what they may see/edit."""
    if actor.is_admin or not ids:
        return
    rule = record_filter(actor, catalog, "view" if action == "create" else "edit")
    if rule is None:
        return
    table = catalog.table
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        bad = conn.execute(
            sa.select(table.c.id).where(table.c.id.in_(chunk), sa.not_(rule)).limit(1)
        ).first()
        if bad is not None:
            code = "rule_create_outside" if action == "create" else "rule_move_outside"
            raise Forbidden(
                errors=[problem(code, None, id=bad[0], catalog=catalog.api_name)],
                record_id=bad[0],
            )


def mask_value(field: Field, value: Any) -> Any:
    """A masked rendering, as the field's type masks it (phones as `+7 *** ***-**-67`)."""
    if value is None or value == "":
        return value
    return field.ftype.mask(str(value))
