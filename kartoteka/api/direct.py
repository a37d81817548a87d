"""Hot read routes called without FastAPI's dependency solving (issue 16).

Solving a GET's dependencies (the actor, each query parameter validated through pydantic)
was a quarter of its cost in process. A route marked with `direct(parse)` keeps its
declared signature, so the OpenAPI document and every error answer stay the same; on each
request `parse` reads the path and query itself and, when they are plain (the common case),
the endpoint is called with those arguments and the actor from `deps.actor`. Anything
`parse` does not vouch for (an unknown or repeated parameter, a value it would have to
coerce) goes the usual way, so the validation errors are FastAPI's own.

A route marked `direct(parse, inline=True)` does a bounded amount of work (one record by
its id: a primary-key read and its links' titles) and, on an embedded SQLite database
whose pool is not exhausted, is called on the event loop itself: the hop to a request
thread and back was a third of such a GET's CPU (decision 0022); its read uses the one
connection the engine keeps for the loop, not a pool checkout (decision 0023). On
PostgreSQL, whose every statement waits on the network, it runs on the loop's thread in a
greenlet whose waits for the database are the loop's (`storage.loopreads`, decision
0026): a slow or distant database server never stalls the loop's other requests, and
the thread hop is saved there too.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy.pool import QueuePool
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Router, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kartoteka.context import Actor
from kartoteka.storage.engine import ON_THE_LOOP, POOL_SIZE
from kartoteka.storage.loopreads import may_read_on_loop, read_on_loop

from .deps import actor
from .guard import API_PATHS

T = TypeVar("T")

#: Reads a request's path and query into the endpoint's keyword arguments (the actor
#: aside), or None to leave the request to FastAPI's own validation.
Parse = Callable[[Request], dict[str, Any] | None]

#: The attributes `direct` puts on an endpoint (copied to its wrappers by functools.wraps).
PARSE_ATTRIBUTE = "__kartoteka_direct__"
INLINE_ATTRIBUTE = "__kartoteka_inline__"


def direct(
    parse: Parse, *, inline: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a sync endpoint taking `a: Actor` to be called with `parse(request)` first;
    `inline` when its work is bounded (see the module's docstring)."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, PARSE_ATTRIBUTE, parse)
        setattr(endpoint, INLINE_ATTRIBUTE, inline)
        return endpoint

    return mark


def may_run_inline(a: Actor) -> bool:
    """Whether a bounded read for `a` may run on the event loop: only on an embedded
    SQLite database (no network wait; WAL readers never wait for writers) and only while
    its pool is not exhausted, so the loop never waits for a connection to come back.

    The read itself uses the engine's kept `LoopConnection`; what it may read on the way
    (a metadata check, a rights cache miss) and the first making of the kept one take a
    pooled connection, an idle one or a new one. Only a pool with every connection out
    (a long import's writers, say) would make the loop wait: then the read goes to a
    thread and waits there.
    """
    engine = a.workspace.engine
    if engine.dialect.name != "sqlite":
        return False
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return False
    overflow = pool._max_overflow  # no public accessor; -1 means unlimited
    return overflow < 0 or pool.checkedout() < pool.size() + overflow


class DirectRoute(APIRoute):
    """An APIRoute that calls its endpoint straight when its `direct` parser can."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, tried after the direct call when the parser declines."""
        solved = super().get_route_handler()
        direct_call = self.direct_call

        async def handler(request: Request) -> Response:
            answer = await direct_call(request)
            return answer if answer is not None else await solved(request)

        return handler

    async def direct_call(self, request: Request) -> Response | None:
        """The endpoint's answer when its parser vouches for the request, else None."""
        kwargs = getattr(self.endpoint, PARSE_ATTRIBUTE)(request)
        if kwargs is None:
            return None
        kwargs["a"] = a = await actor(request)
        answer: Response
        if getattr(self.endpoint, INLINE_ATTRIBUTE, False):
            if may_run_inline(a):
                on_the_loop = ON_THE_LOOP.set(True)
                try:
                    answer = self.endpoint(**kwargs)
                finally:
                    ON_THE_LOOP.reset(on_the_loop)
                return answer
            engine = a.workspace.engine
            if may_read_on_loop(engine):
                return await read_on_loop(engine, functools.partial(self.endpoint, **kwargs))
        answer = await in_thread(functools.partial(self.endpoint, **kwargs))
        return answer


#: The prefixes the API is included under (`api.app.install`).
API_PREFIXES = ("/api/v1", "/w/{workspace}/api/v1")


class HotLane:
    """The direct routes' GETs, matched before FastAPI's router is asked (issue 16).

    FastAPI matches a request by walking every included router and its routes, then
    wraps the call in two exit stacks and its own exception layer: a tenth of a record's
    GET. This lane sits where the router is called — inside the application's
    middleware, exception handlers and exit stack, so errors, limits, request ids and
    metrics are what they are for every route — and hands a GET whose path is a direct
    route's to that route's `direct_call`, with the scope FastAPI would have set (`route`,
    `endpoint`, `path_params`). Anything the route's parser does not vouch for, every
    other method and path, goes on to the router unchanged; a HEAD of an API path is
    answered as its GET without the body (`head`).
    """

    def __init__(self, app: ASGIApp, routes: list[DirectRoute]) -> None:
        self.app = app
        self.routes = [
            (compile_path(prefix + route.path)[0], route)
            for route in routes
            if "GET" in (route.methods or ())
            for prefix in API_PREFIXES
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD" and API_PATHS.match(scope["path"]):
            await self.head(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            path = scope["path"]
            for regex, route in self.routes:
                found = regex.match(path)
                if found is None:
                    continue
                scope["path_params"] = found.groupdict()
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                answer = await route.direct_call(Request(scope, receive, send))
                if answer is not None:
                    await answer(scope, receive, send)
                    return
                break
        await self.app(scope, receive, send)

    async def head(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A HEAD of an API path answered as its GET without the body (RFC 9110 9.3.2):
        same status and headers, `ETag` and `Content-Length` included.

        FastAPI's routes answer only the methods they declare, so every API GET answered
        HEAD with 405. The GET runs on a copy of the scope whose method is GET; the server
        still sees HEAD (uvicorn then expects no body), and what the router left in the
        copy (the route, for metrics labels and access logs) is copied back; the copy
        shares the request's `state` (the actor, the rate limits' usage).
        """
        inner = {**scope, "method": "GET"}

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self(inner, receive, headers_only)
        finally:
            for key in ("route", "endpoint", "path_params"):
                if key in inner:
                    scope[key] = inner[key]


def install_hot_lane(router: Router, routes: list[Any]) -> None:
    """Put a `HotLane` for the direct routes among `routes` in front of `router`."""
    direct_routes = [r for r in routes if isinstance(r, DirectRoute)]
    router.middleware_stack = HotLane(router.middleware_stack, direct_routes)


#: The threads of the direct routes. They run only while holding a token of anyio's
#: request-thread limiter (`server.REQUEST_THREADS`), shared with every other route, so
#: the number of requests in threads at once stays what the database pools are sized for.
_executor = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="kartoteka-read")


async def in_thread(call: Callable[[], T]) -> T:
    """`call()` in a request thread, in this request's context (its request id).

    What `run_in_threadpool` does, at two thirds of its CPU (measured 20 against 31 us per
    hop on uvloop): anyio yields to the event loop twice before handing the call over
    (its checkpoint and the limiter's) and looks up its worker pool per call. When the
    limiter has no free token the call queues the usual way.
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    token = object()
    try:
        limiter.acquire_on_behalf_of_nowait(token)
    except anyio.WouldBlock:
        return await run_in_threadpool(call)
    try:
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(_executor, context.run, call)
    finally:
        # A cancelled request (server shutdown) gives its token back before its thread
        # ends; uvicorn does not cancel requests whose client went away.
        limiter.release_on_behalf_of(token)


def plain_query(request: Request, allowed: frozenset[str]) -> dict[str, str] | None:
    """The query parameters as one string each, or None if one is unknown or repeated.

    Parsed as Starlette's `QueryParams` parses them, without building one: for a GET
    without a query that object cost ~10 us, a fiftieth of the whole request.
    """
    raw = request.scope.get("query_string", b"")
    if not raw:
        return {}
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    found = dict(pairs)
    if len(found) != len(pairs) or not found.keys() <= allowed:
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
