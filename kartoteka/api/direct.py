"""Hot read routes called without FastAPI's dependency solving (issue 16).

Solving a GET's dependencies (the actor, each query parameter validated through pydantic)
was a quarter of its cost in process. A route marked with `direct(parse)` keeps its
declared signature, so the OpenAPI document and every error answer stay the same; on each
request `parse` reads the path and query itself and, when they are plain (the common case),
the endpoint is called with those arguments and the actor from `deps.actor`. Anything
`parse` does not vouch for (an unknown or repeated parameter, a value it would have to
coerce) goes the usual way, so the validation errors are FastAPI's own.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .deps import actor

#: Reads a request's path and query into the endpoint's keyword arguments (the actor
#: aside), or None to leave the request to FastAPI's own validation.
Parse = Callable[[Request], dict[str, Any] | None]

#: The attribute `direct` puts on an endpoint (copied to its wrappers by functools.wraps).
PARSE_ATTRIBUTE = "__kartoteka_direct__"


def direct(parse: Parse) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a sync endpoint taking `a: Actor` to be called with `parse(request)` first."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, PARSE_ATTRIBUTE, parse)
        return endpoint

    return mark


class DirectRoute(APIRoute):
    """An APIRoute that calls its endpoint straight when its `direct` parser can."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, tried after the direct call when the parser declines."""
        solved = super().get_route_handler()
        parse: Parse = getattr(self.endpoint, PARSE_ATTRIBUTE)
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            kwargs = parse(request)
            if kwargs is None:
                return await solved(request)
            kwargs["a"] = await actor(request)
            answer: Response = await run_in_threadpool(lambda: endpoint(**kwargs))
            return answer

        return handler


def plain_query(request: Request, allowed: frozenset[str]) -> dict[str, str] | None:
    """The query parameters as one string each, or None if one is unknown or repeated."""
    params = request.query_params
    found = dict(params)
    if len(found) != len(params.multi_items()) or not found.keys() <= allowed:
        return None
    return found


def plain_int(text: str, low: int, high: int) -> int | None:
    """`text` as an int in [low, high] when it is written plainly (ASCII digits, no sign,
    no leading zero), else None."""
    if not (text.isascii() and text.isdecimal()) or (text[0] == "0" and len(text) > 1):
        return None
    value = int(text) if len(text) <= 20 else high + 1
    return value if low <= value <= high else None


def plain_bool(text: str) -> bool | None:
    """`true`/`false`/`1`/`0` as a bool, else None (FastAPI's wider spellings go its way)."""
    return {"true": True, "false": False, "1": True, "0": False}.get(text)
