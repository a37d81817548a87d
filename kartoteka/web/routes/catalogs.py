"""The home page: the catalogs the user may see."""

from __future__ import annotations

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs.service import list_catalogs

from ..pages import Ctx, page, render


@page
def home_page(ctx: Ctx) -> Response:
    """The catalogs the user may see."""
    return render(ctx, "layout/home.html", catalogs=list_catalogs(ctx.user))


routes = [Route("/", home_page, methods=["GET"])]
