"""Login, logout and API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Response

from kartoteka.auth import service as auth
from kartoteka.auth import tokens
from kartoteka.context import Actor
from kartoteka.edge import (
    SESSION_COOKIE,
    clear_session_cookies,
    client_address,
    cookie,
    set_session_cookies,
    workspace,
)
from kartoteka.errors import Forbidden, ValidationFailed, problem
from kartoteka.fields.datetime import parse_datetime
from kartoteka.security import csrf as login_csrf

from ..deps import actor, json_body, object_body
from ..responses import JSONResponse, Router
from ..schemas import LOGIN_BODY, TOKEN_BODY, Id, body_doc

router = Router(tags=["auth"])


@router.post("/auth/login", summary="Log in", openapi_extra=body_doc(LOGIN_BODY))
def login(request: Request, body: Any = Depends(json_body)) -> JSONResponse:
    """Check email and password; returns a token and sets the session and CSRF cookies."""
    if login_csrf.cross_site_login(request.headers):
        raise Forbidden(errors=[problem("csrf_login")], csrf=True)
    body = object_body(body)
    email, password = body.get("email"), body.get("password")
    missing = [
        problem("required", k)
        for k, v in (("email", email), ("password", password))
        if not isinstance(v, str) or not v
    ]
    if missing:
        raise ValidationFailed(errors=missing)
    ws = workspace(request)
    token, user = auth.login(ws, email, password, client_address(request), body.get("totp"))
    _, csrf = auth.actor_from_session(ws, token)
    response = JSONResponse({"token": token, "user": user, "csrf_token": csrf})
    set_session_cookies(request, response, token, csrf)
    return response


@router.post("/auth/logout", status_code=204, summary="Log out")
def logout(request: Request, a: Actor = Depends(actor)) -> Response:
    """End the current session (cookie or bearer)."""
    header = request.headers.get("authorization", "")
    token = (
        header[7:].strip()
        if header.lower().startswith("bearer ")
        else cookie(request, SESSION_COOKIE)
    )
    if token:
        auth.logout(a.workspace, token)
    response = Response(status_code=204)
    clear_session_cookies(request, response)
    return response


@router.post("/auth/logout-everywhere", status_code=204, summary="End all my sessions")
def logout_everywhere(request: Request, a: Actor = Depends(actor)) -> Response:
    """End every session of the signed-in user on every device (API tokens stay)."""
    auth.logout_everywhere(a)
    response = Response(status_code=204)
    clear_session_cookies(request, response)
    return response


@router.get("/auth/me", summary="Who am I")
def me(a: Actor = Depends(actor)) -> dict[str, Any]:
    """The signed-in user."""
    return {
        "id": a.user_id,
        "email": a.email,
        "name": a.name,
        "is_admin": a.is_admin,
        "groups": sorted(a.group_ids),
        "profile": a.profile,
        "lang": a.lang or "en",
    }


@router.post(
    "/auth/tokens",
    status_code=201,
    summary="Create an API token",
    openapi_extra=body_doc(TOKEN_BODY),
)
def create_token(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """A new API token for the actor; the secret is shown once."""
    body = object_body(body)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationFailed.of("text_length", "name", min=1, max=200)
    scopes = body.get("scopes")
    if scopes is not None and not isinstance(scopes, dict):
        raise ValidationFailed.of("body_object", "scopes")
    expires = body.get("expires_at")
    parsed = None
    if expires is not None:
        try:
            parsed = parse_datetime(expires, a)
        except ValueError:
            raise ValidationFailed.of("datetime", "expires_at") from None
    return tokens.create_api_token(a, name.strip(), scopes, parsed)


@router.get("/auth/tokens", summary="List API tokens")
def list_tokens(a: Actor = Depends(actor)) -> dict[str, Any]:
    """The actor's tokens (no secrets)."""
    return {"items": tokens.list_tokens(a)}


@router.delete("/auth/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(token_id: Id, a: Actor = Depends(actor)) -> Response:
    """Revoke a token at once."""
    tokens.revoke_token(a, token_id)
    return Response(status_code=204)
