"""List: filter on an indexed field + sort + a page of 100 records x 20 fields.

Targets on a 1,000,000-record catalog: p50 <= 30 ms and p99 <= 100 ms server-side;
a cursor page deep in the list (page 5,000) as fast as page 1; server RSS while
serving the catalog <= 250 MB. Measured three ways: the service function, the ASGI
app in-process (httpx ASGITransport) and over loopback HTTP (uvicorn, 2 workers).
Baseline in the same run: the same query as hand-written SQL on the raw driver.
Seeding goes straight into the catalog table with COPY/executemany (not measured).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from common import (
    Env,
    Results,
    create_catalog,
    environment,
    free_port,
    parser,
    seed_table,
    server,
    summary,
    timed,
    tree_rss,
)

PAGE = 100
STAGES = ["Lead", "Qualified", "Proposal", "Won", "Lost"]
PRIORITIES = ["Low", "Normal", "High"]
WORDS = [
    *("alpha", "beta", "gamma", "delta", "epsilon", "zeta"),
    *("eta", "theta", "iota", "kappa", "lambda", "omicron"),
]


def catalog_spec() -> dict[str, Any]:
    """20 fields of mixed types; `region` and `amount` are indexed."""

    def f(name: str, type_: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "api_name": name, "type": type_, **extra}

    return {
        "name": "Bench list",
        "api_name": "bench_list",
        "fields": [
            f("name", "text"),
            f("region", "number", indexed=True),
            f("amount", "money", indexed=True),
            f("score", "number"),
            f("qty", "number"),
            f("rate", "number", options={"decimals": 2}),
            f("due", "date"),
            f("opened", "datetime"),
            f("active", "checkbox"),
            f("stage", "select", options={"choices": [{"label": s} for s in STAGES]}),
            f("email", "email"),
            f("city", "text"),
            f("street", "text"),
            f("notes", "long_text"),
            f("phone_text", "text"),
            f("priority", "select", options={"choices": [{"label": s} for s in PRIORITIES]}),
            f("budget", "money"),
            f("weight", "number", options={"decimals": 2}),
            f("start", "date"),
            f("site", "url"),
        ],
    }


def raw_rows(catalog: Any, n: int) -> Iterator[tuple[Any, ...]]:
    """n rows as stored values: system columns, then the 20 field columns in spec order."""
    rnd = random.Random(7)
    stage_ids = [c["id"] for c in catalog.by_api_name["stage"].options["choices"]]
    prio_ids = [c["id"] for c in catalog.by_api_name["priority"].options["choices"]]
    now = datetime(2025, 6, 1, 12, 0, 0)
    d0 = date(2024, 1, 1)
    for i in range(n):
        r = rnd.random()
        yield (
            now,
            now,
            1,
            1,
            f"Record {i}",
            i % 100,
            int(r * 10_000_000),
            (i * 7919) % 100_000,
            i % 500,
            round(r * 100, 2),
            d0 + timedelta(days=i % 700),
            now - timedelta(minutes=i),
            i % 3 == 0,
            stage_ids[i % len(stage_ids)],
            f"user{i}@example.com",
            WORDS[i % 12].title(),
            f"{WORDS[(i * 5) % 12]} street {i % 300}",
            f"note {WORDS[i % 12]} {WORDS[(i * 3) % 12]}",
            f"+4930{i:08d}",
            prio_ids[i % 3],
            (i * 31) % 1_000_000,
            round(r * 50, 2),
            d0 + timedelta(days=i % 365),
            f"https://example.com/{i}",
        )


def seed(env: Env, n: int) -> Any:
    """Create the catalog through the service, then bulk-load n rows into its table."""
    from kartoteka.catalogs import service as catalogs

    catalog = create_catalog(env, catalog_spec())
    columns = [f.column for f in catalog.fields]
    start = time.perf_counter()
    seed_table(env, catalog, columns, raw_rows(catalog, n))
    print(f"seeded {n:,} rows in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    catalogs.invalidate(env.workspace())
    return catalog


def scenarios(amount_floor: str) -> dict[str, dict[str, Any]]:
    """Named list queries (filter + sort); region varies per call."""
    return {
        "region eq + sort -id": {"filter": lambda r: {"region": {"eq": r}}, "sort": "-id"},
        "amount >= x + sort amount": {
            "filter": lambda r: {"amount": {"gte": amount_floor}},
            "sort": "amount",
        },
        "region eq + sort -score (not indexed)": {
            "filter": lambda r: {"region": {"eq": r}},
            "sort": "-score",
        },
    }


def deep_cursor(env: Env, catalog: Any, page: int) -> str:
    """The cursor that opens page `page` of `sort=amount` (built from the row before it)."""
    import sqlalchemy as sa

    from kartoteka.records import query

    t = catalog.table
    col = t.c[catalog.by_api_name["amount"].column]
    q = sa.select(col, t.c.id).order_by(col, t.c.id).offset(PAGE * (page - 1) - 1).limit(1)
    with env.workspace().engine.connect() as conn:
        amount, rid = conn.execute(q).one()
    # The cursor names its sort (ascending amount, then id), as the service's own does.
    return query.encode_cursor([amount, rid], [(col, False), (t.c.id, False)])


def raw_baseline(env: Env, catalog: Any, repeat: int) -> dict[str, float]:
    """Baseline latencies: the region query as hand-written SQL on the raw driver."""
    run, raw = raw_sql(env, catalog)
    try:
        nxt = cycle(list(range(100)))
        return summary(timed(lambda: run(nxt()), repeat))
    finally:
        raw.rollback()  # an open read transaction would block DROP SCHEMA on PostgreSQL
        raw.close()


def raw_sql(env: Env, catalog: Any) -> tuple[Callable[[int], None], Any]:
    """The region query as hand-written SQL on a raw driver connection, rows fetched."""
    region = catalog.by_api_name["region"].column
    ph = "%s" if env.database == "postgresql" else "?"
    table = catalog.table.name
    sql = f"SELECT * FROM {table} WHERE {region} = {ph} ORDER BY id DESC LIMIT {PAGE + 1}"
    raw = env.workspace().engine.raw_connection()

    def run(r: int) -> None:
        cur = raw.cursor()
        cur.execute(sql, (r,))
        cur.fetchall()
        cur.close()

    return run, raw


def service_call(env: Env, catalog: Any) -> Callable[..., dict[str, Any]]:
    """A list_records call bound to an administrator."""
    from kartoteka.records import service

    actor = env.admin()

    def run(filter: Any = None, sort: str | None = None, cursor: str | None = None) -> Any:
        out = service.list_records(actor, catalog.id, filter, sort, PAGE, cursor)
        assert len(out["items"]) == PAGE, len(out["items"])
        return out

    return run


def cycle(values: list[int]) -> Callable[[], int]:
    """Next region on every call (so the same page is not asked twice in a row)."""
    state = {"i": 0}

    def nxt() -> int:
        state["i"] += 1
        return values[state["i"] % len(values)]

    return nxt


def measure_service(
    env: Env, catalog: Any, repeat: int, res: Results, deep: str, deep_page: int
) -> dict[str, float]:
    """Service-level latencies of every scenario plus page 1 vs the deep page."""
    call = service_call(env, catalog)
    nxt = cycle(list(range(100)))
    out = {}
    for name, sc in scenarios("50000.00").items():
        s = summary(timed(lambda sc=sc: call(sc["filter"](nxt()), sc["sort"]), repeat))
        out[name] = s["p50"]
        judged = "not indexed" not in name
        res.add(
            f"service: {name} p50",
            s["p50"],
            "ms",
            target="<= 30 ms",
            ok=s["p50"] <= 30 if judged else None,
        )
        res.add(
            f"service: {name} p99",
            s["p99"],
            "ms",
            target="<= 100 ms",
            ok=s["p99"] <= 100 if judged else None,
        )
    first = summary(timed(lambda: call(None, "amount"), repeat))["p50"]
    far = summary(timed(lambda: call(None, "amount", deep), repeat))["p50"]
    res.add("service: sort amount, page 1 p50", first, "ms")
    res.add(
        f"service: sort amount, cursor page {deep_page:,} p50",
        far,
        "ms",
        first,
        "page 1",
        "<= 1.5x page 1",
        far <= max(1.5 * first, first + 2),
    )
    return out


async def measure_asgi(env: Env, catalog: Any, repeat: int, res: Results) -> None:
    """The region scenario through the whole ASGI app in-process."""
    import httpx
    import orjson

    from kartoteka.server import create_app

    app = create_app(env.settings, env.instance)
    headers = {"Authorization": f"Bearer {env.token()}"}
    nxt = cycle(list(range(100)))
    url = f"/api/v1/catalogs/{catalog.id}/records"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://b", headers=headers
    ) as client:
        samples = []
        for i in range(repeat + 3):
            params = {
                "filter": orjson.dumps({"region": {"eq": nxt()}}).decode(),
                "sort": "-id",
                "limit": PAGE,
            }
            start = time.perf_counter()
            r = await client.get(url, params=params)
            if i >= 3:
                samples.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200, r.text[:300]
    s = summary(samples)
    res.add(
        "ASGI in-process: region eq + sort -id p50",
        s["p50"],
        "ms",
        target="<= 30 ms",
        ok=s["p50"] <= 30,
    )
    res.add(
        "ASGI in-process: region eq + sort -id p99",
        s["p99"],
        "ms",
        target="<= 100 ms",
        ok=s["p99"] <= 100,
    )


def measure_http(env: Env, catalog: Any, repeat: int, res: Results, deep: str) -> None:
    """Loopback HTTP against uvicorn with 2 workers; RSS of the server tree afterwards."""
    import httpx
    import orjson

    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "kartoteka.server:create_app",
        "--factory",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    token = env.token()
    with server(cmd, env.server_env(), port) as proc:
        base = f"http://127.0.0.1:{port}/api/v1/catalogs/{catalog.id}/records"
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            nxt = cycle(list(range(100)))
            samples = []
            for i in range(repeat + 6):
                params = {
                    "filter": orjson.dumps({"region": {"eq": nxt()}}).decode(),
                    "sort": "-id",
                    "limit": PAGE,
                }
                start = time.perf_counter()
                r = client.get(base, params=params)
                if i >= 6:
                    samples.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200, r.text[:300]
            for _ in range(20):  # touch the deep end too before reading memory
                client.get(base, params={"sort": "amount", "limit": PAGE, "cursor": deep})
            total, largest = tree_rss(proc.pid)
    s = summary(samples)
    res.add("HTTP loopback: region eq + sort -id p50", s["p50"], "ms", note="client-side")
    res.add("HTTP loopback: region eq + sort -id p99", s["p99"], "ms", note="client-side")
    res.add(
        "server RSS, 2 workers + supervisor (total)",
        total,
        "MB",
        target="<= 250 MB",
        ok=total <= 250,
    )
    res.add("server RSS, largest process", largest, "MB")


def main() -> None:
    """Seed, measure, print the table."""
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = 20_000 if args.quick else 1_000_000
    repeat = 50 if args.quick else 200
    deep_page = 100 if args.quick else 5_000
    with environment(args.database_url) as env:
        catalog = seed(env, n)
        res = Results(
            "bench_list", env.database, {"records": n, "page": PAGE, "fields": 20, "repeat": repeat}
        )
        deep = deep_cursor(env, catalog, deep_page)
        base = raw_baseline(env, catalog, repeat)
        res.add("raw SQL: region eq + sort -id p50 (baseline)", base["p50"], "ms")
        measure_service(env, catalog, repeat, res, deep, deep_page)
        asyncio.run(measure_asgi(env, catalog, repeat, res))
        measure_http(env, catalog, repeat, res, deep)
        for row in res.rows:
            if row.name.endswith("region eq + sort -id p50") and not row.name.startswith("raw"):
                row.baseline, row.baseline_name = base["p50"], "raw SQL"
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
