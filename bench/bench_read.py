"""Read path (issue 16): a single GET and a page of records, what they cost beyond the SQL.

Targets (issue 16), on a 20,000-record catalog of 20 fields, page filtered by a select
(`eq`) and sorted by a text field:

- a 100-record page costs <= 1 ms fixed per request plus <= 15 us per record beyond the
  SQL it runs, for the administrator and for a user with a record rule and field rules;
  the page takes <= 4 ms end to end in process on SQLite;
- a single GET through the full stack (authentication, rights, field rules, JSON) serves
  >= 25% of the requests/s of a bare Starlette endpoint returning the same JSON, both on
  uvicorn with 2 workers and 32 connections (`wrk` when installed, else the asyncio httpx
  load generator of bench_http.py, in its own process).

Baselines in the same run: the SQL each read runs, replayed on a raw driver connection
(the statements are captured from the read itself, so "beyond the SQL" is exact); a bare
ASGI app (Starlette) returning the same bytes, called the same way in process; and the
bare Starlette endpoint under the same HTTP load. "End to end in process" calls the
ASGI application directly (every middleware, routing, authentication, JSON), without an
HTTP client in between, so the client's own cost is not counted.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from bench_http import load, uvicorn_cmd
from bench_list import STAGES, seed
from common import (
    Env,
    Results,
    cpu_of,
    environment,
    free_port,
    get_scope,
    parser,
    percentile,
    server,
    spent,
)

from kartoteka.storage.kept import KeptSelect

PAGE = 100
HERE = Path(__file__).resolve().parent
USER_EMAIL = "reader@bench.example"
USER_PASSWORD = "bench-reader-123"
#: The reader's record rule (two fields, one through `$user`) and field rules.
RULE = {"or": [{"priority": {"ne": "Low"}}, {"region": {"lt": "$user.max_region"}}]}
FIELD_RULES = {"email": "masked", "phone_text": "hidden", "notes": "hidden", "budget": "read_only"}


# ----- data ---------------------------------------------------------------------------------
def reader(env: Env, catalog: Any) -> tuple[Any, str]:
    """A user of a group with RULE and FIELD_RULES on the catalog: their actor and a token."""
    from kartoteka.auth import service as auth
    from kartoteka.rights import service as manage
    from kartoteka.users import service as users

    admin = env.admin()
    group = users.create_group(admin, {"name": "readers"})["id"]
    users.create_user(
        admin,
        {
            "email": USER_EMAIL,
            "name": "Reader",
            "password": USER_PASSWORD,
            "groups": [group],
            "profile": {"max_region": 50},
        },
    )
    doc = {"view": RULE, "fields": FIELD_RULES}
    manage.put_rights(admin, catalog.api_name, {"groups": {str(group): doc}})
    ws = env.workspace()
    token = auth.login(ws, USER_EMAIL, USER_PASSWORD)[0]
    return auth.actor_from_token(ws, token), token


# ----- the SQL a read runs, replayed on the raw driver ----------------------------------------
@contextmanager
def captured(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) sent to the driver inside the block."""
    import sqlalchemy as sa

    out: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SET")):
            out.append((statement, params))

    # A record's SELECT and a page's lookups by ids run on the driver past SQLAlchemy's
    # events (storage.kept, decisions 0025 and 0028), on PostgreSQL on libpq (0030).
    run, run_raw = KeptSelect._cursor, KeptSelect._raw_rows

    def kept_run(self: KeptSelect, conn: Any, value: Any) -> Any:
        params = self.params.copy()
        params[self.at] = value
        out.append((self.sql, params))
        return run(self, conn, value)

    def kept_raw(self: KeptSelect, conn: Any, value: Any) -> Any:
        rows = run_raw(self, conn, value)
        if rows is not None:
            params = self.params.copy()
            params[self.at] = value
            out.append((self.sql, params))
        return rows

    sa.event.listen(engine, "before_cursor_execute", grab)
    KeptSelect._cursor = kept_run  # type: ignore[method-assign]
    KeptSelect._raw_rows = kept_raw  # type: ignore[method-assign]
    try:
        yield out
    finally:
        KeptSelect._cursor = run  # type: ignore[method-assign]
        KeptSelect._raw_rows = run_raw  # type: ignore[method-assign]
        sa.event.remove(engine, "before_cursor_execute", grab)


def sql_replay(env: Env, statements: list[tuple[str, Any]]) -> tuple[Callable[[], None], Any]:
    """A function running the statements on one raw driver connection, rows fetched."""
    raw = env.workspace().engine.raw_connection()

    def run() -> None:
        cur = raw.cursor()
        for sql, params in statements:
            cur.execute(sql, params)
            cur.fetchall()
        cur.close()

    return run, raw


# ----- calling the ASGI app in process -----------------------------------------------------------
def asgi_caller(app: Any) -> Callable[[str, dict[str, str]], Awaitable[tuple[int, bytes]]]:
    """`await call(path_and_query, headers)` -> (status, body), straight into the app."""

    async def call(target: str, headers: dict[str, str]) -> tuple[int, bytes]:
        scope = get_scope(target, headers)
        sent = False
        status = 0
        body: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await app(scope, receive, send)
        return status, b"".join(body)

    return call


def bare_asgi(body: bytes) -> Any:
    """A Starlette app answering every path with `body` (the in-process baseline)."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def endpoint(_request: Any) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", endpoint)])


# ----- sampling ---------------------------------------------------------------------------------
#: Samples of one call: milliseconds of wall-clock time and of this process's CPU time.
Samples = dict[str, list[float]]


def _new() -> Samples:
    return {"wall": [], "cpu": []}


def interleaved(calls: dict[str, Callable[[], Any]], repeat: int) -> dict[str, Samples]:
    """Wall and CPU samples (ms) of every call, taken in turns so drift hits them alike.

    CPU time is the process's (every thread), so a loaded machine, which stretches the
    wall clock, changes it little; on SQLite it includes the database's work (in process),
    on PostgreSQL only the driver's side of it.
    """
    for fn in calls.values():
        for _ in range(5):
            fn()
    out = {name: _new() for name in calls}
    wall, cpu = time.perf_counter, time.process_time
    for _ in range(repeat):
        for name, fn in calls.items():
            w, c = wall(), cpu()
            fn()
            out[name]["cpu"].append((cpu() - c) * 1000)
            out[name]["wall"].append((wall() - w) * 1000)
    return out


async def interleaved_async(
    calls: dict[str, Callable[[], Awaitable[Any]]], repeat: int
) -> dict[str, Samples]:
    """`interleaved` for coroutines (the ASGI calls), in one event loop."""
    for fn in calls.values():
        for _ in range(5):
            await fn()
    out = {name: _new() for name in calls}
    wall, cpu = time.perf_counter, time.process_time
    for _ in range(repeat):
        for name, fn in calls.items():
            w, c = wall(), cpu()
            await fn()
            out[name]["cpu"].append((cpu() - c) * 1000)
            out[name]["wall"].append((wall() - w) * 1000)
    return out


def p50(samples: list[float]) -> float:
    """The median of millisecond samples."""
    return percentile(samples, 50)


# ----- a page of records ------------------------------------------------------------------------
def page_filter(i: int) -> dict[str, Any]:
    """The page's filter: one stage (they take turns, so no page is asked twice in a row)."""
    return {"stage": {"eq": STAGES[i % len(STAGES)]}}


def page_calls(
    env: Env, catalog: Any, actor: Any, headers: dict[str, str], call: Any, limit: int
) -> tuple[dict[str, Callable[[], Any]], dict[str, Callable[[], Awaitable[Any]]], Any, int]:
    """The calls measuring one page size: the service, its SQL replayed on the driver, the
    ASGI app and the bare ASGI app (plus the raw connection to close and the statements)."""
    from kartoteka.records import service

    spec = page_filter(0)

    def read() -> Any:
        return service.list_records(actor, catalog.id, spec, "name", limit)

    read()  # warm: the user names cache, compiled statements
    with captured(env.workspace().engine) as statements:
        page = read()
    assert len(page["items"]) == limit, len(page["items"])
    replay, raw = sql_replay(env, statements)
    query = urlencode({"filter": orjson.dumps(spec).decode(), "sort": "name", "limit": limit})
    target = f"/api/v1/catalogs/{catalog.id}/records?{query}"
    status, body = asyncio.run(call(target, headers))
    assert status == 200, body[:300]
    bare = asgi_caller(bare_asgi(body))
    sync = {f"service {limit}": read, f"sql {limit}": replay}
    asgi = {
        f"asgi {limit}": lambda: call(target, headers),
        f"bare {limit}": lambda: bare(target, {}),
    }
    return sync, asgi, raw, len(statements)


def measure_pages(
    env: Env, catalog: Any, who: dict[str, tuple[Any, str]], repeat: int, res: Results
) -> None:
    """Pages of 1 and 100 records: service and ASGI against the replayed SQL and bare ASGI;
    the four calls of each level interleaved, so the difference of the two sizes is fair."""
    from kartoteka.server import create_app

    call = asgi_caller(create_app(env.settings, env.instance))
    for name, (actor, token) in who.items():
        headers = {"Authorization": f"Bearer {token}"}
        sync: dict[str, Callable[[], Any]] = {}
        asgi: dict[str, Callable[[], Awaitable[Any]]] = {}
        raws, counts = [], {}
        for limit in (1, PAGE):
            s, a, raw, counts[limit] = page_calls(env, catalog, actor, headers, call, limit)
            sync.update(s)
            asgi.update(a)
            raws.append(raw)
        try:
            got = interleaved(sync, repeat)
            got.update(asyncio.run(interleaved_async(asgi, repeat)))
        finally:
            for raw in raws:
                raw.rollback()
                raw.close()
        for limit in (1, PAGE):
            report_page(res, env, name, limit, got, counts[limit])
        for level in ("service", "asgi"):
            report_costs(res, name, level, got)


def report_page(
    res: Results, env: Env, name: str, limit: int, got: dict[str, Samples], statements: int
) -> None:
    """Rows for one page size: its SQL, the service and the ASGI app (wall and CPU)."""
    sql, svc, asgi, bare = (got[f"{k} {limit}"] for k in ("sql", "service", "asgi", "bare"))
    label = f"page of {limit} ({name})"
    res.add(
        f"{label}: SQL replayed on the driver p50",
        p50(sql["wall"]),
        "ms",
        note=f"{statements} statement(s); CPU {p50(sql['cpu']):.2f} ms",
    )
    res.add(
        f"{label}: service p50",
        p50(svc["wall"]),
        "ms",
        p50(sql["wall"]),
        "SQL",
        note=f"CPU {p50(svc['cpu']):.2f} ms",
    )
    judged = limit == PAGE and env.database == "sqlite"
    res.add(
        f"{label}: ASGI app in process p50",
        p50(asgi["wall"]),
        "ms",
        p50(sql["wall"]),
        "SQL",
        "<= 4 ms end to end" if judged else "",
        p50(asgi["wall"]) <= 4 if judged else None,
        f"CPU {p50(asgi['cpu']):.2f} ms; bare ASGI app, same bytes: {p50(bare['wall']):.3f} ms",
    )


def report_costs(res: Results, name: str, level: str, got: dict[str, Samples]) -> None:
    """Fixed cost per request and cost per record beyond the SQL, from CPU time: (page of
    100 - page of 1) / 99 per record, the page of 1 less one record as the fixed part."""
    beyond = {
        limit: p50(got[f"{level} {limit}"]["cpu"]) - p50(got[f"sql {limit}"]["cpu"])
        for limit in (1, PAGE)
    }
    per_record = (beyond[PAGE] - beyond[1]) / (PAGE - 1)
    fixed = beyond[1] - per_record
    where = "service" if level == "service" else "ASGI app"
    res.add(
        f"{name}, {where}: fixed cost per request beyond SQL (CPU)",
        fixed,
        "ms",
        target="<= 1 ms",
        ok=fixed <= 1,
    )
    res.add(
        f"{name}, {where}: cost per record beyond SQL (CPU)",
        per_record * 1000,
        "us",
        target="<= 15 us",
        ok=per_record * 1000 <= 15,
    )


# ----- a single record -------------------------------------------------------------------------
def measure_get_in_process(
    env: Env,
    catalog: Any,
    who: dict[str, tuple[Any, str]],
    record_id: int,
    repeat: int,
    res: Results,
) -> None:
    """One GET by id: service and ASGI against the replayed SQL and a bare ASGI app."""
    from kartoteka.records import service
    from kartoteka.server import create_app

    call = asgi_caller(create_app(env.settings, env.instance))
    target = f"/api/v1/catalogs/{catalog.id}/records/{record_id}"
    for name, (actor, token) in who.items():
        headers = {"Authorization": f"Bearer {token}"}

        def read(actor: Any = actor) -> Any:
            return service.get_record(actor, catalog.id, record_id)

        read()
        with captured(env.workspace().engine) as statements:
            read()
        replay, raw = sql_replay(env, statements)
        status, body = asyncio.run(call(target, headers))
        assert status == 200, body[:300]
        bare = asgi_caller(bare_asgi(body))
        try:
            got = interleaved({"service": read, "sql": replay}, repeat)
            asgi = {"asgi": lambda h=headers: call(target, h), "bare": lambda b=bare: b(target, {})}
            got.update(asyncio.run(interleaved_async(asgi, repeat)))
        finally:
            raw.rollback()
            raw.close()
        sql = got["sql"]
        res.add(
            f"GET one record ({name}): SQL replayed p50",
            p50(sql["wall"]),
            "ms",
            note=f"{len(statements)} statement(s); CPU {p50(sql['cpu']):.3f} ms",
        )
        for key, label in (("service", "service"), ("asgi", "ASGI app in process")):
            res.add(
                f"GET one record ({name}): {label} p50",
                p50(got[key]["wall"]),
                "ms",
                p50(got["bare"]["wall"]) if key == "asgi" else None,
                "bare ASGI" if key == "asgi" else "",
                note=f"CPU {p50(got[key]['cpu']):.3f} ms",
            )


def db_backends(env: Env, since: float) -> set[int]:
    """PostgreSQL backends of this benchmark's database started at or after `since` (Unix
    time): the server's, not this process's own pooled connections, which are older and
    would otherwise be counted whole when one shows up for the first time."""
    import sqlalchemy as sa

    with env.workspace().engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT pid, extract(epoch FROM backend_start) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    return {int(pid) for pid, start in rows if float(start) >= since}


def measure_get_http(
    env: Env, catalog: Any, token: str, record_id: int, seconds: float, res: Results
) -> None:
    """Requests/s of one GET by id against bare Starlette, both on uvicorn with 2 workers;
    rounds alternate between the two servers so drift hits both alike. Besides the rates,
    the CPU time each server's processes (and, on PostgreSQL, the database backends
    serving ours) spent per request, which a loaded machine distorts far less."""
    import httpx

    path = f"/api/v1/catalogs/{catalog.id}/records/{record_id}"
    headers = {"Authorization": f"Bearer {token}"}
    port, bare_port = free_port(), free_port()
    srv_env = env.server_env()
    app_cmd = uvicorn_cmd("kartoteka.server:create_app", port, ["--factory"])
    pg = env.database == "postgresql"
    cpu = {"ours": 0.0, "bare": 0.0, "db": 0.0}
    served = {"ours": 0.0, "bare": 0.0}
    rounds = []
    served_since = time.time()  # backends older than the server are this process's own
    with server(app_cmd, srv_env, port) as ours_proc:
        url = f"http://127.0.0.1:{port}{path}"
        body = httpx.get(url, headers=headers).text
        bare_cmd = uvicorn_cmd("bench_http:bare_app", bare_port, ["--app-dir", str(HERE)])
        with server(bare_cmd, dict(srv_env, BENCH_BARE_BODY=body), bare_port) as bare_proc:
            bare_url = f"http://127.0.0.1:{bare_port}/record"
            load(url, headers, 2)
            load(bare_url, {}, 2)
            groups = {"ours": ours_proc.pid, "bare": bare_proc.pid}
            # How long each round of load runs (wrk takes whole seconds).
            duration = max(1, round(seconds / 3)) if shutil.which("wrk") else seconds / 3
            for _ in "abc":
                pair = []
                for name, target, hdrs in (("ours", url, headers), ("bare", bare_url, {})):
                    watch_db = pg and name == "ours"
                    backends = db_backends(env, served_since) if watch_db else set()
                    srv0, db0 = cpu_of(groups[name]), cpu_of(pids=backends)
                    got = load(target, hdrs, seconds / 3)
                    if watch_db:  # connections opened during the round count whole
                        backends |= db_backends(env, served_since)
                    cpu[name] += spent(srv0, cpu_of(groups[name]))
                    cpu["db"] += spent(db0, cpu_of(pids=backends))
                    served[name] += got["rps"] * duration
                    pair.append(got)
                rounds.append(pair)
    ours = sum(r[0]["rps"] for r in rounds) / 3
    bare = sum(r[1]["rps"] for r in rounds) / 3
    errors = sum(r[0]["errors"] for r in rounds)
    res.add(
        "GET one record over HTTP, bearer (2 workers, 32 connections)",
        ours,
        "req/s",
        bare,
        "bare Starlette",
        ">= 0.25x bare",
        ours >= 0.25 * bare and not errors,
        f"errors: {int(errors)}; p50 {max(r[0]['p50'] for r in rounds):.2f} ms vs "
        f"{max(r[1]['p50'] for r in rounds):.2f} ms",
    )
    per = {k: cpu[k] / served[k] * 1e6 if served[k] else 0.0 for k in served}
    res.add(
        "GET one record over HTTP: server CPU per request",
        per["ours"],
        "us",
        per["bare"],
        "bare Starlette",
        note="user+system CPU of the uvicorn processes / requests served (load-independent)",
    )
    if pg:
        share = cpu["db"] / (cpu["db"] + cpu["ours"]) if cpu["ours"] else 0.0
        res.add(
            "GET one record over HTTP: PostgreSQL backends' CPU per request",
            cpu["db"] / served["ours"] * 1e6 if served["ours"] else 0.0,
            "us",
            note=f"the database server's share of the CPU the GETs used: {share:.0%}",
        )


def main() -> None:
    """Seed, measure, print."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--no-http", action="store_true", help="in-process measures only")
    args = p.parse_args()
    n = 20_000
    repeat = 100 if args.quick else 400
    seconds = 3 if args.quick else 12
    with environment(args.database_url) as env:
        catalog = seed(env, n)
        user, user_token = reader(env, catalog)
        who = {"administrator": (env.admin(), env.token()), "reader with rules": (user, user_token)}
        from kartoteka.records import service

        record_id = service.list_records(user, catalog.id, None, "-id", 1)["items"][0]["id"]
        tool = "wrk" if shutil.which("wrk") else "httpx asyncio load generator"
        res = Results(
            "bench_read",
            env.database,
            {
                "records": n,
                "fields": 20,
                "page": PAGE,
                "repeat": repeat,
                "http": "off" if args.no_http else f"{tool}, 32 connections, {seconds} s",
            },
        )
        measure_pages(env, catalog, who, repeat, res)
        measure_get_in_process(env, catalog, who, record_id, repeat, res)
        if not args.no_http:
            measure_get_http(env, catalog, who["administrator"][1], record_id, seconds, res)
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
