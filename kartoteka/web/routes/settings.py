"""Workspace settings for administrators: name, time zone, language, search and privacy
switches, request limits, e-mail (SMTP), the security log viewer, and notices.

Each form saves through the service the REST API uses (`workspaces.settings`,
`security.ratelimit`, `scenarios` SMTP), so the same input is refused with the same
message, shown next to its input in the reader's language.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka import edge
from kartoteka.errors import DomainError
from kartoteka.notices import service as notices
from kartoteka.scenarios import mail
from kartoteka.scenarios import service as scenarios
from kartoteka.security import log, ratelimit
from kartoteka.workspaces import settings as workspace_settings

from ..feedback import form_errors
from ..i18n import N_, _
from ..pages import Ctx, page, redirect, render, require_admin

LOG_PAGE = 50
#: Security-log events in the reader's language (the names are `security.log.EVENTS`).
EVENT_LABELS = {
    "login": N_("signed in"),
    "login_failed": N_("failed sign-in"),
    "lockout": N_("sign-in delayed after failures"),
    "logout_everywhere": N_("signed out everywhere"),
    "token_created": N_("API token created"),
    "token_revoked": N_("API token revoked"),
    "totp_enabled": N_("two-factor login on"),
    "totp_disabled": N_("two-factor login off"),
    "rights_changed": N_("rights changed"),
    "reveal": N_("masked value revealed"),
    "rate_limits_changed": N_("request limits changed"),
    "webhook_disabled": N_("webhook switched off"),
    "access_link_created": N_("invitation or reset link made"),
    "access_link_used": N_("password set through a link"),
    "see_as": N_("“see as” used"),
    "settings_changed": N_("settings changed"),
    "workspace_backup": N_("workspace backed up or restored"),
}


def _page(ctx: Ctx, status: int = 200, **extra: Any) -> Response:
    data: dict[str, Any] = {
        "values": workspace_settings.current(ctx.user),
        "limits": ratelimit.describe(ctx.ws),
        "limit_values": None,
        "smtp": scenarios.get_smtp(ctx.user),
        "smtp_values": None,
        "zones": workspace_settings.time_zones(),
        "unread": notices.unread_count(ctx.user),
        "errors": {},
        "general_error": None,
        "saved": ctx.request.query_params.get("saved") or "",
    }
    data.update(extra)
    return render(ctx, "settings/settings.html", status=status, **data)


@page
def settings_page(ctx: Ctx) -> Response:
    """The workspace's settings."""
    require_admin(ctx)
    return _page(ctx)


@page
def general_submit(ctx: Ctx) -> Response:
    """Name, time zone, language and the switches (all saved, or none)."""
    require_admin(ctx)
    patch: dict[str, Any] = {
        "title": ctx.field("title"),
        "timezone": ctx.field("timezone").strip(),
        "lang": ctx.field("lang"),
    }
    for key in workspace_settings.BOOLEANS:
        patch[key] = ctx.field(key) == "1"
    try:
        workspace_settings.change(ctx.user, patch, edge.client_address(ctx.request))
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        values = {**workspace_settings.current(ctx.user), **patch}
        return _page(ctx, 422, values=values, errors=errors, general_error=general)
    return redirect(f"{ctx.base}/settings?saved=general")


@page
def limits_submit(ctx: Ctx) -> Response:
    """Request limits per account and per address (empty: the server's default)."""
    require_admin(ctx)
    value = {k: ctx.field(k).strip() or None for k in ("per_account", "per_address")}
    stored = ctx.ws.meta().settings.get(ratelimit.SETTING) or {}
    # Per-account exceptions are set through the API; this form keeps them as they are.
    accounts = stored.get("accounts") if isinstance(stored, dict) else None
    value_with_accounts: dict[str, Any] = {**value, "accounts": accounts or {}}
    try:
        ratelimit.store_setting(ctx.user, value_with_accounts, edge.client_address(ctx.request))
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        errors = {f"limits.{k}": _("Write it like 100/30seconds or 1000/minute.") for k in errors}
        return _page(ctx, 422, errors=errors, general_error=general, limit_values=value)
    return redirect(f"{ctx.base}/settings?saved=limits#limits")


@page
def smtp_submit(ctx: Ctx) -> Response:
    """The SMTP server invitations and scenario e-mails are sent through."""
    require_admin(ctx)
    port = ctx.field("port").strip()
    body: dict[str, Any] = {
        "host": ctx.field("host").strip(),
        "port": int(port) if port.isdigit() and len(port) < 6 else port or 25,
        "security": ctx.field("security") or "none",
        "from": ctx.field("from").strip(),
    }
    if ctx.field("username").strip():
        body["username"] = ctx.field("username").strip()
    password = ctx.field("password")
    stored = mail.smtp_settings(ctx.ws) or {}
    if password:
        body["password"] = password
    elif stored.get("password") and body.get("username"):
        body["password"] = stored["password"]  # left blank: keep the stored one
    try:
        scenarios.set_smtp(ctx.user, body)
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        errors = {f"smtp.{k}": v for k, v in errors.items()}
        values = {**body, "password": ""}
        return _page(ctx, 422, errors=errors, general_error=general, smtp_values=values)
    return redirect(f"{ctx.base}/settings?saved=smtp#smtp")


# ----- the security log -------------------------------------------------------------------
def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _utc_start(day: date, ctx: Ctx) -> datetime:
    """The start of a day in the workspace's zone, as the naive UTC the log stores."""
    local = datetime.combine(day, time(0), tzinfo=ctx.user.timezone)
    return local.astimezone(UTC).replace(tzinfo=None)


@page
def security_log_page(ctx: Ctx) -> Response:
    """Security log entries newest first, filtered by event, user and dates; paged."""
    require_admin(ctx)
    params = ctx.request.query_params
    event = params.get("event") or ""
    user = (params.get("user") or "").strip()
    since_text, until_text = params.get("from") or "", params.get("to") or ""
    since, until = _day(since_text), _day(until_text)
    errors: dict[str, str] = {}
    if since_text and since is None:
        errors["from"] = _("Choose a date.")
    if until_text and until is None:
        errors["to"] = _("Choose a date.")
    if event and event not in log.EVENTS:
        errors["event"] = _("Choose an event from the list.")
    found: dict[str, Any] = {"items": [], "next_cursor": None}
    if not errors:
        found = log.query_log(
            ctx.user,
            event=event or None,
            user=user[:320] or None,
            limit=LOG_PAGE,
            cursor=params.get("cursor") or None,
            since=_utc_start(since, ctx) if since else None,
            until=_utc_start(until + timedelta(days=1), ctx) if until else None,
        )
    query = {"event": event, "user": user, "from": since_text, "to": until_text}
    kept = urlencode({k: v for k, v in query.items() if v})
    next_url = (
        f"{ctx.base}/settings/security-log?{kept}&cursor={found['next_cursor']}"
        if found["next_cursor"]
        else None
    )
    return render(
        ctx,
        "settings/security_log.html",
        status=422 if errors else 200,
        items=found["items"],
        events=[(e, _(EVENT_LABELS.get(e, e))) for e in log.EVENTS],
        labels={e: _(EVENT_LABELS.get(e, e)) for e in log.EVENTS},
        query=query,
        errors=errors,
        next_url=next_url,
    )


routes = [
    Route("/settings", settings_page, methods=["GET"]),
    Route("/settings", general_submit, methods=["POST"]),
    Route("/settings/limits", limits_submit, methods=["POST"]),
    Route("/settings/smtp", smtp_submit, methods=["POST"]),
    Route("/settings/security-log", security_log_page, methods=["GET"]),
]
