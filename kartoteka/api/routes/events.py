"""The live feed: the actor's visible events as server-sent events."""

from __future__ import annotations

from fastapi import Depends, Header, Query, Request
from starlette.responses import StreamingResponse

from kartoteka.context import Actor
from kartoteka.errors import ValidationFailed
from kartoteka.webhooks import live

from ..deps import actor, credential_check
from ..responses import Router

router = Router(tags=["events"])


def _resume_point(after: str | None, last_event_id: str | None) -> int | None:
    """`Last-Event-ID` (a reconnecting browser) wins over `?after=`."""
    for key, value in (("Last-Event-ID", last_event_id), ("after", after)):
        if value is None or value == "":
            continue
        if not value.strip().isdigit() or len(value.strip()) > 18:
            raise ValidationFailed.of("event_sequence", key)
        return int(value)
    return None


@router.get(
    "/events/stream",
    summary="Live feed (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def events_stream(
    request: Request,
    a: Actor = Depends(actor),
    after: str | None = Query(None, description="resume after this sequence number"),
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
) -> StreamingResponse:
    """Committed events the actor may see, as they happen (`id:` is the sequence number)."""
    start = _resume_point(after, last_event_id)
    return StreamingResponse(
        live.stream(a, start, recheck=credential_check(request, a)),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
