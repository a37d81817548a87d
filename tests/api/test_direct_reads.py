"""The hot reads (a record, a page of records) skip FastAPI's dependency solving when
their path and query are plain, and answer exactly as the solved route does otherwise
(issue 16, `kartoteka.api.direct`)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import fastapi.routing
import pytest

FIELDS = [
    {"name": "Name", "type": "text"},
    {"name": "Stage", "type": "select", "options": {"choices": ["New", "Won"]}},
]


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests whose dependencies FastAPI solved."""
    paths: list[str] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        paths.append(kwargs["request"].url.path)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    yield paths


@pytest.fixture
def things(api: Any) -> list[int]:
    """A catalog `things` of three records."""
    api.catalog("Things", FIELDS)
    rows = [{"name": n, "stage": s} for n, s in (("a", "New"), ("b", "Won"), ("c", "New"))]
    return api.records("things", rows)


def test_plain_reads_skip_dependency_solving(api: Any, things: list[int], solved: list[str]):
    r = api.get(f"/catalogs/things/records/{things[0]}?fields=name")
    assert r.status_code == 200 and r.json()["values"] == {"name": "a"}
    assert r.headers["ETag"] == '"1"'
    query = 'filter={"stage":{"eq":"New"}}&sort=-id&limit=1&count=true&fields=name'
    page = api.get(f"/catalogs/things/records?{query}").json()
    assert [i["values"] for i in page["items"]] == [{"name": "c"}]
    assert page["count"] == 2 and page["next_cursor"]
    nxt = api.get(f"/catalogs/things/records?cursor={page['next_cursor']}&limit=1&sort=-id")
    assert [i["values"]["name"] for i in nxt.json()["items"]] == ["b"]
    ws = api.client.get(
        f"/w/{api.client.app.state.instance.settings.default_workspace}"
        f"/api/v1/catalogs/things/records/{things[1]}"
    )
    assert ws.status_code == 200 and ws.json()["values"]["name"] == "b"
    assert solved == []


def test_other_queries_answer_as_the_solved_route(api: Any, things: list[int], solved: list[str]):
    direct = api.get("/catalogs/things/records?sort=-id&limit=2&count=true").json()
    # Repeated, unknown and FastAPI-only spellings go the solved way, with the same answer.
    for query in ("sort=-id&limit=2&limit=2&count=true", "sort=-id&limit=2&count=yes&x=1"):
        assert api.get(f"/catalogs/things/records?{query}").json() == direct
    assert len(solved) == 2
    assert api.get(f"/catalogs/things/records/{things[0]}?fields=name&fields=name").json()[
        "values"
    ] == {"name": "a"}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/catalogs/things/records?limit=0", "limit"),
        ("/catalogs/things/records?limit=1001", "limit"),
        ("/catalogs/things/records?limit=ten", "limit"),
        ("/catalogs/things/records?count=maybe", "count"),
        ("/catalogs/things/records/0", "record_id"),
        ("/catalogs/things/records/-1", "record_id"),
        (f"/catalogs/things/records/{2**62 + 1}", "record_id"),
    ],
)
def test_bad_parameters_get_fastapis_validation(api: Any, things: list[int], path: str, field):
    r = api.get(path)
    assert r.status_code == 422 and r.json()["error"] == "VALIDATION"
    assert list(r.json()["fields"]) == [field]


def test_credentials_are_checked_on_the_direct_way(api: Any, things: list[int]):
    del api.client.headers["Authorization"]
    for path in (f"/catalogs/things/records/{things[0]}", "/catalogs/things/records"):
        r = api.get(path)
        assert r.status_code == 401 and r.json()["error"] == "UNAUTHENTICATED"


def _workspace(api: Any) -> Any:
    instance = api.client.app.state.instance
    return instance.workspace(instance.settings.default_workspace)


def _on_the_loop() -> bool:
    """Whether the caller runs on a thread with a running event loop (not a request thread)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def where(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """For each record read by id, whether it ran on the event loop."""
    from kartoteka.records import service

    seen: list[bool] = []
    original = service.get_record

    def spying(*args: Any, **kwargs: Any) -> Any:
        seen.append(_on_the_loop())
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "get_record", spying)
    yield seen


def test_a_record_by_id_is_read_on_the_loop(api: Any, things: list[int], where: list[bool]):
    """The hop to a request thread was a third of a GET's CPU; a record by its id is read
    on the loop (decision 0022). SQLite, in process and never waiting for a writer, reads
    there straight; PostgreSQL, which waits on the network, reads in a greenlet whose
    waits are the loop's, so a slow server never stalls the loop (decision 0026)."""
    from sqlalchemy.util.concurrency import in_greenlet

    from kartoteka.records import service

    postgres = _workspace(api).dialect == "postgresql"
    greenlets: list[bool] = []
    spying = service.get_record

    def noting(*args: Any, **kwargs: Any) -> Any:
        greenlets.append(in_greenlet())
        return spying(*args, **kwargs)

    service.get_record = noting
    try:
        for record_id in things:
            r = api.get(f"/catalogs/things/records/{record_id}")
            assert r.status_code == 200
        missing = api.get("/catalogs/things/records/999999")
    finally:
        service.get_record = spying
    assert missing.status_code == 404 and missing.json()["error"] == "NOT_FOUND"
    assert where == [True] * 4
    assert greenlets == [postgres] * 4
    # The page of records does work that grows with the catalog: it stays in a thread.
    assert api.get("/catalogs/things/records").status_code == 200


def test_an_exhausted_pool_means_a_request_thread(api: Any, things: list[int], where: list[bool]):
    """With every connection the pool may open taken (a long import's writers, say), the
    read goes to a thread to wait for one there: the loop never waits for the pool. Idle
    connections taken while the pool may still open more leave the read on the loop.
    PostgreSQL's reads on the loop have a pool of their own (`storage.loopreads`): the
    request threads' pool being taken leaves them on the loop."""
    from kartoteka.api.direct import may_run_inline

    engine = _workspace(api).engine
    sqlite = engine.dialect.name == "sqlite"
    pool = engine.pool
    actor: Any = SimpleNamespace(workspace=SimpleNamespace(engine=engine))
    held = [engine.connect() for _ in range(pool.checkedin())]
    try:
        assert pool.checkedin() == 0
        r = api.get(f"/catalogs/things/records/{things[0]}")
        assert r.status_code == 200 and r.json()["values"]["name"] == "a"
        assert where == [True]
        room = pool.size() + pool._max_overflow - pool.checkedout()  # type: ignore[attr-defined]
        held += [engine.connect() for _ in range(room)]
        assert may_run_inline(actor) is False
        held.pop().close()
        assert may_run_inline(actor) is sqlite
    finally:
        for conn in held:
            conn.close()


@pytest.fixture
def lent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, bool, bool]]]:
    """For each records read on the event loop: its connection, whether it was the loop
    thread's held connection during the read, and whether it was in a transaction after."""
    from contextlib import contextmanager

    from kartoteka.records import service
    from kartoteka.storage.engine import held_connection

    seen: list[tuple[Any, bool, bool]] = []
    original = service.reading

    @contextmanager
    def spying(engine: Any) -> Iterator[Any]:
        if not _on_the_loop():
            with original(engine) as conn:
                yield conn
            return
        with original(engine) as conn:
            held = held_connection(engine) is conn
            try:
                yield conn
            finally:
                seen.append((conn, held, False))
        seen[-1] = (conn, held, conn.in_transaction())

    monkeypatch.setattr(service, "reading", spying)
    yield seen


def test_the_loop_reads_on_one_kept_connection(api: Any, things: list[int], lent: list[Any]):
    """The loop's reads keep their connection between reads (SQLite: decision 0023;
    PostgreSQL, one at a time here: decision 0026): no pool checkout per GET. Each read
    ends its transaction, a failed one (404) included, and a field added between two
    reads (ALTER TABLE elsewhere) shows in the next."""
    assert api.get(f"/catalogs/things/records/{things[0]}").status_code == 200
    assert api.get("/catalogs/things/records/999999").json()["error"] == "NOT_FOUND"
    r = api.post("/catalogs/things/fields", {"name": "Note", "type": "text"})
    assert r.status_code == 201, r.text
    assert api.patch(f"/catalogs/things/records/{things[1]}", {"values": {"note": "n"}}).is_success
    r = api.get(f"/catalogs/things/records/{things[1]}")
    assert r.status_code == 200 and r.json()["values"]["note"] == "n"
    assert [(held, in_transaction) for _, held, in_transaction in lent] == [(True, False)] * 3
    kept = lent[0][0]
    assert all(conn is kept for conn, _, _ in lent) and not kept.closed


@pytest.fixture
def routed(api: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests that reached FastAPI's router (not the hot lane)."""
    from kartoteka.api.direct import HotLane

    lane = api.client.app.router.middleware_stack
    assert isinstance(lane, HotLane)
    paths: list[str] = []
    router = lane.app

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        paths.append(scope["path"])
        await router(scope, receive, send)

    monkeypatch.setattr(lane, "app", counting)
    yield paths


def test_the_hot_lane_answers_direct_gets_as_the_router_would(
    api: Any, things: list[int], routed: list[str]
):
    """A plain GET of a record or a page skips FastAPI's router, and its answer, errors
    and metrics labels are those of the routed request."""
    from kartoteka.observability.middleware import route_template

    ws = _workspace(api).name
    record = f"/catalogs/things/records/{things[0]}"
    plain = api.get(record)
    assert plain.status_code == 200 and plain.headers["ETag"] == '"1"'
    under_ws = api.client.get(f"/w/{ws}/api/v1{record}")
    assert under_ws.json() == plain.json()
    assert api.get("/catalogs/things/records?limit=2").json()["items"][0]["id"] == things[0]
    # Errors come from the application's handlers: 404, 401 and 422 with their codes.
    assert api.get("/catalogs/things/records/999999").json()["error"] == "NOT_FOUND"
    assert api.get("/catalogs/nothing/records/1").json()["error"] == "NOT_FOUND"
    anonymous = api.client.get(f"/api/v1{record}", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "UNAUTHENTICATED"
    unknown = api.get(f"{record}?fields=nope")
    assert unknown.status_code == 422 and unknown.json()["error"] == "VALIDATION"
    assert routed == []
    # What the parser does not vouch for goes on to the router, answered the same way.
    padded = api.get(f"/catalogs/things/records/0{things[0]}")
    assert padded.status_code == 200 and padded.json() == plain.json()
    assert api.client.head(f"/api/v1{record}").status_code == 200  # the lane's, as GET
    assert routed == [f"/api/v1/catalogs/things/records/0{things[0]}"]
    # Metrics and access logs name the route's template, as for a routed request.
    scope = {"path": f"/w/{ws}/api/v1{record}", "route": _route_of(api, "get_record")}
    assert route_template(scope) == "/api/v1/catalogs/{catalog}/records/{record_id}"


def _route_of(api: Any, name: str) -> Any:
    from kartoteka.api.direct import HotLane

    lane = api.client.app.router.middleware_stack
    assert isinstance(lane, HotLane)
    return next(route for _, route in lane.routes if route.name == name)


#: Headers that differ between any two answers (the request id, the rate limit's count).
VARYING = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"}


def _same_but_body(api: Any, path: str) -> Any:
    """HEAD and GET of `path` under the API; asserts HEAD is GET without the body."""
    got = api.client.get(path)
    head = api.client.head(path)
    assert (head.status_code, head.content) == (got.status_code, b"")
    assert {k: v for k, v in head.headers.items() if k not in VARYING} == {
        k: v for k, v in got.headers.items() if k not in VARYING
    }
    assert set(head.headers) >= VARYING  # request id and rate-limit headers as on GET
    return got


@pytest.mark.parametrize("under_workspace", [False, True])
def test_head_is_get_without_the_body(api: Any, things: list[int], under_workspace: bool):
    """HTTP's HEAD (RFC 9110 9.3.2) on the API's GET routes: the hot lane's (a record,
    a page), the router's (history, a catalog) and errors answer as GET does, with
    ETag and Content-Length and no body. A path without GET still answers 405."""
    prefix = f"/w/{_workspace(api).name}/api/v1" if under_workspace else "/api/v1"
    record = f"{prefix}/catalogs/things/records/{things[0]}"
    got = _same_but_body(api, record)
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    assert int(got.headers["content-length"]) == len(got.content) > 0
    assert _same_but_body(api, f"{prefix}/catalogs/things/records?limit=2").status_code == 200
    assert _same_but_body(api, f"{record}/history").status_code == 200
    assert _same_but_body(api, f"{prefix}/catalogs/things").status_code == 200
    assert _same_but_body(api, f"{prefix}/catalogs/things/records/999999").status_code == 404
    assert _same_but_body(api, f"{prefix}/catalogs/things/records/x").status_code == 422
    assert _same_but_body(api, "/api/v1/auth/login").status_code == 405  # POST only


def test_head_is_counted_under_its_route(
    api: Any, things: list[int], caplog: pytest.LogCaptureFixture
):
    """Metrics and access logs label a HEAD with its method and its route's template."""
    import logging

    import orjson
    from prometheus_client import REGISTRY

    from kartoteka.observability import logs, metrics

    labels = {"method": "HEAD", "route": "/api/v1/catalogs/{catalog}/records/{record_id}"}

    def count() -> float:
        metrics.REQUESTS.flush()
        value = REGISTRY.get_sample_value(
            "kartoteka_http_requests_total", {**labels, "status": "200"}
        )
        return value or 0.0

    before = count()
    with caplog.at_level(logging.INFO, logger=logs.ACCESS_LOGGER):
        assert api.client.head(f"/api/v1/catalogs/things/records/{things[0]}").status_code == 200
    assert api.client.head(f"/api/v1/catalogs/things/records/{things[0]}/history").is_success
    assert count() == before + 1
    access = next(r for r in caplog.records if r.name == logs.ACCESS_LOGGER)
    line = orjson.loads(logs.JSONFormatter().format(access))
    assert (line["method"], line["route"], line["status"]) == ("HEAD", labels["route"], 200)
    assert isinstance(line["user_id"], int)
