"""Catalogs and fields."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Response

from kartoteka.access import service as access
from kartoteka.catalogs import service
from kartoteka.context import Actor

from ..deps import actor, json_body, object_body
from ..responses import Router
from ..schemas import CATALOG_BODY, FIELD_BODY, body_doc

router = Router(tags=["catalogs"])


@router.get("/catalogs", summary="List catalogs")
def list_catalogs(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Every catalog the actor may see, with fields."""
    return {"items": [service.catalog_json(a, c) for c in service.list_catalogs(a)]}


@router.post(
    "/catalogs", status_code=201, summary="Create a catalog", openapi_extra=body_doc(CATALOG_BODY)
)
def create_catalog(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """Create a catalog (a real table) with fields."""
    return service.create_catalog(a, object_body(body)).to_json()


@router.get("/catalogs/{catalog}", summary="Get a catalog")
def get_catalog(catalog: str, a: Actor = Depends(actor)) -> dict[str, Any]:
    """One catalog by id or api_name."""
    found = service.get_catalog(a, catalog)

    access.require_catalog(a, found)
    return service.catalog_json(a, found)


@router.patch(
    "/catalogs/{catalog}", summary="Change a catalog", openapi_extra=body_doc(CATALOG_BODY)
)
def update_catalog(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Rename, change api_name, title field or options."""
    return service.update_catalog(a, catalog, object_body(body)).to_json()


@router.delete("/catalogs/{catalog}", status_code=204, summary="Delete a catalog")
def delete_catalog(catalog: str, a: Actor = Depends(actor)) -> Response:
    """Drop the catalog with its records."""
    service.delete_catalog(a, catalog)
    return Response(status_code=204)


@router.post(
    "/catalogs/{catalog}/fields",
    status_code=201,
    summary="Add a field",
    openapi_extra=body_doc(FIELD_BODY),
)
def add_field(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Add a field (a column) to a catalog."""
    return service.add_field(a, catalog, object_body(body)).to_json()


@router.get("/catalogs/{catalog}/fields/{field}", summary="Get a field")
def get_field(catalog: str, field: str, a: Actor = Depends(actor)) -> dict[str, Any]:
    """One field by id or api_name (in a catalog the actor reaches; never a hidden one)."""
    return service.field_json(a, catalog, field)


@router.patch(
    "/catalogs/{catalog}/fields/{field}",
    summary="Change a field",
    openapi_extra=body_doc(FIELD_BODY),
)
def update_field(
    catalog: str,
    field: str,
    dry_run: bool = False,
    a: Actor = Depends(actor),
    body: Any = Depends(json_body),
) -> dict[str, Any]:
    """Rename, change options or type. A type change reports values it could not convert;
    `?dry_run=true` reports without changing anything."""
    updated, report = service.update_field(a, catalog, field, object_body(body), dry_run)
    out = updated.to_json()
    if report is not None:
        out["conversion"] = report
    return out


@router.delete("/catalogs/{catalog}/fields/{field}", status_code=204, summary="Delete a field")
def delete_field(catalog: str, field: str, a: Actor = Depends(actor)) -> Response:
    """Drop a field and its values."""
    service.delete_field(a, catalog, field)
    return Response(status_code=204)
