"""The per-workspace OpenAPI document of the caller's catalogs."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from kartoteka.context import Actor

from ..catalog_openapi import catalogs_document
from ..deps import actor
from ..responses import Router

router = Router(tags=["catalogs"])


@router.get(
    "/openapi/catalogs.json",
    summary="OpenAPI document of your catalogs' records",
    description="Each catalog you may see as its own record schema (fields typed, select "
    "labels as enums, links as references) with its record paths; generate a typed "
    "client from it. Cached until the schema changes.",
)
def catalogs_openapi(request: Request, a: Actor = Depends(actor)) -> dict[str, Any]:
    """The document, with the server URL of the workspace it was asked on."""
    path = request.url.path
    server = path[: path.index("/openapi/catalogs.json")]
    return catalogs_document(a, server)
