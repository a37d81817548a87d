"""Notices to administrators (a webhook was disabled, ...)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query, Request

from kartoteka.context import Actor
from kartoteka.notices import service

from ..deps import actor
from ..errors import request_lang
from ..responses import Router
from ..schemas import Id

router = Router(tags=["notices"])

NOTICE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "level": {"type": "string", "enum": list(service.LEVELS)},
        "kind": {"type": "string", "description": "e.g. webhook.disabled"},
        "title": {
            "type": "string",
            "description": "in the Accept-Language for Kartoteka's own kinds "
            "(webhook.disabled); a scenario's notice as its step wrote it",
        },
        "message": {"type": "string", "description": "in the language of `title`"},
        "data": {"type": "object", "description": "details; for webhook.disabled: webhook_id"},
        "read_at": {"type": "string", "format": "date-time", "description": "null: unread"},
        "read_by": {"type": "integer", "description": "user id of the reader"},
    },
}
NOTICE_PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": NOTICE},
        "unread": {"type": "integer", "description": "unread notices in all"},
        "next_before": {
            "type": "integer",
            "description": "pass as `before` for the next page; null on the last page",
        },
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {"application/json": {"schema": schema}}}}


@router.get("/notices", summary="List notices", responses=_json(NOTICE_PAGE, "A page of notices"))
def list_notices(
    request: Request,
    a: Actor = Depends(actor),
    unread: bool = Query(False, description="only notices nobody has marked read"),
    limit: int = Query(service.DEFAULT_LIMIT, ge=1, le=service.MAX_LIMIT),
    before: int | None = Query(None, ge=1, description="only notices with a smaller id"),
) -> dict[str, Any]:
    """Notices for administrators, newest first, with the number of unread ones."""
    return service.in_language(
        service.list_notices(a, unread, limit, before), request_lang(request)
    )


@router.post(
    "/notices/{notice_id}/read",
    summary="Mark a notice read",
    responses=_json(NOTICE, "The notice"),
)
def mark_read(notice_id: Id, request: Request, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Mark one notice read; it stays listed (without `unread=true`)."""
    return service.in_language(service.mark_read(a, notice_id), request_lang(request))


@router.post("/notices/read", summary="Mark every notice read")
def mark_all_read(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Mark every unread notice read; answers `{"marked": n}`."""
    return service.mark_all_read(a)
