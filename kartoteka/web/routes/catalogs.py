"""The home page (the catalogs the user may see) and the search across all of them."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from markupsafe import Markup
from starlette.routing import Route

from kartoteka.catalogs.service import list_catalogs
from kartoteka.search import service as search

from ..pages import Ctx, page, render


@page
def home_page(ctx: Ctx) -> Response:
    """The catalogs the user may see."""
    # System catalogs (webhooks) are managed on their Administration screens.
    shown = [c for c in list_catalogs(ctx.user) if c.system is None]
    return render(ctx, "layout/home.html", catalogs=shown)


@page
def search_page(ctx: Ctx) -> Response:
    """Full-text search over every catalog the user may see, grouped by catalog."""
    query = (ctx.request.query_params.get("q") or "").strip()
    found: dict[str, Any] = {"items": [], "counts": {}}
    if query:
        found = search.search_workspace(ctx.user, query, 10, None, None)
    groups: dict[str, dict[str, Any]] = {}
    for item in found["items"]:
        name = item["catalog"]["api_name"]
        group = groups.setdefault(name, {"catalog": item["catalog"], "items": []})
        # Snippets are escaped by the search service; only its <mark> tags are markup.
        group["items"].append({**item, "snippet": Markup(item.get("snippet") or "")})
    return render(
        ctx,
        "layout/search.html",
        q=query,
        groups=list(groups.values()),
        counts=found["counts"],
        count_cap=search.COUNT_CAP,  # a count this high means "at least": shown as "100+"
    )


routes = [
    Route("/", home_page, methods=["GET"]),
    Route("/search", search_page, methods=["GET"]),
]
