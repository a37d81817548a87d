"""One small ASGI middleware: request id, request metrics and the access log line.

It is the outermost layer of the app, so it times and counts everything, including
requests the rate limiter refuses; a bug's exception passes through it (after it is
counted as a 500 and logged with its traceback) to the error handler outside.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Mount

from . import context, metrics
from .logs import ACCESS_LOGGER, write_access_line

#: Routes nobody declared (404s, scanners) share one label, so the label set stays small.
UNMATCHED = "<unmatched>"
LOGIN_ROUTES = ("/api/v1/auth/login", "/login")
_HEADER = context.HEADER.lower().encode()
log = logging.getLogger(ACCESS_LOGGER)


#: (route object's id, under /w/<name>?) -> its template; a route's prefix never varies.
_TEMPLATES: dict[tuple[int, bool], str] = {}


def route_template(scope: dict[str, Any]) -> str:
    """The path template of the route that answered (`/api/v1/catalogs/{catalog}`).

    FastAPI leaves the included router's own route in the scope, whose path lacks the
    prefix it was included under; the prefix is the request path's leading segments
    beyond the template's. `/w/<name>` is dropped, so both mounts of the API share labels.
    Routes live as long as the app, so each one's answer is kept after its first request.
    """
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    path = scope.get("path", "")
    key = (id(route), path.startswith("/w/"))
    template = _TEMPLATES.get(key)
    if template is None:
        template = _TEMPLATES[key] = _template(route, path)
    return template


def _template(route: Any, path: str) -> str:
    template = getattr(route, "path", None)
    if not template:
        return UNMATCHED
    if isinstance(route, Mount):
        return template
    segments = path.split("/")
    extra = len(segments) - len(template.split("/"))
    prefix = segments[1 : 1 + extra] if extra > 0 else []
    if prefix[:1] == ["w"]:
        prefix = prefix[2:]
    return ("/" + "/".join(prefix) if prefix else "") + template


def _sent_request_id(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            return value.decode("latin-1")
    return None


def _refused_limit(scope: dict[str, Any]) -> str:
    """Which request limit refused a 429 (the rate limiter leaves its usage in the state)."""
    usage = scope.get("state", {}).get("kt_rate_limits_address")
    return "address" if usage is not None and not usage.allowed else "account"


def _user_id(scope: dict[str, Any]) -> int | None:
    actor = scope.get("state", {}).get("actor")
    return getattr(actor, "user_id", None)


class ObservabilityMiddleware:
    """Give every HTTP request an id, count and time it, and log one line for it."""

    def __init__(self, app: Any, default_workspace: str = "default") -> None:
        self.app = app
        self.default_workspace = default_workspace

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve the request through the app, then record what happened."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = context.accepted_or_new(_sent_request_id(scope))
        token = context.set_request_id(rid)
        status = 500
        header = (_HEADER, rid.encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # The error handler outside logs the traceback; the id stays set so its line
            # carries it (each request runs in its own task, so nothing leaks further).
            self._record(scope, 500, time.perf_counter() - started, failed=True)
            raise
        self._record(scope, status, time.perf_counter() - started, failed=False)
        context.reset_request_id(token)

    def _record(self, scope: dict[str, Any], status: int, seconds: float, failed: bool) -> None:
        route = route_template(scope)
        metrics.REQUESTS.add(scope["method"], route, str(status), seconds)
        if status == 429 and route not in LOGIN_ROUTES:
            metrics.RATE_LIMIT_REFUSALS.labels(_refused_limit(scope)).inc()
        if log.isEnabledFor(logging.INFO):
            level = logging.ERROR if failed else logging.INFO
            write_access_line(log, level, self._fields(scope, route, status, seconds))

    def _fields(
        self, scope: dict[str, Any], route: str, status: int, seconds: float
    ) -> dict[str, Any]:
        workspace = scope.get("path_params", {}).get("workspace") or self.default_workspace
        return {
            "method": scope["method"],
            "route": route,
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "workspace": workspace,
            "user_id": _user_id(scope),
        }
