"""Request plumbing: which workspace, who is acting, the JSON body."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from kartoteka.auth import service as auth
from kartoteka.context import Actor, Workspace
from kartoteka.edge import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    client_address,
    instance,
    workspace,
)
from kartoteka.edge import (
    cookie as read_cookie,
)
from kartoteka.errors import (
    BadRequest,
    Forbidden,
    TooLarge,
    Unauthenticated,
    ValidationFailed,
    problem,
)
from kartoteka.security import ratelimit
from kartoteka.webhooks import loops

from . import guard

log = logging.getLogger(__name__)

#: Echoed by webhook receivers on the calls a message makes them do (loop protection).
CAUSE_HEADER = "kartoteka-cause"


def _basic(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated.of("basic_malformed") from None
    email, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthenticated.of("basic_malformed")
    return email, password


async def actor(request: Request) -> Actor:
    """Authenticate the request (bearer token, Basic, or session cookie + CSRF).

    A bearer token already verified by this process is resolved on the event loop
    without I/O; anything that may touch the database or Redis runs in the threadpool.
    """
    # The state dict itself: `request.state.actor` raises and catches an AttributeError
    # on every first call of a request.
    cached: Actor | None = request.scope.get("state", {}).get("actor")
    if cached is not None:
        return cached
    # Verifying a cause header reads the database, so such requests take the threadpool.
    verify = CAUSE_HEADER in request.headers and request.method not in SAFE_METHODS
    fast = None if verify else _cached_credentials(request)
    if fast is not None:
        return _authorize(request, fast)
    return await run_in_threadpool(actor_blocking, request)


def _cached_credentials(request: Request) -> Actor | None:
    inst = instance(request)
    header = request.headers.get("authorization", "")
    scheme = header[:6].lower()
    if inst.settings.redis_url or scheme not in ("bearer", "basic "):
        return None
    name = request.path_params.get("workspace") or inst.settings.default_workspace
    ws = inst.cached_workspace(name)
    if ws is None:
        return None
    if scheme == "bearer":
        return auth.peek_token(ws, header[7:].strip())
    # Basic credentials checked a moment ago take the same no-I/O path as a token, so
    # clients that cannot hold a token pay neither Argon2 nor a threadpool hop per call.
    try:
        email, password = _basic(header[6:].strip())
    except Unauthenticated:
        return None  # the threadpool path answers with the precise error
    return auth.peek_basic(ws, email, password)


def actor_blocking(request: Request) -> Actor:
    """`actor` for the paths that may do I/O (first sight of a token, Basic, cookies)."""
    result, csrf = _verified(
        workspace(request),
        request.headers.get("authorization", ""),
        read_cookie(request, SESSION_COOKIE),
        client_address(request),
    )
    if csrf is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, csrf):
            raise Forbidden(errors=[problem("csrf_missing")], csrf=True)
    return _authorize(request, result)


def _verified(
    ws: Workspace, header: str, cookie: str | None, address: str | None
) -> tuple[Actor, str | None]:
    """Who the Authorization header (else the session cookie) names, and the session's
    CSRF token (None when the credential is not a session)."""
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return auth.actor_from_token(ws, value), None
    if scheme == "basic" and value:
        email, password = _basic(value)
        return auth.actor_from_basic(ws, email, password, address), None
    if cookie:
        return auth.actor_from_session(ws, cookie)
    if header:
        raise Unauthenticated.of("auth_scheme")
    raise Unauthenticated.of("auth_required")


def credential_check(request: Request, first: Actor) -> Callable[[], Actor]:
    """Verify the request's credential again, later (a long-lived stream), with no request
    limit: it is the same request.

    Bearer tokens and sessions are looked up again (a cache hit costs nothing; a
    revocation, deactivation, password change or group change evicts the cache);
    Basic credentials are checked again the same way.
    """
    header = request.headers.get("authorization", "")
    cookie = read_cookie(request, SESSION_COOKIE)
    address = client_address(request)
    return lambda: _verified(first.workspace, header, cookie, address)[0]


def _authorize(request: Request, result: Actor) -> Actor:
    """Token scopes and the per-account request limit, then remember the actor."""
    if (
        result.token_scopes
        and result.token_scopes.get("read_only")
        and request.method not in SAFE_METHODS
    ):
        raise Forbidden.of("token_read_only")
    _check_catalog_scope(request, result)
    # The path as the rate-limit middleware saw it (building `request.url` for it was a
    # quarter of this function).
    if ratelimit.is_limits_change(request.method, request.scope.get("path", "")):
        # The administrator's way out of a too tight limit is never limited itself; anyone
        # else pays the per-address count the middleware deferred for this path.
        if not result.is_admin:
            ratelimit.check_address(request.state, result.workspace, client_address(request))
            ratelimit.check_account(request.state, result)
    else:
        ratelimit.check_account(request.state, result)
    result = _with_cause(request, result)
    request.state.actor = result
    return result


def _with_cause(request: Request, result: Actor) -> Actor:
    """The actor stamped with the webhook chain of a verified `kartoteka-cause` header.

    Only writes care, so reads skip the check; an unverifiable header is ignored.
    """
    if request.method in SAFE_METHODS:
        return result
    token = request.headers.get(CAUSE_HEADER)
    if not token:
        return result
    chain = loops.verify_cause(result.workspace, token)
    # A copy: the cached actor of a bearer token is shared by its other requests.
    return dataclasses.replace(result, cause=chain) if chain else result


#: Routes without a `{catalog}` in their path that a catalog-scoped token may still call:
#: its own identity and logout, the (scope-filtered) catalog list, time zone settings,
#: files and import jobs (whose services check the catalog they belong to).
SCOPED_TOKEN_ROUTES = {
    ("GET", "/auth/me"),
    ("POST", "/auth/logout"),
    ("GET", "/catalogs"),
    ("GET", "/settings"),
    ("POST", "/files"),
    ("GET", "/files/{file_id}"),
    ("GET", "/files/{file_id}/thumbnail"),
    ("GET", "/imports/{job_id}"),
    ("POST", "/imports/{job_id}/cancel"),
    ("POST", "/imports/{job_id}/resume"),
    ("GET", "/imports/{job_id}/errors"),
}


def route_template(request: Request) -> str:
    """The matched route's path without the API prefix (`/catalogs/{catalog}/records`)."""
    route = request.scope.get("route")
    path = getattr(route, "path", "") or ""
    _, sep, rest = path.partition("/api/v1")
    return rest if sep else path


def _check_catalog_scope(request: Request, result: Actor) -> None:
    """A token scoped to catalogs reaches only those, on every endpoint.

    Paths naming a catalog must name an allowed one; every other endpoint (users,
    groups, webhooks, security, new catalogs, the event feed...) is refused unless it is
    listed in `SCOPED_TOKEN_ROUTES` — even for an administrator's token.
    """
    allowed = (result.token_scopes or {}).get("catalogs")
    if allowed is None:
        return
    ref = request.path_params.get("catalog")
    if ref is None:
        method = "GET" if request.method == "HEAD" else request.method
        if (method, route_template(request)) not in SCOPED_TOKEN_ROUTES:
            raise Forbidden.of("token_scope_route")
        return
    catalog = result.workspace.meta().catalog(ref)
    # An unknown catalog is refused too: a 404 would tell the token which names exist.
    if catalog is None or catalog.id not in allowed:
        raise Forbidden.of("token_scope_refused")


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON: read in chunks and cut off at the size limit (a
    chunked body is never read whole first), nesting depth and NUL characters refused."""
    limit = instance(request).settings.max_body_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise TooLarge.of("body_too_large", limit=limit)
    try:
        raw = await _read_body(request, limit)
    except ClientDisconnect:
        # A client that hangs up mid-body is no server error: one line, no traceback. The
        # 400 goes nowhere, but ends the request without running the endpoint.
        log.info("client disconnected during the body of %s %s", request.method, request.url.path)
        raise BadRequest.of("body_disconnected") from None
    if not raw.strip():
        return None
    return guard.parse_json(raw)


async def _read_body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge.of("body_too_large", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def object_body(body: Any) -> dict[str, Any]:
    """Require a JSON object body."""
    if not isinstance(body, dict):
        raise ValidationFailed.of("body_object", "body")
    return body
