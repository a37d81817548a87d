"""Catalog rights, record sharing, revealing masked values, link pickers."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query, Response

from kartoteka.context import Actor
from kartoteka.records import pickers
from kartoteka.records import reveal as revealing
from kartoteka.rights import service as rights
from kartoteka.rights import shares

from ..deps import actor, json_body
from ..responses import Router
from ..schemas import Id, RecordId, body_doc

router = Router(tags=["rights"])

RULE = {"description": 'true, false, a filter (may use "me" and "$user.<key>") or {"$view": id}'}
RIGHTS_BODY = {
    "type": "object",
    "required": ["groups"],
    "properties": {
        "groups": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "view": RULE,
                    "create": {"type": "boolean"},
                    "edit": RULE,
                    "delete": RULE,
                    "manage": {"type": "boolean"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "string",
                            "enum": ["hidden", "read_only", "masked"],
                        },
                    },
                    "reveal": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}
SHARE_BODY = {
    "type": "object",
    "required": ["user"],
    "properties": {"user": {"type": "integer"}, "edit": {"type": "boolean"}},
}


@router.get("/catalogs/{catalog}/rights", summary="Rights of every group on a catalog")
def get_rights(catalog: str, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Catalog, record and field rules per group."""
    return rights.get_rights(a, catalog)


@router.put(
    "/catalogs/{catalog}/rights",
    summary="Replace a catalog's rights",
    openapi_extra=body_doc(RIGHTS_BODY),
)
def put_rights(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Replace the rights of all groups on the catalog."""
    return rights.put_rights(a, catalog, body)


@router.get(
    "/catalogs/{catalog}/records/{record_id}/shares", summary="Users a record is shared with"
)
def list_shares(catalog: str, record_id: RecordId, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Record-level sharing."""
    return {"items": shares.list_shares(a, catalog, record_id)}


@router.post(
    "/catalogs/{catalog}/records/{record_id}/shares",
    status_code=201,
    summary="Share a record with a user",
    openapi_extra=body_doc(SHARE_BODY),
)
def share(
    catalog: str, record_id: RecordId, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Give one user access (view, or edit) to one record."""
    return {"items": shares.share_record(a, catalog, record_id, body)}


@router.delete(
    "/catalogs/{catalog}/records/{record_id}/shares/{user_id}",
    status_code=204,
    summary="Stop sharing a record with a user",
)
def unshare(catalog: str, record_id: RecordId, user_id: Id, a: Actor = Depends(actor)) -> Response:
    """Remove a share."""
    shares.unshare_record(a, catalog, record_id, user_id)
    return Response(status_code=204)


@router.post(
    "/catalogs/{catalog}/records/{record_id}/reveal/{field}",
    summary="Reveal a masked value (audited)",
)
def reveal(
    catalog: str, record_id: RecordId, field: str, a: Actor = Depends(actor)
) -> dict[str, Any]:
    """The real value of a masked field, for groups allowed to reveal it."""
    return revealing.reveal(a, catalog, record_id, field)


@router.get(
    "/catalogs/{catalog}/fields/{field}/choices", summary="Records a link field may point at"
)
def choices(
    catalog: str,
    field: str,
    search: str | None = Query(None, max_length=200),
    limit: int = Query(20, ge=1, le=200),
    a: Actor = Depends(actor),
) -> dict[str, Any]:
    """Link picker: only records the actor may see (and, with `view`, only that view's)."""
    return {"items": pickers.link_choices(a, catalog, field, search, limit)}
