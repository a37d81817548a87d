"""Changing rights: reading and replacing a catalog's rights document (administrators,
and catalog managers when the workspace delegates it).

Deciding rights is `kartoteka.access` (every read and write asks it); this package is
where they are changed, above the catalogs it needs to look up.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.catalogs.meta import bump_meta, invalidate
from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import get_catalog
from kartoteka.context import Actor
from kartoteka.errors import DomainError, Forbidden, ValidationFailed, problem
from kartoteka.filters.compiler import FilterCompiler
from kartoteka.security.log import log_event
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

RIGHT_KEYS = {"view", "create", "edit", "delete", "manage", "fields", "reveal"}
RULE_KEYS = ("view", "edit", "delete")


def get_rights(actor: Actor, catalog_ref: str | int) -> dict[str, Any]:
    """The rights of every group on a catalog, with field rules keyed by api_name."""
    catalog = get_catalog(actor, catalog_ref)
    if not access.can_manage(actor, catalog):
        raise Forbidden.of("rights_see_forbidden")
    by_group = actor.workspace.meta().rights.get(catalog.id, {})
    return {"groups": {str(g): _to_api(catalog, doc) for g, doc in sorted(by_group.items())}}


def _to_api(catalog: Catalog, doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: doc.get(k, False) for k in ("view", "create", "edit", "delete", "manage")}
    out["fields"] = {
        catalog.by_id[int(fid)].api_name: rule
        for fid, rule in (doc.get("fields") or {}).items()
        if int(fid) in catalog.by_id
    }
    out["reveal"] = [
        catalog.by_id[int(fid)].api_name
        for fid in doc.get("reveal") or []
        if int(fid) in catalog.by_id
    ]
    return out


def _clean_rule(actor: Actor, catalog: Catalog, where: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, dict) and set(value) == {"$view"}:
        view = actor.workspace.meta().view_filters.get(value["$view"])
        if view is None or view[0] != catalog.id:
            raise ValidationFailed.of("rule_no_view", where)
        return value
    if not isinstance(value, dict) or not value:
        raise ValidationFailed.of("rule_shape", where)
    try:
        FilterCompiler(actor, catalog).compile(value)  # a rule: no reader rights
    except DomainError as exc:
        if exc.first is None:
            raise ValidationFailed.of("invalid", where, message=exc.message) from None
        raise ValidationFailed.of(exc.first.code, where, **exc.first.params) from None
    return value


def _clean_doc(actor: Actor, catalog: Catalog, gid: str, doc: Any) -> dict[str, Any]:
    prefix = f"groups.{gid}"
    if not isinstance(doc, dict):
        raise ValidationFailed.of("expected_object", prefix)
    unknown = set(doc) - RIGHT_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ValidationFailed.of("unknown_key", f"{prefix}.{key}")
    out: dict[str, Any] = {}
    for key in RULE_KEYS:
        out[key] = _clean_rule(actor, catalog, f"{prefix}.{key}", doc.get(key, False))
    for key in ("create", "manage"):
        if not isinstance(doc.get(key, False), bool):
            raise ValidationFailed.of("boolean", f"{prefix}.{key}")
        out[key] = doc.get(key, False)
    fields = doc.get("fields") or {}
    if not isinstance(fields, dict):
        raise ValidationFailed.of("expected_object", f"{prefix}.fields")
    out["fields"] = {}
    for name, rule in fields.items():
        field = catalog.by_api_name.get(name)
        where = f"{prefix}.fields.{name}"
        if field is None:
            raise ValidationFailed.of("unknown_field", where)
        if rule not in access.FIELD_RULES:
            raise ValidationFailed.of("one_of", where, allowed="hidden, read_only, masked")
        out["fields"][str(field.id)] = rule
    reveal = doc.get("reveal") or []
    if not isinstance(reveal, list) or any(n not in catalog.by_api_name for n in reveal):
        raise ValidationFailed.of("unknown_field", f"{prefix}.reveal")
    out["reveal"] = [str(catalog.by_api_name[n].id) for n in reveal]
    return out


#: Workspace setting that lets catalog managers change rights (off by default).
DELEGATE_SETTING = "managers_change_rights"


def may_change_rights(actor: Actor, catalog: Catalog) -> bool:
    """Administrators change rights; managers only when the workspace delegates it."""
    delegated = actor.workspace.meta().settings.get(DELEGATE_SETTING) is True
    return (actor.is_admin or delegated) and access.can_manage(actor, catalog)


def _strictness(rule: str | None) -> int:
    """0 for an open field, then read_only < masked < hidden (`access.FIELD_RULES`)."""
    return access.FIELD_RULES.index(rule) + 1 if rule in access.FIELD_RULES else 0


def _rule_within(actor: Actor, mine: list[Any], rule: Any) -> bool:
    """A record rule grants no more than the delegator has: none, all when they have all,
    or a copy of one of their own rules that does not depend on who reads it ("me",
    `$user.<key>`: the same text opens other records to other people)."""
    if rule is False or True in mine:
        return True
    return any(rule == m for m in mine if m) and not _user_relative(actor, rule)


def _user_relative(actor: Actor, rule: Any) -> bool:
    if isinstance(rule, dict) and set(rule) == {"$view"}:
        found = actor.workspace.meta().view_filters.get(rule["$view"])
        rule = found[1] if found else None
    text = orjson.dumps(rule).decode()
    return '"$user.' in text or '"me"' in text


def _doc_within(actor: Actor, catalog: Catalog, doc: dict[str, Any]) -> bool:
    """Whether a stored rights document grants nothing beyond the actor's own access."""
    own = access.grants(actor, catalog)
    for key in RULE_KEYS:
        if not _rule_within(actor, [g.get(key, False) for g in own], doc.get(key, False)):
            return False
    for key in ("create", "manage"):
        if doc.get(key) is True and not any(g.get(key) is True for g in own):
            return False
    if doc.get("view") in (None, False):
        return True  # field rules count only for groups that see the catalog
    mine = access.field_rules(actor, catalog)
    theirs = doc.get("fields") or {}
    for field in catalog.fields:
        rule = theirs.get(str(field.id))
        if _strictness(rule) < _strictness(mine.get(field.api_name)):
            return False
    for fid in doc.get("reveal") or []:
        revealed = catalog.by_id.get(int(fid))
        if revealed is None:
            continue
        masked = mine.get(revealed.api_name) == "masked"
        if masked and not access.may_reveal(actor, catalog, revealed):
            return False
    return True


def _check_delegated_change(
    actor: Actor, catalog: Catalog, old: dict[int, dict[str, Any]], new: dict[int, dict[str, Any]]
) -> None:
    """A delegated manager changes only groups that stay within their own access, before
    and after: never widening any group (their own included), never wiping a group that
    holds more than they do."""
    for gid in sorted(set(old) | set(new)):
        before, after = old.get(gid), new.get(gid)
        if before == after:
            continue
        for doc in (before, after):
            if doc is not None and not _doc_within(actor, catalog, doc):
                raise Forbidden(
                    errors=[problem("rights_beyond_own", f"groups.{gid}", group=gid)],
                    field=f"groups.{gid}",
                )


def put_rights(actor: Actor, catalog_ref: str | int, body: Any) -> dict[str, Any]:
    """Replace the rights document of a catalog (all groups at once).

    Administrators only, unless the workspace setting `managers_change_rights` delegates
    it to the catalog's managers, who then never grant beyond their own access.
    """
    catalog = get_catalog(actor, catalog_ref)
    if not may_change_rights(actor, catalog):
        raise Forbidden.of("rights_change_forbidden")
    if not isinstance(body, dict) or not isinstance(body.get("groups"), dict):
        raise ValidationFailed.of("required", "groups")
    g = schema.groups
    with read_connection(actor.workspace.engine) as conn:
        known = {r[0] for r in conn.execute(sa.select(g.c.id))}
    docs: dict[int, dict[str, Any]] = {}
    for gid, doc in body["groups"].items():
        if not str(gid).isdigit() or int(gid) not in known:
            raise ValidationFailed.of("group_missing", f"groups.{gid}")
        docs[int(gid)] = _clean_doc(actor, catalog, str(gid), doc)
    if not actor.is_admin:
        old = actor.workspace.meta().rights.get(catalog.id, {})
        _check_delegated_change(actor, catalog, dict(old), docs)
    t = schema.catalog_rights
    with actor.workspace.engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.catalog_id == catalog.id))
        if docs:
            conn.execute(
                sa.insert(t),
                [
                    {"catalog_id": catalog.id, "group_id": gid, "rights": doc}
                    for gid, doc in docs.items()
                ],
            )
        bump_meta(conn)
    invalidate(actor.workspace)
    log_event(
        actor.workspace,
        "rights_changed",
        actor=actor,
        catalog=catalog.api_name,
        groups=sorted(docs),
    )
    return get_rights(actor, catalog.id)
