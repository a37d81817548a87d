"""Notifications for every signed-in user: the "My notifications" page, the bell's panel
(a fragment the top bar's bell loads), and marking them read.

Each user sees only the notices addressed to them (scenario `notify` steps);
administrators also see the ones for administrators (a webhook switched off after
failing for days). The notices service decides that, never this module.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.notices import service as notices

from ..i18n import current_lang
from ..pages import Ctx, page, redirect, render

#: How many notices the bell's panel shows (the page shows more, with paging).
PANEL_SIZE = 8
PAGE_SIZE = 50


def notice_text(notice: dict[str, Any]) -> tuple[str, str]:
    """Title and message in the reader's language (Kartoteka's own kinds), else as posted."""
    return notices.worded(notice, current_lang.get())


def notice_link(ctx: Ctx, notice: dict[str, Any]) -> str | None:
    """The record a notice is about, as a card URL (None when it names none)."""
    data = notice.get("data") or {}
    catalog_id, record_id = data.get("catalog"), data.get("record_id")
    if not isinstance(catalog_id, int) or not isinstance(record_id, int):
        return None
    catalog = ctx.ws.meta().catalog(catalog_id)
    if catalog is None:
        return None
    return f"{ctx.base}/c/{quote(catalog.api_name, safe='')}/r/{record_id}"


def _shown(ctx: Ctx, found: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**n, "text": notice_text(n), "link": notice_link(ctx, n)} for n in found["items"]]


def _before(ctx: Ctx) -> int | None:
    text = ctx.request.query_params.get("before", "")
    return int(text) if text.isdigit() and 0 < len(text) < 19 else None


@page
def notices_page(ctx: Ctx) -> Response:
    """My notifications, newest first; `?unread=1` only the unread, `?before=` older ones."""
    unread_only = ctx.request.query_params.get("unread") == "1"
    found = notices.list_notices(ctx.user, unread=unread_only, limit=PAGE_SIZE, before=_before(ctx))
    return render(
        ctx,
        "notices/list.html",
        items=_shown(ctx, found),
        unread_only=unread_only,
        next_before=found["next_before"],
    )


@page
def notices_panel(ctx: Ctx) -> Response:
    """The bell's panel: the latest notices (a fragment, loaded when the bell opens)."""
    found = notices.list_notices(ctx.user, limit=PANEL_SIZE)
    return render(ctx, "notices/_panel.html", items=_shown(ctx, found), unread=found["unread"])


def _back(ctx: Ctx) -> str:
    """Where to go after marking: the page the form came from when it is ours."""
    target = ctx.field("next")
    if target.startswith(f"{ctx.base}/notices") and "//" not in target and "\\" not in target:
        return target
    return f"{ctx.base}/notices"


@page
def notices_read_submit(ctx: Ctx) -> Response:
    """Mark one notice (form field `id`) or all of them read."""
    target = ctx.field("id")
    if target.isdigit() and len(target) < 19:
        notices.mark_read(ctx.user, int(target))
    else:
        notices.mark_all_read(ctx.user)
    return redirect(_back(ctx))


routes = [
    Route("/notices", notices_page, methods=["GET"]),
    Route("/notices/panel", notices_panel, methods=["GET"]),
    Route("/notices/read", notices_read_submit, methods=["POST"]),
]
