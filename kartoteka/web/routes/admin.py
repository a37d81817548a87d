"""Administrators' pages: the administration overview (`/admin`, the sections of
`admin_nav`). Notices, which every user has, are in `routes/notices.py`."""

from __future__ import annotations

from fastapi.responses import Response
from starlette.routing import Route

from ..pages import Ctx, page, render, require_admin


@page
def admin_page(ctx: Ctx) -> Response:
    """The administration overview: every section with what it is for."""
    require_admin(ctx)
    return render(ctx, "admin/index.html")


routes = [
    Route("/admin", admin_page, methods=["GET"]),
]
