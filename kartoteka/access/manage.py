"""Managing rights: reading and replacing a catalog's rights document, record sharing,
revealing masked values and link pickers."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import bump_meta, get_catalog, get_field, invalidate
from kartoteka.context import Actor
from kartoteka.errors import DomainError, Forbidden, NotFound, ValidationFailed
from kartoteka.filters.compiler import FilterCompiler
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection, utcnow
from kartoteka.storage.fulltext import fold_sql, fold_text, like_escape

from . import service as access
from .visibility import FieldView

RIGHT_KEYS = {"view", "create", "edit", "delete", "manage", "fields", "reveal"}
RULE_KEYS = ("view", "edit", "delete")


def _security_log(actor: Actor, event: str, **detail: Any) -> None:
    """Write to the security log when that package is present."""
    try:
        from kartoteka.security.log import log_event
    except ModuleNotFoundError:
        return
    log_event(actor.workspace, event, actor=actor, **detail)


def get_rights(actor: Actor, catalog_ref: str | int) -> dict[str, Any]:
    """The rights of every group on a catalog, with field rules keyed by api_name."""
    catalog = get_catalog(actor, catalog_ref)
    if not access.can_manage(actor, catalog):
        raise Forbidden("only administrators and catalog managers see rights")
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
            raise ValidationFailed(f"{where}: no such view", fields={where: "no such view"})
        return value
    if not isinstance(value, dict) or not value:
        raise ValidationFailed(
            f'{where}: true, false, a filter or {{"$view": id}}', fields={where: "bad rule"}
        )
    try:
        FilterCompiler(actor, catalog).compile(value)  # a rule: no reader rights
    except DomainError as exc:
        raise ValidationFailed(f"{where}: {exc.message}", fields={where: exc.message}) from None
    return value


def _clean_doc(actor: Actor, catalog: Catalog, gid: str, doc: Any) -> dict[str, Any]:
    prefix = f"groups.{gid}"
    if not isinstance(doc, dict):
        raise ValidationFailed(f"{prefix} must be an object", fields={prefix: "must be an object"})
    unknown = set(doc) - RIGHT_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ValidationFailed(
            f"{prefix}.{key}: unknown key", fields={f"{prefix}.{key}": "unknown"}
        )
    out: dict[str, Any] = {}
    for key in RULE_KEYS:
        out[key] = _clean_rule(actor, catalog, f"{prefix}.{key}", doc.get(key, False))
    for key in ("create", "manage"):
        if not isinstance(doc.get(key, False), bool):
            raise ValidationFailed(
                f"{prefix}.{key} must be a boolean", fields={f"{prefix}.{key}": "boolean"}
            )
        out[key] = doc.get(key, False)
    fields = doc.get("fields") or {}
    if not isinstance(fields, dict):
        raise ValidationFailed(
            f"{prefix}.fields must be an object", fields={f"{prefix}.fields": "object"}
        )
    out["fields"] = {}
    for name, rule in fields.items():
        field = catalog.by_api_name.get(name)
        where = f"{prefix}.fields.{name}"
        if field is None:
            raise ValidationFailed(f"{where}: unknown field", fields={where: "unknown field"})
        if rule not in access.FIELD_RULES:
            raise ValidationFailed(
                f"{where}: hidden, read_only or masked",
                fields={where: "hidden, read_only or masked"},
            )
        out["fields"][str(field.id)] = rule
    reveal = doc.get("reveal") or []
    if not isinstance(reveal, list) or any(n not in catalog.by_api_name for n in reveal):
        raise ValidationFailed(
            f"{prefix}.reveal must list field api_names",
            fields={f"{prefix}.reveal": "unknown field"},
        )
    out["reveal"] = [str(catalog.by_api_name[n].id) for n in reveal]
    return out


#: Workspace setting that lets catalog managers change rights (off by default).
DELEGATE_SETTING = "managers_change_rights"
FIELD_RULE_ORDER = {None: 0, "read_only": 1, "masked": 2, "hidden": 3}


def may_change_rights(actor: Actor, catalog: Catalog) -> bool:
    """Administrators change rights; managers only when the workspace delegates it."""
    if actor.is_admin:
        return access.can_manage(actor, catalog)
    delegated = actor.workspace.meta().settings.get(DELEGATE_SETTING) is True
    return delegated and access.can_manage(actor, catalog)


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
        if FIELD_RULE_ORDER[rule] < FIELD_RULE_ORDER[mine.get(field.api_name)]:
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
                    f"group {gid}: you may only grant or take away rights you hold yourself",
                    field=f"groups.{gid}",
                )


def put_rights(actor: Actor, catalog_ref: str | int, body: Any) -> dict[str, Any]:
    """Replace the rights document of a catalog (all groups at once).

    Administrators only, unless the workspace setting `managers_change_rights` delegates
    it to the catalog's managers, who then never grant beyond their own access.
    """
    catalog = get_catalog(actor, catalog_ref)
    if not may_change_rights(actor, catalog):
        raise Forbidden("only administrators change rights")
    if not isinstance(body, dict) or not isinstance(body.get("groups"), dict):
        raise ValidationFailed('the body must be {"groups": {...}}', fields={"groups": "required"})
    g = schema.groups
    with read_connection(actor.workspace.engine) as conn:
        known = {r[0] for r in conn.execute(sa.select(g.c.id))}
    docs: dict[int, dict[str, Any]] = {}
    for gid, doc in body["groups"].items():
        if not str(gid).isdigit() or int(gid) not in known:
            raise ValidationFailed(
                f"groups.{gid}: no such group", fields={f"groups.{gid}": "no such group"}
            )
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
    _security_log(actor, "rights_changed", catalog=catalog.api_name, groups=sorted(docs))
    return get_rights(actor, catalog.id)


# ----- sharing ---------------------------------------------------------------------------
def list_shares(actor: Actor, catalog_ref: str | int, record_id: int) -> list[dict[str, Any]]:
    """Users a record is shared with."""
    catalog = _manageable(actor, catalog_ref)
    s, u = schema.record_shares, schema.users
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(
            sa.select(s.c.user_id, s.c.can_edit, u.c.name)
            .join(u, u.c.id == s.c.user_id)
            .where(s.c.catalog_id == catalog.id, s.c.record_id == record_id)
            .order_by(s.c.user_id)
        )
        return [{"user": {"id": r.user_id, "name": r.name}, "edit": r.can_edit} for r in rows]


def _manageable(actor: Actor, catalog_ref: str | int) -> Catalog:
    catalog = get_catalog(actor, catalog_ref)
    if not access.can_manage(actor, catalog):
        raise Forbidden("only administrators and catalog managers share records")
    return catalog


def share_record(
    actor: Actor, catalog_ref: str | int, record_id: int, body: Any
) -> list[dict[str, Any]]:
    """Give one user access to one record (`{"user": id, "edit": bool}`)."""
    from kartoteka.records.service import require_visible

    catalog = _manageable(actor, catalog_ref)
    require_visible(actor, catalog, record_id)
    if not isinstance(body, dict):
        raise ValidationFailed("expected an object", fields={"body": "object"})
    user_id, edit = body.get("user"), body.get("edit", False)
    if not isinstance(edit, bool):
        raise ValidationFailed("edit must be a boolean", fields={"edit": "boolean"})
    u, s = schema.users, schema.record_shares
    with actor.workspace.engine.begin() as conn:
        if (
            isinstance(user_id, bool)
            or not isinstance(user_id, int)
            or conn.execute(sa.select(u.c.id).where(u.c.id == user_id)).first() is None
        ):
            raise ValidationFailed("user: no such user", fields={"user": "no such user"})
        conn.execute(
            sa.delete(s).where(
                s.c.catalog_id == catalog.id, s.c.record_id == record_id, s.c.user_id == user_id
            )
        )
        conn.execute(
            sa.insert(s).values(
                catalog_id=catalog.id,
                record_id=record_id,
                user_id=user_id,
                can_edit=edit,
                created_by=actor.user_id,
                created_at=utcnow(),
            )
        )
    _security_log(
        actor,
        "rights_changed",
        catalog=catalog.api_name,
        action="share",
        record_id=record_id,
        shared_with=user_id,
        edit=edit,
    )
    return list_shares(actor, catalog.id, record_id)


def unshare_record(actor: Actor, catalog_ref: str | int, record_id: int, user_id: int) -> None:
    """Take a user's share of a record away."""
    catalog = _manageable(actor, catalog_ref)
    s = schema.record_shares
    with actor.workspace.engine.begin() as conn:
        done = conn.execute(
            sa.delete(s).where(
                s.c.catalog_id == catalog.id, s.c.record_id == record_id, s.c.user_id == user_id
            )
        )
    if not done.rowcount:
        raise NotFound("no such share")
    _security_log(
        actor,
        "rights_changed",
        catalog=catalog.api_name,
        action="unshare",
        record_id=record_id,
        shared_with=user_id,
    )


# ----- reveal and pickers ----------------------------------------------------------------
def reveal(actor: Actor, catalog_ref: str | int, record_id: int, field_ref: str) -> dict[str, Any]:
    """The unmasked value of a masked field, for groups allowed to reveal (audited)."""
    from kartoteka.records import service as records

    catalog, field = get_field(actor, catalog_ref, field_ref)
    rule = access.field_rules(actor, catalog).get(field.api_name)
    if rule == "hidden":
        raise NotFound(f"field {field_ref!r} not found")
    if rule == "masked" and not access.may_reveal(actor, catalog, field):
        raise Forbidden(f"you may not reveal field {field.api_name!r}")
    records.require_visible(actor, catalog, record_id)
    system = Actor.system(actor.workspace)
    value = records.get_record(system, catalog.id, record_id, [field.api_name])["values"][
        field.api_name
    ]
    _security_log(
        actor, "reveal", catalog=catalog.api_name, record_id=record_id, field=field.api_name
    )
    return {"field": field.api_name, "value": value}


def link_choices(
    actor: Actor, catalog_ref: str | int, field_ref: str, search: str | None, limit: int = 20
) -> list[dict[str, Any]]:
    """Records a link field may point at, as the actor may see them (never more)."""
    from kartoteka.records.query import compile_filter
    from kartoteka.records.read import titles

    catalog, field = get_field(actor, catalog_ref, field_ref)
    access.require_catalog(actor, catalog)
    if access.field_rules(actor, catalog).get(field.api_name) == "hidden":
        raise NotFound(f"field {field_ref!r} not found")
    if field.type != "link":
        raise ValidationFailed(
            f"{field.api_name} is not a link field", fields={"field": "not a link"}
        )
    target = actor.workspace.meta().catalog(field.options.get("catalog") or 0)
    if target is None:
        raise NotFound("the linked catalog no longer exists")
    table = target.table
    q = sa.select(table.c.id)
    rights = access.record_filter(actor, target, "view")
    if rights is not None:
        q = q.where(rights)
    view_id = field.options.get("view")
    if view_id:
        found = actor.workspace.meta().view_filters.get(view_id)
        clause = (
            compile_filter(Actor.system(actor.workspace), target, found[1]) if found else sa.false()
        )
        if clause is not None:
            q = q.where(clause)
    title = target.title_field
    # Searching a hidden or masked title would be an oracle for its value: such titles
    # are searched by record id only.
    searchable = FieldView.of(actor, target).title_searchable()
    if search and searchable and title is not None and title.storage_column:
        # The same folding as the `icontains` filter: Unicode case and ё/е on every database.
        pattern = "%" + like_escape(fold_text(search, actor.fold_yo)) + "%"
        column = fold_sql(table.c[title.storage_column], actor.fold_yo)
        q = q.where(column.like(pattern, escape="\\"))
    elif search and search.isdigit():
        q = q.where(table.c.id == int(search))
    elif search:
        q = q.where(sa.false())
    q = q.order_by(table.c.id).limit(max(1, min(limit, 200)))
    with read_connection(actor.workspace.engine) as conn:
        ids = [r[0] for r in conn.execute(q)]
        names = titles(conn, actor, target, set(ids))
    return [{"id": i, "title": names.get(i, f"#{i}")} for i in ids]
