"""Integrations: webhooks (designer, delivery log, replay, test event) and the import wizard.

Every button is a plain form POST to a page here, which calls the webhooks service the
REST API calls; the designer's script (`frontend/webhooks.js`) only swaps the watched
fields and the filter builder when the catalog or kind changes. A signing secret is shown
once, on the page that answers the POST that made it (creation or rotation).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.access import service as access
from kartoteka.catalogs.service import get_catalog, list_catalogs
from kartoteka.errors import Forbidden, NotFound
from kartoteka.webhooks import probe
from kartoteka.webhooks import service as webhooks
from kartoteka.webhooks.disabling import disabled_reason_text
from kartoteka.webhooks.errors import WebhookInvalid
from kartoteka.webhooks.service import EVENTS, MAX_BATCH_SIZE, OPT_IN

from .. import import_wizard, webhook_forms, widgets
from ..pages import Ctx, page, redirect, render, require_admin

DELIVERY_PAGE = 30
NEW_HOOK: dict[str, Any] = {
    "id": None,
    "kind": "notify",
    "catalog": "",
    "url": "",
    "events": [e for e in EVENTS["notify"] if e not in OPT_IN],
    "fields": [],
    "filter": None,
    "active": True,
    "ordered": False,
    "on_timeout": "reject",
    "batch_size": 1,
}


def _id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound.of("webhook_not_found", None, id=text)
    return int(text)


def _hooks_url(ctx: Ctx, webhook_id: int | None = None, **query: Any) -> str:
    url = f"{ctx.base}/admin/webhooks" + (f"/{webhook_id}" if webhook_id else "")
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return url + ("?" + urlencode(query) if query else "")


def _common(ctx: Ctx) -> dict[str, Any]:
    meta = ctx.ws.meta()
    return {
        "catalog_names": {c.api_name: c.name for c in meta.catalogs},
        "kind_names": webhook_forms.KIND_NAMES,
        "event_labels": webhook_forms.EVENT_LABELS,
        "status_labels": webhook_forms.STATUS_LABELS,
    }


def _shown(ctx: Ctx, hook: dict[str, Any]) -> dict[str, Any]:
    """The webhook with why it was switched off in the reader's language (`disabled_text`)."""
    return {**hook, "disabled_text": disabled_reason_text(hook, ctx.lang)}


# ----- list and designer -----------------------------------------------------------------
@page
def webhooks_page(ctx: Ctx) -> Response:
    """Every webhook: where it sends, what it hears, whether it works."""
    items = [_shown(ctx, h) for h in webhooks.list_webhooks(ctx.user)]
    done = ctx.request.query_params.get("done") or ""
    return render(ctx, "webhooks/list.html", items=items, done=done, **_common(ctx))


def _designer(
    ctx: Ctx, hook: dict[str, Any], errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    catalogs = webhook_forms.catalog_choices(ctx.user)
    if not hook["catalog"] and catalogs:
        user_catalogs = [c for c in catalogs if c.system is None] or catalogs
        hook = {**hook, "catalog": user_catalogs[0].api_name}
    wanted = ctx.request.query_params.get("catalog")
    if wanted and any(c.api_name == wanted for c in catalogs):
        hook = {**hook, "catalog": wanted, "fields": [], "filter": None}
    config = webhook_forms.designer_config(ctx.user, catalogs)
    return render(
        ctx,
        "webhooks/form.html",
        status=status,
        hook=hook,
        errors=errors or {},
        catalogs=catalogs,
        kinds=webhook_forms.KINDS,
        all_events=EVENTS,
        max_batch=MAX_BATCH_SIZE,
        current_fields=config["catalogs"].get(hook["catalog"], {}).get("fields", []),
        config=widgets.data_block(config),
        **_common(ctx),
    )


@page
def new_webhook_page(ctx: Ctx) -> Response:
    """The designer for a new webhook (`?catalog=` preselects the catalog)."""
    require_admin(ctx)
    return _designer(ctx, dict(NEW_HOOK))


@page
def new_webhook_submit(ctx: Ctx) -> Response:
    """Create the webhook and show its secret, this once."""
    spec: dict[str, Any] = {}
    try:
        assert ctx.form is not None
        spec = webhook_forms.spec_from_form(ctx.form)
        created = webhooks.create_webhook(ctx.user, spec)
    except WebhookInvalid as exc:
        return _designer(ctx, {**NEW_HOOK, **spec}, webhook_forms.errors_of(exc), 422)
    return _secret_page(ctx, created, rotated=False)


@page
def edit_webhook_page(ctx: Ctx, webhook_id: str) -> Response:
    """The designer for an existing webhook."""
    return _designer(ctx, webhooks.get_webhook(ctx.user, _id(webhook_id)))


@page
def edit_webhook_submit(ctx: Ctx, webhook_id: str) -> Response:
    """Save the designer's changes (the secret stays)."""
    hook = webhooks.get_webhook(ctx.user, _id(webhook_id))
    spec: dict[str, Any] = {}
    try:
        assert ctx.form is not None
        spec = webhook_forms.spec_from_form(ctx.form)
        webhooks.update_webhook(ctx.user, hook["id"], spec)
    except WebhookInvalid as exc:
        return _designer(ctx, {**hook, **spec}, webhook_forms.errors_of(exc), 422)
    return redirect(_hooks_url(ctx, hook["id"], done="saved"))


def _secret_page(ctx: Ctx, hook: dict[str, Any], rotated: bool) -> Response:
    return render(ctx, "webhooks/secret.html", hook=hook, rotated=rotated, **_common(ctx))


# ----- one webhook: state, log, actions --------------------------------------------------
def _deliveries(ctx: Ctx, hook: dict[str, Any]) -> dict[str, Any]:
    params = ctx.request.query_params
    status = params.get("status") or None
    if status not in webhook_forms.STATUS_LABELS:
        status = None
    before_text = params.get("before") or ""
    before = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    if hook["kind"] != "notify":
        return {"deliveries": [], "shown": status, "older": None}
    found = webhooks.list_deliveries(
        ctx.user, hook["id"], DELIVERY_PAGE + 1, before, status, lang=ctx.lang
    )
    older = found[DELIVERY_PAGE - 1]["id"] if len(found) > DELIVERY_PAGE else None
    return {"deliveries": found[:DELIVERY_PAGE], "shown": status, "older": older}


def _detail(ctx: Ctx, webhook_id: int, status: int = 200, **extra: Any) -> Response:
    hook = _shown(ctx, webhooks.get_webhook(ctx.user, webhook_id))
    catalog = ctx.ws.meta().catalog(hook["catalog"])
    names = catalog.by_api_name if catalog is not None else {}
    data = {
        "hook": hook,
        "catalog_name": catalog.name if catalog is not None else hook["catalog"],
        "field_names": [names[f].name if f in names else f for f in hook["fields"]],
        "done": ctx.request.query_params.get("done") or "",
        "replay": None,
        "replay_errors": {},
        "replay_form": {},
        "test": None,
        **_deliveries(ctx, hook),
        **_common(ctx),
        **extra,
    }
    return render(ctx, "webhooks/detail.html", status=status, **data)


@page
def webhook_page(ctx: Ctx, webhook_id: str) -> Response:
    """A webhook: its settings, health, actions and delivery log (`?status=`, `?before=`)."""
    return _detail(ctx, _id(webhook_id))


@page
def webhook_active_submit(ctx: Ctx, webhook_id: str) -> Response:
    """Switch a webhook on (clearing why it was switched off) or off."""
    on = ctx.field("active") == "1"
    webhooks.update_webhook(ctx.user, _id(webhook_id), {"active": on})
    return redirect(_hooks_url(ctx, _id(webhook_id), done="enabled" if on else "disabled"))


@page
def webhook_rotate_submit(ctx: Ctx, webhook_id: str) -> Response:
    """Give the webhook a new secret and show it, this once."""
    return _secret_page(ctx, webhooks.rotate_secret(ctx.user, _id(webhook_id)), rotated=True)


@page
def webhook_test_submit(ctx: Ctx, webhook_id: str) -> Response:
    """Send a test event now and show the receiver's answer."""
    result = probe.send_test_event(ctx.user, _id(webhook_id))
    return _detail(ctx, _id(webhook_id), test=result)


@page
def webhook_delete_submit(ctx: Ctx, webhook_id: str) -> Response:
    """Delete the webhook with its delivery log."""
    webhooks.delete_webhook(ctx.user, _id(webhook_id))
    return redirect(_hooks_url(ctx, done="deleted"))


@page
def delivery_retry_submit(ctx: Ctx, webhook_id: str, delivery_id: str) -> Response:
    """Send one delivery again now (same webhook-id)."""
    webhooks.retry_delivery(ctx.user, _id(webhook_id), _id(delivery_id))
    return redirect(_hooks_url(ctx, _id(webhook_id), done="retried"))


def _sequence(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 19 else text


@page
def webhook_replay_submit(ctx: Ctx, webhook_id: str) -> Response:
    """Replay a range of event sequences; the page shows what was queued."""
    hook_id = _id(webhook_id)
    status = ctx.field("status") or None
    form = {
        "from_sequence": ctx.field("from_sequence"),
        "to_sequence": ctx.field("to_sequence"),
        "status": status or "",
        "missing": ctx.field("missing") == "on",
    }
    spec: dict[str, Any] = {
        "from_sequence": _sequence(ctx.field("from_sequence")),
        "to_sequence": _sequence(ctx.field("to_sequence")),
    }
    if status in ("failed", "done"):
        spec["status"] = status
        spec["missing"] = form["missing"]
    try:
        result = webhooks.replay_range(ctx.user, hook_id, spec)
    except WebhookInvalid as exc:
        errors = webhook_forms.errors_of(exc)
        return _detail(ctx, hook_id, 422, replay_errors=errors, replay_form=form)
    return _detail(ctx, hook_id, replay=result, replay_form=form)


# ----- imports ---------------------------------------------------------------------------
@page
def imports_page(ctx: Ctx) -> Response:
    """Where imports start: every catalog the administrator may fill from a file."""
    require_admin(ctx)
    shown = [c for c in list_catalogs(ctx.user) if c.system is None]
    return render(ctx, "imports/index.html", catalogs=shown)


@page
def import_wizard_page(ctx: Ctx, catalog: str) -> Response:
    """The import wizard for one catalog (its steps run in `frontend/imports.js`)."""
    found = get_catalog(ctx.user, catalog)
    if found.system is not None or not import_wizard.may_import(ctx.user, found):
        access.require_catalog(ctx.user, found)
        raise Forbidden.of("import_wizard_forbidden", None, catalog=found.api_name)
    config = import_wizard.config(ctx, found)
    return render(
        ctx,
        "imports/wizard.html",
        catalog=found,
        date_formats=import_wizard.DATE_FORMATS,
        encodings=import_wizard.ENCODINGS,
        delimiters=import_wizard.DELIMITERS,
        dup_rule_names=config["duplicate_rules"],
        duplicate_choices=import_wizard.DUPLICATE_CHOICES,
        keep_stamps=bool(config["stamps"]),
        config=widgets.data_block(config),
    )


routes = [
    Route("/admin/imports", imports_page, methods=["GET"]),
    Route("/c/{catalog}/import", import_wizard_page, methods=["GET"]),
    Route("/admin/webhooks", webhooks_page, methods=["GET"]),
    Route("/admin/webhooks/new", new_webhook_page, methods=["GET"]),
    Route("/admin/webhooks/new", new_webhook_submit, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}", webhook_page, methods=["GET"]),
    Route("/admin/webhooks/{webhook_id}/edit", edit_webhook_page, methods=["GET"]),
    Route("/admin/webhooks/{webhook_id}/edit", edit_webhook_submit, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}/active", webhook_active_submit, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}/rotate", webhook_rotate_submit, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}/test", webhook_test_submit, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}/delete", webhook_delete_submit, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}/replay", webhook_replay_submit, methods=["POST"]),
    Route(
        "/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
        delivery_retry_submit,
        methods=["POST"],
    ),
]
