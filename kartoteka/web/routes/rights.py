"""The rights designer: per catalog and group, record rules, field rules and shares; and
"see as", the catalog exactly as one user sees it.

Saving replaces the catalog's rights document through `kartoteka.rights` (the service
behind `PUT /api/v1/catalogs/{catalog}/rights`), so the designer validates as the API
does. "See as" does not re-implement rights: it reads through the records service with
that user as the actor, read-only, and writes a `see_as` line in the security log.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.access import service as access
from kartoteka.auth import service as auth
from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import get_catalog, list_catalogs
from kartoteka.context import Actor
from kartoteka.errors import DomainError, Forbidden, Unauthenticated
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields
from kartoteka.rights import service as rights
from kartoteka.rights import shares
from kartoteka.security.log import log_event
from kartoteka.users import directory
from kartoteka.users import service as users
from kartoteka.views import service as views

from .. import forms, widgets
from ..feedback import form_errors
from ..i18n import _
from ..pages import Ctx, page, redirect, render, require_admin
from .people import user_id_of

ACTIONS = ("view", "edit", "delete")
FLAGS = ("create", "manage")
SEE_AS_PAGE = 50


def _catalog(ctx: Ctx, ref: str) -> Catalog:
    catalog = get_catalog(ctx.user, ref)
    if catalog.system is not None:
        raise Forbidden.of("rights_system_catalog")
    return catalog


@page
def rights_index(ctx: Ctx) -> Response:
    """Catalogs, each with how many groups have rights on it."""
    require_admin(ctx)
    meta = ctx.ws.meta()
    items = [
        {"catalog": c, "groups": len(meta.rights.get(c.id, {}))}
        for c in list_catalogs(ctx.user)
        if c.system is None
    ]
    return render(ctx, "people/rights_index.html", items=items)


# ----- the designer ----------------------------------------------------------------------
def _mode(rule: Any) -> str:
    if rule is True:
        return "all"
    if isinstance(rule, dict) and set(rule) == {"$view"}:
        return "view"
    return "rule" if rule else "none"


def _group_forms(catalog: Catalog, docs: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """What each group's part of the form shows, from an API-shaped rights document."""
    out: dict[int, dict[str, Any]] = {}
    for gid, doc in docs.items():
        form: dict[str, Any] = {k: bool(doc.get(k)) for k in FLAGS}
        for action in ACTIONS:
            rule = doc.get(action, False)
            form[action] = {
                "mode": _mode(rule),
                "rule": orjson.dumps(rule).decode() if _mode(rule) == "rule" else "",
                "view": rule["$view"] if _mode(rule) == "view" else None,
            }
        form["fields"] = dict(doc.get("fields") or {})
        form["reveal"] = set(doc.get("reveal") or [])
        out[int(gid)] = form
    return out


def _designer(ctx: Ctx, catalog: Catalog, status: int = 200, **extra: Any) -> Response:
    current = rights.get_rights(ctx.user, catalog.id)["groups"]
    groups = users.list_groups(ctx.user)
    keys = directory.profile_keys(ctx.user)
    config = {
        "fields": widgets.catalog_fields(ctx.user, catalog),
        "hops": widgets.hop_fields(ctx.user, catalog),
        "operators": widgets.operator_labels(),
        "anyOf": True,
        "userValues": [{"value": f"$user.{k}", "label": f"$user.{k}"} for k in keys]
        + [{"value": "$user.email", "label": "$user.email"}],
    }
    data: dict[str, Any] = {
        "catalog": catalog,
        "groups": groups,
        "forms": _group_forms(catalog, current),
        "rights_views": [v for v in views.list_views(ctx.user, catalog.id) if v.get("filter")],
        "fields": [f for f in catalog.fields],
        "field_rules": ("read_only", "masked", "hidden"),
        "config": widgets.data_block(config),
        "errors": {},
        "general_error": None,
        "saved": ctx.request.query_params.get("saved") or "",
        "share_list": shares.list_catalog_shares(ctx.user, catalog.id),
        "all_users": directory.find_users(ctx.user, "", 0, directory.MAX_PAGE)["items"],
        "profile_keys": keys,
    }
    data.update(extra)
    data["error_groups"] = {
        int(key.split(".")[1])
        for key in data["errors"]
        if key.startswith("groups.") and key.split(".")[1].isdigit()
    }
    return render(ctx, "people/rights.html", status=status, **data)


@page
def designer_page(ctx: Ctx, catalog: str) -> Response:
    """The rights of every group on one catalog."""
    require_admin(ctx)
    return _designer(ctx, _catalog(ctx, catalog))


def _posted_rule(ctx: Ctx, prefix: str, errors: dict[str, str]) -> Any:
    """One record rule from its mode, JSON text and view inputs."""
    mode = ctx.field(f"{prefix}.mode")
    if mode == "all":
        return True
    if mode == "view":
        chosen = ctx.field(f"{prefix}.view")
        if not chosen.isdigit():
            errors[prefix] = _("Choose a saved view.")
            return False
        return {"$view": int(chosen)}
    if mode == "rule":
        text = ctx.field(f"{prefix}.rule").strip()
        try:
            rule = orjson.loads(text) if text else None
        except orjson.JSONDecodeError:
            errors[prefix] = _("The rule is not valid JSON.")
            return False
        if not isinstance(rule, dict) or not rule:
            errors[prefix] = _("Add at least one condition.")
            return False
        return rule
    return False


def _posted_doc(ctx: Ctx, catalog: Catalog, gid: int, errors: dict[str, str]) -> dict[str, Any]:
    prefix = f"groups.{gid}"
    doc: dict[str, Any] = {
        action: _posted_rule(ctx, f"{prefix}.{action}", errors) for action in ACTIONS
    }
    for flag in FLAGS:
        doc[flag] = ctx.field(f"{prefix}.{flag}") == "1"
    doc["fields"] = {
        f.api_name: ctx.field(f"{prefix}.fields.{f.api_name}")
        for f in catalog.fields
        if ctx.field(f"{prefix}.fields.{f.api_name}") in access.FIELD_RULES
    }
    doc["reveal"] = [
        name
        for name, rule in doc["fields"].items()
        if rule == "masked" and ctx.field(f"{prefix}.reveal.{name}") == "1"
    ]
    return doc


def _grants_nothing(doc: dict[str, Any]) -> bool:
    return not any(doc.get(k) for k in (*ACTIONS, *FLAGS))


@page
def designer_submit(ctx: Ctx, catalog: str) -> Response:
    """Save every group's rights on the catalog at once (nothing is saved on an error)."""
    require_admin(ctx)
    found = _catalog(ctx, catalog)
    errors: dict[str, str] = {}
    docs = {g["id"]: _posted_doc(ctx, found, g["id"], errors) for g in users.list_groups(ctx.user)}
    kept = {str(gid): doc for gid, doc in docs.items() if not _grants_nothing(doc)}
    posted_forms = _group_forms(found, {str(k): v for k, v in docs.items()})
    for gid in docs:  # keep the text of a rule the server could not read
        for action in ACTIONS:
            text = ctx.field(f"groups.{gid}.{action}.rule")
            if ctx.field(f"groups.{gid}.{action}.mode") == "rule":
                posted_forms[gid][action].update(mode="rule", rule=text)
    if errors:
        return _designer(ctx, found, 422, errors=errors, forms=posted_forms)
    try:
        rights.put_rights(ctx.user, found.id, {"groups": kept})
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _designer(ctx, found, 422, errors=errors, general_error=general, forms=posted_forms)
    return redirect(f"{ctx.base}/admin/rights/{found.api_name}?saved=rights")


# ----- shares ---------------------------------------------------------------------------
@page
def share_submit(ctx: Ctx, catalog: str) -> Response:
    """Share one record with one user (view, or view and edit)."""
    require_admin(ctx)
    found = _catalog(ctx, catalog)
    record, user = ctx.field("record"), ctx.field("user")
    body = {
        "user": int(user) if user.isdigit() and len(user) < 19 else user,
        "edit": ctx.field("edit") == "1",
    }
    errors: dict[str, str] = {}
    if not record.isdigit() or len(record) > 18:
        errors["share.record"] = _("Type the record's number (#).")
    else:
        try:
            shares.share_record(ctx.user, found.id, int(record), body)
        except DomainError as exc:
            got, general = form_errors(exc, ctx.lang)
            errors = {f"share.{k}": v for k, v in got.items()}
            if general:
                errors["share.record"] = general
    if errors:
        return _designer(ctx, found, 422, errors=errors, share_values=dict(ctx.form or {}))
    return redirect(f"{ctx.base}/admin/rights/{found.api_name}?saved=share#shares")


@page
def unshare_submit(ctx: Ctx, catalog: str) -> Response:
    """Take one share away."""
    require_admin(ctx)
    found = _catalog(ctx, catalog)
    record, user = ctx.field("record"), ctx.field("user")
    if record.isdigit() and user.isdigit() and len(record) < 19 and len(user) < 19:
        shares.unshare_record(ctx.user, found.id, int(record), int(user))
    return redirect(f"{ctx.base}/admin/rights/{found.api_name}?saved=unshare#shares")


# ----- see as ---------------------------------------------------------------------------
def _viewer(ctx: Ctx, user_id: int) -> Actor | None:
    """The user as an actor of the real read path (None when deactivated)."""
    try:
        return auth.actor_for_user(ctx.ws, user_id, via="see_as")
    except Unauthenticated:
        return None


@page
def see_as_page(ctx: Ctx, catalog: str) -> Response:
    """The catalog's records exactly as the chosen user reads them (read-only, audited)."""
    require_admin(ctx)
    found = _catalog(ctx, catalog)
    params = ctx.request.query_params
    chosen = params.get("user") or ""
    data: dict[str, Any] = {
        "catalog": found,
        "all_users": directory.find_users(ctx.user, "", 0, directory.MAX_PAGE)["items"],
        "chosen": None,
        "viewer": None,
    }
    if chosen:
        user_id = user_id_of(chosen)
        data["chosen"] = users.get_user(ctx.user, user_id)
        viewer = _viewer(ctx, user_id)
        data["viewer"] = viewer
        if viewer is not None:
            log_event(ctx.ws, "see_as", actor=ctx.user, target_user=user_id, catalog=found.api_name)
            data.update(_seen(ctx, found, viewer))
    return render(ctx, "people/see_as.html", **data)


def _seen(ctx: Ctx, catalog: Catalog, viewer: Actor) -> dict[str, Any]:
    """What `viewer` gets from the records service: fields, rows, count, their views."""
    params = ctx.request.query_params
    if not access.can_see_catalog(viewer, catalog) and not access.may_reach(viewer, catalog):
        return {"no_access": True}
    try:
        own_views = views.list_views(viewer, catalog.id)
    except DomainError:
        return {"no_access": True}
    view = params.get("view") or None
    search = (params.get("search") or "").strip() or None
    try:
        listed = records.list_records(
            viewer,
            catalog.id,
            None,
            None,
            SEE_AS_PAGE,
            params.get("cursor") or None,
            None,
            view,
            count=True,
            search=search,
        )
    except DomainError:
        return {"no_access": True}
    rules = access.field_rules(viewer, catalog)
    columns = visible_fields(viewer, catalog, None)
    shown = next((v.get("fields") for v in own_views if str(v["id"]) == view), None)
    if shown:  # a view with chosen fields lists only those, in its order
        order = {name: i for i, name in enumerate(shown)}
        columns = sorted(
            (f for f in columns if f.api_name in order), key=lambda f: order[f.api_name]
        )
    rows = [
        (r["id"], [forms.value_text(f, r["values"].get(f.api_name)) for f in columns])
        for r in listed["items"]
    ]
    return {
        "no_access": False,
        "columns": columns,
        "rules": rules,
        "hidden": [f for f in catalog.fields if f not in visible_fields(viewer, catalog, None)],
        "rows": rows,
        "total": listed.get("count"),
        "next_cursor": listed.get("next_cursor"),
        "own_views": own_views,
        "view": view,
        "search": search or "",
        "may_create": access.can_create(viewer, catalog),
    }


routes = [
    Route("/admin/rights", rights_index, methods=["GET"]),
    Route("/admin/rights/{catalog}", designer_page, methods=["GET"]),
    Route("/admin/rights/{catalog}", designer_submit, methods=["POST"]),
    Route("/admin/rights/{catalog}/shares", share_submit, methods=["POST"]),
    Route("/admin/rights/{catalog}/unshare", unshare_submit, methods=["POST"]),
    Route("/admin/rights/{catalog}/see-as", see_as_page, methods=["GET"]),
]
