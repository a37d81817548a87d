"""Duplicate rules of a catalog, the duplicate scan and merging records."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Response

from kartoteka.context import Actor
from kartoteka.duplicates import merge as merging
from kartoteka.duplicates import rules, scan

from ..deps import actor, json_body
from ..responses import Router
from ..schemas import Id, body_doc

router = Router(tags=["duplicates"])

_PART = {
    "oneOf": [
        {"type": "string", "description": "a field's api_name (normalised by its type)"},
        {
            "type": "object",
            "properties": {
                "field": {"type": "string"},
                "normalise": {
                    "type": "string",
                    "enum": ["phone", "email", "name", "digits", "exact"],
                },
            },
            "required": ["field"],
        },
    ]
}
RULE_BODY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "fields": {"type": "array", "items": _PART, "minItems": 1, "maxItems": rules.MAX_FIELDS},
    },
}
SCAN_BODY = {
    "type": "object",
    "properties": {
        "rule": {"type": "integer", "description": "the rule (default: the catalog's only one)"},
        "limit": {"type": "integer", "minimum": 1, "maximum": scan.MAX_LIMIT},
        "cursor": {"type": "string", "description": "`next_cursor` of the previous page"},
    },
}
MERGE_BODY = {
    "type": "object",
    "properties": {
        "into": {"type": "integer", "description": "the record that stays"},
        "records": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 1,
            "maxItems": merging.MAX_MERGE,
            "description": "the records merged into it (deleted)",
        },
        "values": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "field api_name -> the record whose value the survivor keeps",
        },
    },
    "required": ["into", "records"],
}


@router.get("/catalogs/{catalog}/duplicate-rules", summary="List duplicate rules")
def list_rules(catalog: str, a: Actor = Depends(actor)) -> dict[str, Any]:
    """The catalog's duplicate rules."""
    return {"items": rules.list_rules(a, catalog)}


@router.post(
    "/catalogs/{catalog}/duplicate-rules",
    status_code=201,
    summary="Add a duplicate rule",
    openapi_extra=body_doc(RULE_BODY),
)
def create_rule(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Add a rule (catalog managers); the keys of existing records are computed at once."""
    return rules.create_rule(a, catalog, body)


@router.get("/catalogs/{catalog}/duplicate-rules/{rule_id}", summary="Get a duplicate rule")
def get_rule(catalog: str, rule_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """One rule."""
    return rules.get_rule(a, catalog, rule_id)


@router.patch(
    "/catalogs/{catalog}/duplicate-rules/{rule_id}",
    summary="Change a duplicate rule",
    openapi_extra=body_doc(RULE_BODY),
)
def update_rule(
    catalog: str, rule_id: Id, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Rename a rule or change its fields (catalog managers)."""
    return rules.update_rule(a, catalog, rule_id, body)


@router.delete(
    "/catalogs/{catalog}/duplicate-rules/{rule_id}",
    status_code=204,
    summary="Delete a duplicate rule",
)
def delete_rule(catalog: str, rule_id: Id, a: Actor = Depends(actor)) -> Response:
    """Remove a rule (catalog managers)."""
    rules.delete_rule(a, catalog, rule_id)
    return Response(status_code=204)


@router.post(
    "/catalogs/{catalog}/duplicates/scan",
    summary="Find duplicate groups",
    openapi_extra=body_doc(SCAN_BODY, required=False),
)
def scan_duplicates(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Groups of records you may see that share a rule's key, a page at a time."""
    return scan.scan(a, catalog, body)


@router.post(
    "/catalogs/{catalog}/duplicates/merge",
    summary="Merge records",
    openapi_extra=body_doc(MERGE_BODY),
)
def merge_records(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Merge records into one: chosen values, every link, comment, file and share move
    to it, the others are deleted; one `record.merged` event."""
    return merging.merge(a, catalog, body)
