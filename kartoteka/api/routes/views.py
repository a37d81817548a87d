"""Saved views."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Response

from kartoteka.context import Actor
from kartoteka.views import service

from ..deps import actor, json_body
from ..responses import Router
from ..schemas import VIEW_BODY, Id, body_doc

router = Router(tags=["views"])


@router.get("/catalogs/{catalog}/views", summary="List views")
def list_views(catalog: str, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Views of a catalog."""
    return {"items": service.list_views(a, catalog)}


@router.post(
    "/catalogs/{catalog}/views",
    status_code=201,
    summary="Create a view",
    openapi_extra=body_doc(VIEW_BODY),
)
def create_view(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Save a table, kanban, calendar, gantt or gallery view."""
    return service.create_view(a, catalog, body)


@router.get("/catalogs/{catalog}/views/{view_id}", summary="Get a view")
def get_view(catalog: str, view_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """One view (its filter and sort only where the reader may see them)."""
    return service.read_view(a, catalog, view_id)


@router.patch(
    "/catalogs/{catalog}/views/{view_id}",
    summary="Change a view",
    openapi_extra=body_doc(VIEW_BODY),
)
def update_view(
    catalog: str, view_id: Id, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Change a view."""
    return service.update_view(a, catalog, view_id, body)


@router.delete("/catalogs/{catalog}/views/{view_id}", status_code=204, summary="Delete a view")
def delete_view(catalog: str, view_id: Id, a: Actor = Depends(actor)) -> Response:
    """Delete a view."""
    service.delete_view(a, catalog, view_id)
    return Response(status_code=204)
