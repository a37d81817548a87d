"""Security log, request limits and two-factor login."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query, Request, Response

from kartoteka.context import Actor
from kartoteka.edge import client_address
from kartoteka.errors import Forbidden
from kartoteka.security import log, ratelimit, totp

from ..deps import actor, json_body, object_body
from ..responses import Router
from ..schemas import Id, body_doc

router = Router(tags=["security"])

CODE_BODY = {
    "type": "object",
    "required": ["code"],
    "properties": {"code": {"type": "string", "description": "current 6-digit code"}},
}
LIMIT = {"type": "string", "description": 'e.g. "100/30seconds", "1000/minute"'}
RATE_LIMITS_BODY = {
    "type": "object",
    "properties": {
        "per_account": LIMIT,
        "per_address": LIMIT,
        "accounts": {"type": "object", "additionalProperties": LIMIT},
    },
}


@router.get("/security/log", summary="Security log")
def security_log(
    a: Actor = Depends(actor),
    event: str | None = Query(None, max_length=40),
    user: str | None = Query(None, max_length=320, description="user id or email"),
    limit: int = Query(log.DEFAULT_LIMIT, ge=1, le=log.MAX_LIMIT),
    cursor: str | None = Query(None, max_length=30),
) -> dict[str, Any]:
    """Logins, failures, lockouts, tokens, two-factor, rights changes, reveals; newest first."""
    return log.query_log(a, event=event, user=user, limit=limit, cursor=cursor)


@router.get("/security/rate-limits", summary="Request limits")
def get_rate_limits(a: Actor = Depends(actor)) -> dict[str, Any]:
    """The limits in force for this workspace."""
    _require_admin(a)
    return ratelimit.describe(a.workspace)


@router.put(
    "/security/rate-limits", summary="Set request limits", openapi_extra=body_doc(RATE_LIMITS_BODY)
)
def put_rate_limits(
    request: Request, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Replace the workspace's limits; omitted keys fall back to the server defaults."""
    return ratelimit.store_setting(a, body, client_address(request))


@router.post("/auth/totp/setup", summary="Start two-factor setup")
def totp_setup(a: Actor = Depends(actor)) -> dict[str, Any]:
    """A new TOTP secret and otpauth:// URI (show it as a QR code); not active until enabled."""
    return totp.setup(a)


@router.post(
    "/auth/totp/enable", summary="Turn two-factor login on", openapi_extra=body_doc(CODE_BODY)
)
def totp_enable(
    request: Request, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Confirm the authenticator with a current code; logins then need `totp`."""
    return totp.enable(a, object_body(body).get("code"), client_address(request))


@router.post(
    "/auth/totp/disable", summary="Turn two-factor login off", openapi_extra=body_doc(CODE_BODY)
)
def totp_disable(
    request: Request, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Turn two-factor login off; needs a current code."""
    return totp.disable(a, object_body(body).get("code"), client_address(request))


@router.delete(
    "/security/totp/{user_id}", status_code=204, summary="Reset a user's two-factor login"
)
def totp_reset(request: Request, user_id: Id, a: Actor = Depends(actor)) -> Response:
    """Administrators turn two-factor login off for a user who lost their authenticator."""
    totp.reset(a, user_id, client_address(request))
    return Response(status_code=204)


def _require_admin(a: Actor) -> None:
    if not a.is_admin:
        raise Forbidden.of("limits_admin_only")
