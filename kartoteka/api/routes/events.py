"""The live feed: the actor's visible events as server-sent events."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from fastapi import Depends, Header, Query, Request
from starlette.responses import StreamingResponse

from kartoteka.auth import service as auth
from kartoteka.context import Actor
from kartoteka.edge import SESSION_COOKIE, client_address
from kartoteka.errors import Unauthenticated, ValidationFailed
from kartoteka.webhooks import live

from ..deps import actor
from ..responses import Router

router = Router(tags=["events"])


def _resume_point(after: str | None, last_event_id: str | None) -> int | None:
    """`Last-Event-ID` (a reconnecting browser) wins over `?after=`."""
    for key, value in (("Last-Event-ID", last_event_id), ("after", after)):
        if value is None or value == "":
            continue
        if not value.strip().isdigit() or len(value.strip()) > 18:
            raise ValidationFailed(
                f"{key} must be an event sequence number",
                fields={key: "a non-negative integer below 10**18"},
            )
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


def credential_check(request: Request, first: Actor) -> Callable[[], Actor]:
    """Verify the stream's credential again (no request limit: it is the same request).

    Bearer tokens and sessions are looked up again (a cache hit costs nothing; a
    revocation, deactivation, password change or group change evicts the cache);
    Basic credentials are checked again the same way.
    """
    ws = first.workspace
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    address = client_address(request)

    def check() -> Actor:
        if scheme == "bearer" and value:
            return auth.actor_from_token(ws, value)
        if scheme == "basic" and value:
            email, _, password = _decode_basic(value)
            return auth.actor_from_basic(ws, email, password, address)
        if cookie:
            return auth.actor_from_session(ws, cookie)[0]
        raise Unauthenticated("authentication required")

    return check


def _decode_basic(value: str) -> tuple[str, str, str]:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("malformed Basic credentials") from None
