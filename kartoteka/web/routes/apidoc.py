"""The browsable API page of a catalog (`/c/{catalog}/api`), reached from its header."""

from __future__ import annotations

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs.service import get_catalog

from .. import apidoc
from ..pages import Ctx, catalog_url, page, render


@page
def api_page(ctx: Ctx, catalog: str) -> Response:
    """Fields, an example record and copy-paste calls for this catalog, as the user sees it."""
    found = get_catalog(ctx.user, catalog)
    origin = str(ctx.request.base_url).rstrip("/") + ctx.base + "/api/v1"
    rows = apidoc.field_rows(ctx.user, found)
    return render(
        ctx,
        "apidoc/catalog.html",
        catalog=found,
        cat_url=catalog_url(ctx, found.api_name),
        origin=origin,
        rows=rows,
        record=apidoc.dumps(apidoc.example_record(found, rows)),
        operations=apidoc.operations(found, rows, origin),
        type_label=lambda f: f.ftype.labels.get(ctx.lang) or f.type,
    )


routes = [Route("/c/{catalog}/api", api_page, methods=["GET"])]
