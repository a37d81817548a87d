"""What the two HTTP front ends share: cookies, the workspace of a request, the client's
address and the one table mapping domain errors to HTTP statuses and error codes.

`api/` (JSON) and `web/` (HTML pages) both import this module and never each other;
`kartoteka.server` builds the application out of both.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

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
