"""Action webhooks while a record is edited: form values in, values to fill out."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from kartoteka.context import Actor
from kartoteka.webhooks import actions

from ..deps import actor, json_body
from ..responses import Router
from ..schemas import RecordId, body_doc

router = Router(tags=["webhooks"])

EDITING_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "values": {
            "type": "object",
            "description": "the form's current values, keyed by field api_name",
        }
    },
    "required": ["values"],
}


@router.post(
    "/catalogs/{catalog}/records/editing",
    summary="Ask action webhooks about a new record's form",
    openapi_extra=body_doc(EDITING_BODY),
)
def editing_new(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Ask the action webhooks watching the filled fields; nothing is saved."""
    return actions.editing(a, catalog, None, body)


@router.post(
    "/catalogs/{catalog}/records/{record_id}/editing",
    summary="Ask action webhooks about a record's form",
    openapi_extra=body_doc(EDITING_BODY),
)
def editing_record(
    catalog: str, record_id: RecordId, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Ask the action webhooks watching the changed fields; nothing is saved."""
    return actions.editing(a, catalog, record_id, body)
