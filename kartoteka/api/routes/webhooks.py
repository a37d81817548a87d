"""Webhooks: CRUD, delivery log, replay of one delivery or a range (administrators only)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query, Request, Response

from kartoteka.context import Actor
from kartoteka.webhooks import probe, service
from kartoteka.webhooks.replay import MAX_RANGE as MAX_REPLAY

from ..deps import actor, json_body
from ..errors import request_lang
from ..responses import Router
from ..schemas import FILTER, MAX_RECORD_ID, Id, body_doc

router = Router(tags=["webhooks"])

WEBHOOK_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "description": "http(s) URL of the receiver"},
        "catalog": {"type": "string", "description": "catalog api_name or id"},
        "kind": {"type": "string", "enum": ["notify", "request", "action"]},
        "events": {"type": "array", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "items": {"type": "string"},
            "description": "fire only when one of these fields changed",
        },
        "filter": FILTER,
        "active": {"type": "boolean"},
        "on_timeout": {"type": "string", "enum": ["reject", "allow"]},
        "ordered": {"type": "boolean", "description": "deliver in sequence order"},
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "description": "notify: most events one message carries",
        },
    },
}


@router.get("/webhooks", summary="List webhooks")
def list_webhooks(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Every webhook of the workspace (secrets are not shown)."""
    return {"items": service.list_webhooks(a)}


@router.post(
    "/webhooks", status_code=201, summary="Create a webhook", openapi_extra=body_doc(WEBHOOK_BODY)
)
def create_webhook(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """Create a webhook; the answer shows its `whsec_` signing secret this one time."""
    return service.create_webhook(a, body)


@router.get("/webhooks/{webhook_id}", summary="Get a webhook")
def get_webhook(webhook_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """One webhook."""
    return service.get_webhook(a, webhook_id)


@router.patch(
    "/webhooks/{webhook_id}", summary="Change a webhook", openapi_extra=body_doc(WEBHOOK_BODY)
)
def update_webhook(
    webhook_id: Id, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Change some keys of a webhook; `"active": true` re-enables a disabled one."""
    return service.update_webhook(a, webhook_id, body)


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook")
def delete_webhook(webhook_id: Id, a: Actor = Depends(actor)) -> Response:
    """Delete a webhook and its delivery log."""
    service.delete_webhook(a, webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/rotate-secret", summary="Give a webhook a new signing secret")
def rotate_secret(webhook_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Replace the `whsec_` secret; the answer shows the new one this one time."""
    return service.rotate_secret(a, webhook_id)


TEST_RESULT = {
    "type": "object",
    "properties": {
        "webhook_id": {"type": "integer"},
        "ok": {"type": "boolean", "description": "the receiver answered 2xx"},
        "request_body": {"type": "string", "description": "the signed JSON that was sent"},
        "response_status": {"type": ["integer", "null"]},
        "response_body": {"type": "string", "description": "the first 2 KB of the answer"},
        "error": {"type": ["string", "null"], "description": "why nothing came back"},
        "duration_ms": {"type": "integer"},
    },
}


@router.post(
    "/webhooks/{webhook_id}/test",
    summary="Send a test event",
    responses={
        200: {
            "description": "The receiver's answer",
            "content": {"application/json": {"schema": TEST_RESULT}},
        }
    },
)
def send_test_event(webhook_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """POST a signed `webhook.test` message to the receiver now and return its answer."""
    return probe.send_test_event(a, webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", summary="List deliveries of a webhook")
def list_deliveries(
    webhook_id: Id,
    request: Request,
    a: Actor = Depends(actor),
    limit: int = Query(50),
    before: int | None = Query(
        None, ge=1, le=MAX_RECORD_ID, description="only deliveries with a smaller id"
    ),
    status: str | None = Query(None, description="pending, done or failed"),
) -> dict[str, Any]:
    """Newest deliveries first, each with its attempts (request, response, duration); why
    an attempt failed in the Accept-Language, beside the English protocol detail."""
    lang = request_lang(request)
    return {"items": service.list_deliveries(a, webhook_id, limit, before, status, lang=lang)}


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    summary="Replay a delivery",
)
def retry_delivery(
    webhook_id: Id, delivery_id: Id, request: Request, a: Actor = Depends(actor)
) -> dict[str, Any]:
    """Send one delivery again now, with the same webhook-id."""
    return service.retry_delivery(a, webhook_id, delivery_id, lang=request_lang(request))


REPLAY_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["from_sequence", "to_sequence"],
    "properties": {
        "from_sequence": {"type": "integer", "minimum": 1, "description": "first event, inclusive"},
        "to_sequence": {
            "type": "integer",
            "minimum": 1,
            "description": f"last event, inclusive; at most {MAX_REPLAY} sequences in all",
        },
        "status": {
            "type": "string",
            "enum": ["failed", "done"],
            "description": "queue again only deliveries in this state (omitted: both)",
        },
        "missing": {
            "type": "boolean",
            "description": "also create deliveries for events of the range the webhook never "
            "got (default: true without `status`, false with it)",
        },
    },
}
SEQUENCE_RANGE = {
    "type": "object",
    "properties": {
        "from_sequence": {"type": "integer"},
        "to_sequence": {"type": "integer"},
        "count": {"type": "integer", "description": "sequences there without a delivery"},
    },
}
REPLAY_RESULT = {
    "type": "object",
    "properties": {
        "webhook_id": {"type": "integer"},
        "from_sequence": {"type": "integer"},
        "to_sequence": {"type": "integer"},
        "status": {"type": "string", "description": "as asked; null for both"},
        "missing": {"type": "boolean"},
        "requeued": {"type": "integer", "description": "existing deliveries queued again"},
        "created": {"type": "integer", "description": "new deliveries for events never sent"},
        "pending": {"type": "integer", "description": "deliveries already queued, left alone"},
        "unchanged": {"type": "integer", "description": "deliveries not in the asked status"},
        "skipped": {
            "type": "integer",
            "description": "events the webhook does not want (catalog, events, fields, filter)",
        },
        "unavailable": {
            **SEQUENCE_RANGE,
            "description": "the part of the range pruned from the outbox that the webhook "
            "has no delivery for (null when none)",
        },
    },
}


@router.post(
    "/webhooks/{webhook_id}/replay",
    status_code=202,
    summary="Replay a range of events",
    openapi_extra=body_doc(REPLAY_BODY),
    responses={
        202: {
            "description": "What was queued",
            "content": {"application/json": {"schema": REPLAY_RESULT}},
        }
    },
)
def replay_range(
    webhook_id: Id, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Queue the deliveries of a sequence range again and create the ones never made."""
    return service.replay_range(a, webhook_id, body)
