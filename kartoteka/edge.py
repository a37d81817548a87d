"""What the two HTTP front ends share: cookies, the workspace of a request, the client's
address and the one table mapping domain errors to HTTP statuses and error codes.

`api/` (JSON) and `web/` (HTML pages) both import this module and never each other;
`kartoteka.server` builds the application out of both.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from kartoteka import errors
from kartoteka.context import Workspace

SESSION_COOKIE = "kartoteka_session"
CSRF_COOKIE = "kartoteka_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def instance(request: Request) -> Any:
    """The server's Instance (workspaces, settings)."""
    return request.app.state.instance


def workspace(request: Request) -> Workspace:
    """The workspace named by the `/w/{workspace}` prefix, or the default one."""
    name = request.path_params.get("workspace") or instance(request).settings.default_workspace
    return instance(request).workspace(name)  # type: ignore[no-any-return]


def cookie_path(request: Request) -> str:
    """The path a workspace's session cookies are set for: `/w/{name}/`, or `/` for the
    default workspace, so signing in to one workspace never replaces another's session."""
    name = request.path_params.get("workspace")
    return f"/w/{name}/" if name else "/"


def cookie(request: Request, name: str) -> str | None:
    """The cookie `name` of this request's workspace.

    Inside `/w/{name}/` the browser also sends the default workspace's cookie of the same
    name (path `/`); it lists the one with the longer path first (RFC 6265, 5.4), so the
    first one is this workspace's. Starlette's `request.cookies` keeps the last one.
    """
    for chunk in request.headers.get("cookie", "").split(";"):
        key, sep, value = chunk.partition("=")
        if sep and key.strip() == name:
            return unquote(value.strip().strip('"'))
    return None


def set_session_cookies(request: Request, response: Response, token: str, csrf: str) -> None:
    """The session (HttpOnly) and CSRF (readable by the page's scripts) cookies of a login."""
    settings = instance(request).settings
    for name, value, httponly in ((SESSION_COOKIE, token, True), (CSRF_COOKIE, csrf, False)):
        response.set_cookie(
            name,
            value,
            httponly=httponly,
            samesite="lax",
            secure=settings.secure_cookies,
            max_age=settings.session_days * 86400,
            path=cookie_path(request),
        )


def clear_session_cookies(request: Request, response: Response) -> None:
    """Remove this workspace's session cookies (logout)."""
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path=cookie_path(request))


def client_address(request: Request) -> str | None:
    """The client's IP address as the server saw it (set a trusted proxy's forwarded header
    in the ASGI server, e.g. uvicorn --forwarded-allow-ips, to see real clients)."""
    return request.client.host if request.client else None


#: domain error class -> (HTTP status, error code). Most specific first.
ERROR_TABLE: list[tuple[type[errors.DomainError], int, str]] = [
    (errors.Rejected, 422, "REJECTED"),
    (errors.ValidationFailed, 422, "VALIDATION"),
    (errors.NotFound, 404, "NOT_FOUND"),
    (errors.TotpRequired, 401, "TOTP_REQUIRED"),
    (errors.Unauthenticated, 401, "UNAUTHENTICATED"),
    (errors.Forbidden, 403, "FORBIDDEN"),
    (errors.RateLimited, 429, "RATE_LIMITED"),
    (errors.Duplicate, 409, "DUPLICATE"),
    (errors.Conflict, 409, "CONFLICT"),
    (errors.TooLarge, 413, "TOO_LARGE"),
    (errors.PreconditionFailed, 412, "PRECONDITION_FAILED"),
    (errors.BadRequest, 400, "BAD_REQUEST"),
]

#: Codes produced outside the table (framework level).
EXTRA_CODES = {
    "METHOD_NOT_ALLOWED": 405,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "CSRF": 403,
    "INTERNAL": 500,
}


def all_error_codes() -> dict[str, int]:
    """Every error code the API may return, with its status (the docs test reads this)."""
    codes = {code: status for _, status, code in ERROR_TABLE}
    codes.update(EXTRA_CODES)
    return codes


def status_and_code(exc: errors.DomainError) -> tuple[int, str]:
    """Look a domain error up in the table."""
    if isinstance(exc, errors.Forbidden) and exc.extra.get("csrf"):
        return 403, "CSRF"
    for cls, status, code in ERROR_TABLE:
        if isinstance(exc, cls):
            return status, code
    return 400, exc.code
