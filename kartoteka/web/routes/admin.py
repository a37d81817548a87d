"""Administrators' pages: the administration overview (`/admin`, the sections of
`admin_nav`) and notices (e.g. a webhook switched off after failing for days)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.notices import service as notices

from ..i18n import N_, _
from ..pages import Ctx, page, redirect, render, require_admin

#: Known notice kinds -> title and message in the UI's language (`%(name)s` from data).
NOTICE_TEXTS = {
    "webhook.disabled": (
        N_("Webhook %(webhook_id)s was switched off"),
        N_(
            "Deliveries to %(url)s kept failing for %(days)s days (last error: "
            "%(last_error)s). Fix the receiver, turn the webhook back on and replay what "
            "it missed."
        ),
    ),
}


def _notice_text(notice: dict[str, Any]) -> tuple[str, str]:
    """Title and message in the reader's language (known kinds), else as stored."""
    texts = NOTICE_TEXTS.get(notice["kind"])
    data = {k: v for k, v in (notice.get("data") or {}).items() if isinstance(k, str)}
    if texts is None:
        return notice["title"], notice["message"]
    try:
        return _(texts[0], **data), _(texts[1], **data)
    except (KeyError, TypeError, ValueError):
        return notice["title"], notice["message"]


@page
def admin_page(ctx: Ctx) -> Response:
    """The administration overview: every section with what it is for."""
    require_admin(ctx)
    return render(ctx, "admin/index.html")


@page
def notices_page(ctx: Ctx) -> Response:
    """Notices for administrators, newest first; `?unread=1` shows only the unread."""
    # The page stays the administrators' (users' own notices are in the API for now).
    notices.require_admin(ctx.user)
    unread_only = ctx.request.query_params.get("unread") == "1"
    found = notices.list_notices(ctx.user, unread=unread_only, limit=100)
    items = [{**n, "text": _notice_text(n)} for n in found["items"]]
    return render(ctx, "admin/notices.html", items=items, unread_only=unread_only)


@page
def notices_read_submit(ctx: Ctx) -> Response:
    """Mark one notice (form field `id`) or all of them read."""
    notices.require_admin(ctx.user)
    target = ctx.field("id")
    if target.isdigit() and len(target) < 19:
        notices.mark_read(ctx.user, int(target))
    else:
        notices.mark_all_read(ctx.user)
    return redirect(f"{ctx.base}/notices")


routes = [
    Route("/admin", admin_page, methods=["GET"]),
    Route("/notices", notices_page, methods=["GET"]),
    Route("/notices/read", notices_read_submit, methods=["POST"]),
]
