"""One search box across the workspace."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query

from kartoteka.context import Actor
from kartoteka.search import service

from ..deps import actor
from ..responses import Router

router = Router(tags=["search"])


@router.get("/search", summary="Search every catalog")
def search(
    q: str = Query(..., description='words, "phrases", prefix* (docs/search.md)'),
    limit: int = Query(service.DEFAULT_LIMIT, ge=1, le=service.MAX_LIMIT),
    catalog: str | None = Query(None, description="only this catalog (to page through it)"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    a: Actor = Depends(actor),
) -> dict[str, Any]:
    """Best matches per catalog the caller may see, with snippets and counts."""
    return service.search_workspace(a, q, limit, catalog, cursor)
