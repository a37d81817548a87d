"""The home page (catalogs the user may see) and a catalog's records."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs.models import Catalog, Field
from kartoteka.catalogs.service import get_catalog, list_catalogs
from kartoteka.context import Actor
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields

from ..pages import Ctx, page, render

PAGE_SIZE = 50
TABLE_COLUMNS = 8


@page
def home_page(ctx: Ctx) -> Response:
    """The catalogs the user may see."""
    return render(ctx, "layout/home.html", catalogs=list_catalogs(ctx.user))


def _columns(actor: Actor, catalog: Catalog) -> list[Field]:
    return visible_fields(actor, catalog, None)[:TABLE_COLUMNS]


def _rows_data(ctx: Ctx, catalog_ref: str) -> dict[str, Any]:
    catalog = get_catalog(ctx.user, catalog_ref)
    cursor = ctx.request.query_params.get("cursor") or None
    found = records.list_records(ctx.user, catalog.id, limit=PAGE_SIZE, cursor=cursor)
    return {
        "catalog": catalog,
        "columns": _columns(ctx.user, catalog),
        "items": found["items"],
        "next_cursor": found["next_cursor"],
    }


@page
def catalog_page(ctx: Ctx, catalog: str) -> Response:
    """A catalog's first records in a table; more are fetched by htmx with the cursor."""
    return render(ctx, "grid/catalog.html", **_rows_data(ctx, catalog))


@page
def rows_fragment(ctx: Ctx, catalog: str) -> Response:
    """The next page of table rows (an htmx fragment)."""
    return render(ctx, "grid/_rows.html", **_rows_data(ctx, catalog))


routes = [
    Route("/", home_page, methods=["GET"]),
    Route("/c/{catalog}", catalog_page, methods=["GET"]),
    Route("/c/{catalog}/rows", rows_fragment, methods=["GET"]),
]
