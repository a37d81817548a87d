"""The plumbing every API request pays, kept cheap without changing an answer (issue 16):
the direct routes' query reading, the edge guard's body counting, the actor's lookup."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import starlette.requests
from starlette.datastructures import QueryParams
from starlette.requests import Request

from kartoteka.api import deps
from kartoteka.api.direct import in_thread, plain_query
from kartoteka.api.guard import EdgeGuardMiddleware

ALLOWED = frozenset({"fields", "limit", "sort"})


def _request(query: bytes, method: str = "GET", headers: Any = ()) -> Request:
    scope = {"type": "http", "method": method, "path": "/", "query_string": query}
    return Request({**scope, "headers": list(headers)})


@pytest.mark.parametrize(
    "query",
    [
        b"",
        b"fields=",
        b"fields=a%2Cb+c&limit=5",
        b"sort=-id&fields=%D0%B8%D0%BC%D1%8F",
        b"limit=1&limit=2",
        b"limit=1&other=2",
        b"fields&limit",
        b"&&fields=a&",
    ],
)
def test_plain_query_reads_as_starlette_does(query: bytes):
    params = QueryParams(query)
    found = dict(params)
    plain = len(found) == len(params.multi_items()) and found.keys() <= ALLOWED
    assert plain_query(_request(query), ALLOWED) == (found if plain else None)


def test_a_get_without_query_builds_no_query_params(monkeypatch: pytest.MonkeyPatch):
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("QueryParams built for an empty query")

    monkeypatch.setattr(starlette.requests, "QueryParams", refuse)
    assert plain_query(_request(b""), ALLOWED) == {}


class _Settings:
    max_body_bytes = 100
    max_upload_bytes = 1000


class _App:
    class state:  # noqa: N801 - stands in for `app.state`
        class instance:  # noqa: N801
            settings = _Settings()


def _passed_on(method: str, headers: list[tuple[bytes, bytes]]) -> tuple[bool, bool]:
    """Whether the guard handed the inner app the server's own receive and send."""
    seen: dict[str, Any] = {}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.update(receive=receive, send=send)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    scope = {
        "type": "http",
        "method": method,
        "path": "/api/v1/catalogs/deals/records/1",
        "raw_path": b"/api/v1/catalogs/deals/records/1",
        "query_string": b"",
        "headers": headers,
        "app": _App(),
    }
    anyio.run(EdgeGuardMiddleware(inner), scope, receive, send)
    return seen["receive"] is receive, seen["send"] is send


def test_the_guard_counts_bodies_only_where_one_can_come():
    host = [(b"host", b"test")]
    assert _passed_on("GET", host) == (True, True)
    assert _passed_on("HEAD", host) == (True, True)
    # A body announced in any way, or any other method, is counted as before.
    assert _passed_on("GET", [*host, (b"content-length", b"5")]) == (False, False)
    assert _passed_on("GET", [*host, (b"transfer-encoding", b"chunked")]) == (False, False)
    assert _passed_on("POST", host) == (False, False)
    assert _passed_on("DELETE", host) == (False, False)


def test_the_actor_is_read_from_the_request_state(monkeypatch: pytest.MonkeyPatch):
    """A second `actor` call in one request (a route's dependency after the direct
    parser, say) returns the actor authenticated first, without authenticating again."""
    request = _request(b"", headers=[(b"authorization", b"Bearer kt_x")])
    first = object()
    request.state.actor = first
    monkeypatch.setattr(deps, "_cached_credentials", lambda _r: pytest.fail("authenticated"))
    assert anyio.run(deps.actor, request) is first


def test_direct_calls_share_the_request_thread_limit():
    """However many hot reads arrive at once, no more run in threads than the limiter
    allows (the database pools are sized for it); the rest queue, none fails."""
    import threading
    import time

    running = peak = 0
    lock = threading.Lock()

    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        return i

    async def main() -> list[int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 3
        results: list[int] = []

        async def one(i: int) -> None:
            results.append(await in_thread(lambda: work(i)))

        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(one, i)
        return results

    assert sorted(anyio.run(main)) == list(range(12))
    assert peak <= 3


def test_direct_calls_see_the_request_id():
    from kartoteka.observability import context

    async def main() -> str | None:
        context.set_request_id("req-42")
        return await in_thread(context.request_id)

    assert anyio.run(main) == "req-42"
