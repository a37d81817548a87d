"""Checks at the edge, before any route runs: body size as it streams in, NUL characters
in the path and query, and a JSON shape check (nesting depth, NUL in strings).

Each closes a class of hostile input once for every endpoint instead of per route:
a chunked body without `Content-Length` is counted as it arrives and cut off at the
limit (never read whole first); PostgreSQL refuses NUL in text, so a NUL that reached
a query would be a 500; a JSON document nested hundreds deep would exhaust recursive
code (filters, view options) long after parsing.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from kartoteka.errors import BadRequest, TooLarge, ValidationFailed, problem
from kartoteka.messages import from_headers, message

#: Deepest JSON nesting any body may use (filters nest at most 12, view options far less).
MAX_JSON_DEPTH = 64
#: Multipart uploads may carry the file plus boundaries and part headers on top.
MULTIPART_OVERHEAD = 64 * 1024
API_PATHS = re.compile(r"^(?:/w/[^/]+)?/api/v1(?:/|$)")
UPLOAD_PATHS = re.compile(r"^(?:/w/[^/]+)?/api/v1/(?:files|catalogs/[^/]+/imports)/?$")
NUL_ESCAPES = (b"%00", b"\x00")
BODY_HEADERS = (b"content-length", b"transfer-encoding")


def body_limit(settings: Any, path: str) -> int:
    """The most bytes a request body to `path` may have."""
    if UPLOAD_PATHS.match(path):
        return int(settings.max_upload_bytes) + MULTIPART_OVERHEAD
    return int(settings.max_body_bytes)


def _error_response(status: int, code: str, text: str) -> list[dict[str, Any]]:
    body = orjson.dumps({"error": code, "message": text})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


class EdgeGuardMiddleware:
    """Refuse NUL in an API path or query (400) and bodies over the limit (413) as they
    stream in (every path, pages included)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Check the request line, then count body bytes as the application reads them."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        instance = getattr(getattr(scope.get("app"), "state", None), "instance", None)
        limit = body_limit(instance.settings, scope.get("path", "")) if instance else None
        refusal = self._refusal(scope, limit)
        if refusal is not None:
            status, code, reason, params = refusal
            text = message(reason, params, from_headers(scope.get("headers", [])))
            for event in _error_response(status, code, text):
                await send(event)
            return
        if limit is None or _bodiless(scope):
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge.of("body_too_large", limit=limit)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except TooLarge as exc:
            # Read outside the routes' error handlers (a form parser, say): answer here.
            if started:
                raise
            text = exc.text(from_headers(scope.get("headers", [])))
            for event in _error_response(413, "TOO_LARGE", text):
                await send(event)

    @staticmethod
    def _refusal(
        scope: dict[str, Any], limit: int | None
    ) -> tuple[int, str, str, dict[str, Any]] | None:
        """(status, error code, message code, its parameters) of a request refused early."""
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        query = scope.get("query_string", b"")
        # Only the API: the web pages answer NUL with their own pages (404, 422).
        api = API_PATHS.match(scope.get("path", "")) is not None
        parts = (scope.get("path", "").encode(), raw_path, query)
        # The escapes hold no letters, so no case to fold.
        if api and any(esc in part for part in parts for esc in NUL_ESCAPES):
            return 400, "BAD_REQUEST", "nul_path", {}
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if not value.isdigit():
                    return 400, "BAD_REQUEST", "content_length", {}
                if limit is not None and int(value) > limit:
                    return 413, "TOO_LARGE", "body_too_large", {"limit": limit}
        return None


def _bodiless(scope: dict[str, Any]) -> bool:
    """A GET or HEAD announcing no body (neither `Content-Length` nor `Transfer-Encoding`):
    nothing to count, so the hot reads skip the counting wrappers. Other methods are
    always counted, whatever their headers say."""
    if scope.get("method") not in ("GET", "HEAD"):
        return False
    return not any(name in BODY_HEADERS for name, _ in scope.get("headers", ()))


def check_json_shape(value: Any) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH, or holding NUL in a key or string.

    A NUL is reported under the record field it sits in (`{"values": {"name": {"k": "\\u0000"}}}`
    names `name`, as the field's own check would), else under the body's top-level key, with
    the full path in `where`.
    """
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                _refuse_nul(path)
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise BadRequest.of("json_depth", max=MAX_JSON_DEPTH)
        if isinstance(node, dict):
            for key, item in node.items():
                if "\x00" in key:
                    # A NUL in a key is reported under the value that holds the key: the key
                    # itself cannot name a field (and may be nothing but the NUL).
                    _refuse_nul(path)
                stack.append((item, depth + 1, (*path, key)))
        else:
            stack.extend((item, depth + 1, (*path, str(i))) for i, item in enumerate(node))


def _refuse_nul(path: tuple[str, ...]) -> None:
    keys = [p for p in path if p and not p.isdigit()]
    # Under "values" the key is the record's field, however deep the NUL sits in its value;
    # elsewhere the body's own top-level key names the input.
    if "values" in keys and keys.index("values") + 1 < len(keys):
        name = keys[keys.index("values") + 1]
    else:
        name = keys[0] if keys else "body"
    raise ValidationFailed(errors=[problem("nul", name)], where=".".join(path) or "body")


def may_need_shape_check(raw: bytes) -> bool:
    """Cheap pre-test: only bodies with a NUL escape or much nesting need the walk."""
    return b"\\u0000" in raw or raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH


def parse_json(raw: bytes) -> Any:
    """Parse a JSON body and check its shape (400/422 instead of a later 500)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest.of("json_body", reason=str(exc)) from None
    if may_need_shape_check(raw):
        check_json_shape(value)
    return value
