"""Full-text search (issue 13): search latency beside LIKE scans, index rebuild rate,
the indexing cost on batch create, and case folding on SQLite (function vs shadow column).

`--catalogs N` (the issue's workspace measure: `--catalogs 10 --records 300000`, 3M
records) seeds N such catalogs instead, rebuilds their indexes with the rebuild command's
code, and measures `GET /api/v1/search?q=` in process (the whole HTTP stack, no socket).

Records: 5 text-like fields of Russian and English words in various forms (generated
from word lists with a fixed seed, no Faker). The baselines are measured in the same
run: the same words as `icontains` filters (a `LIKE '%…%'` scan over the 5 fields),
batch creates with the index hook switched off, and plain `lower()` on SQLite.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from common import Env, Results, environment, parser, percentile, seed_table, timed

RU = (  # noqa: SIM905 - a word list reads better as text
    "договор договоры договора поставка поставки поставок ромашка ромашки ромашкой "
    "клиент клиента клиенты счёт счета оплата оплаты склад склада аренда аренды "
    "москва москве тверь тверской василёк васильки ёлка ёлки цветы цветов контракт "
    "сделка сделки звонок звонки встреча встречи задача задачи проект проекта "
).split()
EN = (  # noqa: SIM905
    "contract contracts supply supplies daisy client clients invoice invoices "
    "payment warehouse rent boston london flower flowers deal deals call meeting "
    "task project running delivery deliveries order orders"
).split()
COMPANIES = ["ООО Ромашка", "ЗАО Василёк", "Acme Corp", "ИП Ёлкин", "Globex", "ООО Тверь-Трейд"]
REGIONS = ["North", "South", "East", "West"]
FIELDS = ["name", "company", "note", "email", "city"]
QUERIES = {
    "one word (договоры)": ("договоры", "договор"),
    "prefix (Ромаш*)": ("Ромаш*", "ромаш"),
    'phrase ("договор поставки")': ('"договор поставки"', "договор поставки"),
    "two words (москва сделка)": ("москва сделка", "москв"),
    "English (contracts)": ("contracts", "contract"),
    "rare word (васильки)": ("васильки", "васильк"),
}
PAGE = 20


def create_catalog(env: Env, name: str = "Docs") -> Any:
    """Docs: five searchable fields and a select the restricted user's rule reads."""
    from kartoteka.catalogs import service as catalogs

    return catalogs.create_catalog(
        env.admin(),
        {
            "name": name,
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Company", "api_name": "company", "type": "text"},
                {"name": "Note", "api_name": "note", "type": "long_text"},
                {"name": "Email", "api_name": "email", "type": "email"},
                {"name": "City", "api_name": "city", "type": "text"},
                {"name": "Region", "api_name": "region", "type": "select", "indexed": True,
                 "options": {"choices": REGIONS}},
            ],
        },
    )  # fmt: skip


def values(rnd: random.Random) -> dict[str, Any]:
    """One record's values."""
    words = RU if rnd.random() < 0.7 else EN
    return {
        "name": " ".join(rnd.choice(words) for _ in range(3)).capitalize(),
        "company": rnd.choice(COMPANIES),
        "note": " ".join(rnd.choice(words) for _ in range(rnd.randint(8, 20))),
        "email": f"{rnd.choice(EN)}{rnd.randint(1, 999)}@example.com",
        "city": rnd.choice(["Москва", "Тверь", "Boston", "London"]),
        "region": rnd.choice(REGIONS),
    }


def seed(env: Env, catalog: Any, n: int, seed_value: int = 13) -> None:
    """Rows straight into the table (not the measured path)."""
    rnd = random.Random(seed_value)
    fields = [catalog.by_api_name[k] for k in FIELDS]
    region = catalog.by_api_name["region"]
    choice = {c["label"]: c["id"] for c in region.options["choices"]}
    now = datetime(2026, 12, 1)

    def rows() -> Iterator[tuple[Any, ...]]:
        for _ in range(n):
            v = values(rnd)
            yield (now, now, None, None, *[v[f.api_name] for f in fields], choice[v["region"]])

    columns = [f.column for f in fields] + [region.column]
    seed_table(env, catalog, columns, rows())


def restricted(env: Env, catalogs: tuple[str, ...] = ("docs",)) -> Any:
    """A user whose rule is region = North (a quarter of the records) in these catalogs."""
    from kartoteka.auth import service as auth
    from kartoteka.rights import service as manage
    from kartoteka.users import service as users

    admin = env.admin()
    group = users.create_group(admin, {"name": "north"})["id"]
    users.create_user(
        admin,
        {"email": "n@bench.example", "name": "N", "password": "bench-pw-123", "groups": [group]},
    )
    rule = {"view": {"region": {"eq": "North"}}}
    for catalog in catalogs:
        manage.put_rights(admin, catalog, {"groups": {str(group): rule}})
    ws = env.workspace()
    return auth.actor_from_token(ws, auth.login(ws, "n@bench.example", "bench-pw-123")[0])


def like_filter(word: str) -> dict[str, Any]:
    """The same word as a LIKE scan over the five fields."""
    return {"or": [{f: {"icontains": word}} for f in FIELDS]}


def measure_rebuild(env: Env, res: Results, n: int) -> None:
    """Full rebuild of the index (what `kartoteka search rebuild` runs)."""
    from kartoteka.search import index

    start, cpu = time.perf_counter(), time.process_time()
    index.rebuild(env.workspace(), "docs")
    rate = n / (time.perf_counter() - start)
    per_cpu = n / (time.process_time() - cpu)
    note = f"{per_cpu:,.0f} per CPU-second of this process; load {os.getloadavg()[0]:.1f}"
    res.add(
        "rebuild the index", rate, "records/s", target=">= 20,000", ok=rate >= 20_000, note=note
    )


def measure_queries(env: Env, res: Results, user: Any, repeat: int) -> None:
    """Search p50/p99 as administrator and restricted user, beside the LIKE scan."""
    from kartoteka.records import service as records

    admin = env.admin()
    for name, (query, word) in QUERIES.items():
        for who, actor in (("admin", admin), ("rule", user)):
            fts = timed(
                lambda a=actor, q=query: records.list_records(a, "docs", search=q, limit=PAGE),
                repeat,
            )
            scan = timed(
                lambda a=actor, w=word: records.list_records(a, "docs", like_filter(w), limit=PAGE),
                max(3, repeat // 10),
            )
            p50, p99 = percentile(fts, 50), percentile(fts, 99)
            res.add(
                f"{name}, {who}: page of {PAGE}",
                p50,
                "ms p50",
                percentile(scan, 50),
                "LIKE scan p50",
                "p50 <= 50, p99 <= 200",
                p50 <= 50 and p99 <= 200,
                f"p99 {p99:.1f} ms",
            )
    counted = timed(
        lambda: records.list_records(admin, "docs", search="договор", count=True, limit=PAGE),
        max(3, repeat // 5),
    )
    scan = timed(
        lambda: records.list_records(admin, "docs", like_filter("договор"), count=True, limit=PAGE),
        3,
    )
    res.add(
        "договор with count",
        percentile(counted, 50),
        "ms p50",
        percentile(scan, 50),
        "LIKE scan + count",
    )


def measure_workspace(env: Env, res: Results, user: Any, repeat: int) -> None:
    """GET /search's service over every catalog (Docs plus two small ones)."""
    from kartoteka.search import service as search

    for who, actor in (("admin", env.admin()), ("rule", user)):
        s = timed(lambda a=actor: search.search_workspace(a, "ромашка договор"), repeat)
        res.add(f"workspace search, {who}", percentile(s, 50), "ms p50", target="p50 <= 150",
                ok=percentile(s, 50) <= 150, note=f"p99 {percentile(s, 99):.1f} ms")  # fmt: skip


WORKSPACE_QUERIES = {
    "two words (ромашка договор)": "ромашка договор",
    "one word (договоры)": "договоры",
    "prefix (Ромаш*)": "Ромаш*",
    "rare word (васильки)": "васильки",
}


def measure_workspace_http(env: Env, res: Results, catalogs: int, repeat: int) -> None:
    """`GET /api/v1/search?q=` over every catalog, as administrator and restricted user."""
    import asyncio
    from urllib.parse import quote

    from bench_read import asgi_caller

    from kartoteka.auth import service as auth
    from kartoteka.server import create_app

    ws = env.workspace()
    user_token = auth.login(ws, "n@bench.example", "bench-pw-123")[0]
    call = asgi_caller(create_app(env.settings, env.instance))
    loop = asyncio.new_event_loop()
    try:
        for name, text in WORKSPACE_QUERIES.items():
            for who, token in (("admin", env.token()), ("rule", user_token)):
                headers = {"authorization": f"Bearer {token}"}
                target = f"/api/v1/search?q={quote(text)}"

                def get(t: str = target, h: dict[str, str] = headers) -> None:
                    status, body = loop.run_until_complete(call(t, h))
                    if status != 200:
                        raise RuntimeError(f"{t}: {status} {body[:300]!r}")

                cpu = time.process_time()
                s = timed(get, repeat)
                cpu_ms = (time.process_time() - cpu) * 1000 / (repeat + 3)  # with the warmup
                p50, p99 = percentile(s, 50), percentile(s, 99)
                note = f"p99 {p99:.1f} ms; CPU {cpu_ms:.1f} ms per request"
                res.add(f"GET /search {name}, {who} ({catalogs} catalogs)", p50, "ms p50",
                        target="p50 <= 150", ok=p50 <= 150, note=note)  # fmt: skip
    finally:
        loop.close()


def workspace_main(env: Env, n: int, catalogs: int, repeat: int, json_path: Any) -> None:
    """Seed `catalogs` catalogs of `n` records, rebuild every index, measure GET /search."""
    from kartoteka.search import index

    names = tuple(f"docs_{i}" for i in range(1, catalogs + 1))
    start = time.perf_counter()
    for i in range(1, catalogs + 1):
        seed(env, create_catalog(env, f"Docs {i}"), n, 13 + i)
    print(
        f"seeded {catalogs} x {n:,} records in {time.perf_counter() - start:.1f}s", file=sys.stderr
    )
    total = catalogs * n
    res = Results(
        "bench_search", env.database, {"catalogs": catalogs, "records": total, "fields": 5}
    )
    start, cpu = time.perf_counter(), time.process_time()
    index.rebuild(env.workspace())
    rate = total / (time.perf_counter() - start)
    per_cpu = total / (time.process_time() - cpu)
    note = f"{per_cpu:,.0f} per CPU-second of this process; load {os.getloadavg()[0]:.1f}"
    res.add(
        "rebuild every index", rate, "records/s", target=">= 20,000", ok=rate >= 20_000, note=note
    )
    if env.database == "postgresql":
        with env.workspace().engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    restricted(env, names)
    measure_workspace_http(env, res, catalogs, repeat)
    res.print()
    res.write(json_path)


def measure_batch_cost(env: Env, res: Results, batches: int) -> None:
    """Batch create of 100 and of 1000 records with and without the index hook,
    alternating; wall p50 decides, the process's CPU time is printed beside it (on a
    loaded machine the wall swings by tens of percent between two runs of the same code;
    on SQLite the CPU is the whole write)."""
    from kartoteka.records import hooks
    from kartoteka.records import service as records
    from kartoteka.records.requests import BatchRequest
    from kartoteka.search import index

    rnd = random.Random(7)
    admin = env.admin()
    for size in (100, 1000):
        wall: dict[bool, list[float]] = {True: [], False: []}
        cpu: dict[bool, list[float]] = {True: [], False: []}
        for i in range(batches * 2 + 2):  # the first pair warms up, not counted
            body = BatchRequest.creating([values(rnd) for _ in range(size)])
            on = i % 2 == 0
            if not on:
                hooks.in_transaction.remove(index.on_write)
            t, c = time.perf_counter(), time.process_time()
            try:
                records.batch(admin, "docs", body)
            finally:
                if not on:
                    hooks.in_transaction.append(index.on_write)
            if i >= 2:
                wall[on].append((time.perf_counter() - t) * 1000)
                cpu[on].append((time.process_time() - c) * 1000)
        a, b = percentile(wall[True], 50), percentile(wall[False], 50)
        ca, cb = percentile(cpu[True], 50), percentile(cpu[False], 50)
        note = f"{a / b - 1:+.0%}; CPU {ca:.1f} vs {cb:.1f} ms ({ca / cb - 1:+.0%})"
        res.add(f"batch create {size}, index kept in step", a, "ms p50", b,
                "without the index", "<= +15%", a <= b * 1.15, note)  # fmt: skip


def measure_folding(env: Env, res: Results, catalog: Any, repeat: int) -> None:
    """SQLite: kt_fold() scan vs ASCII lower() vs a stored folded shadow column."""
    if env.database != "sqlite":
        return
    raw = env.workspace().engine.raw_connection()
    try:
        cur = raw.cursor()
        table = catalog.table.name
        col = catalog.by_api_name["note"].column
        cur.execute(f"ALTER TABLE {table} ADD COLUMN shadow TEXT")
        cur.execute(f"UPDATE {table} SET shadow = kt_fold({col}, 1)")
        cur.execute(f"CREATE INDEX {table}_shadow ON {table} (shadow)")
        cur.execute(f"CREATE INDEX {table}_fold ON {table} (kt_fold({col}, 1))")
        raw.commit()

        def run(sql: str, *params: Any) -> Callable[[], Any]:
            return lambda: cur.execute(sql, params).fetchall()

        count = f"SELECT count(*) FROM {table} WHERE"
        folded = f"kt_fold({col}, 1)"
        cases = {
            "icontains: kt_fold(col) LIKE": run(f"{count} {folded} LIKE ?", "%ромашк%"),
            "icontains: shadow LIKE": run(f"{count} shadow LIKE ?", "%ромашк%"),
            "istartswith: kt_fold index range": run(
                f"{count} {folded} >= ? AND {folded} < ?", "ромашк", "ромашл"
            ),
            "istartswith: shadow index range": run(
                f"{count} shadow >= ? AND shadow < ?", "ромашк", "ромашл"
            ),
        }
        baseline = percentile(
            timed(
                run(f"SELECT count(*) FROM {table} WHERE lower({col}) LIKE ?", "%ромашк%"), repeat
            ),
            50,
        )
        for name, fn in cases.items():
            res.add(
                f"fold, {name}",
                percentile(timed(fn, repeat), 50),
                "ms p50",
                baseline,
                "ASCII lower() LIKE (wrong on Cyrillic)",
            )
        cur.execute(f"DROP INDEX {table}_shadow")
        cur.execute(f"DROP INDEX {table}_fold")
        raw.commit()
    finally:
        raw.close()


def main() -> None:
    """Seed, index, measure, print."""
    from kartoteka.catalogs import service as catalogs

    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--records", type=int, default=None, help="records to seed (1,000,000: the issue's size)"
    )
    p.add_argument("--repeat", type=int, default=None, help="runs of each query")
    p.add_argument(
        "--catalogs",
        type=int,
        default=0,
        help="the workspace measure: this many catalogs of --records each (10: the issue's)",
    )
    args = p.parse_args()
    n = args.records or (10_000 if args.quick else 100_000)
    repeat = args.repeat or (20 if args.quick else 50)
    if args.catalogs:
        with environment(args.database_url) as env:
            workspace_main(env, n, args.catalogs, repeat, args.json)
        return
    with environment(args.database_url) as env:
        catalog = create_catalog(env)
        start = time.perf_counter()
        seed(env, catalog, n)
        print(f"seeded {n:,} records in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        res = Results("bench_search", env.database, {"records": n, "fields": 5, "page": PAGE})
        measure_rebuild(env, res, n)
        for name in ("Notes", "Tasks"):
            catalogs.create_catalog(
                env.admin(), {"name": name, "fields": [{"name": "Text", "type": "text"}]}
            )
        if env.database == "postgresql":
            with env.workspace().engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        user = restricted(env)
        measure_queries(env, res, user, repeat)
        measure_workspace(env, res, user, repeat)
        measure_folding(env, res, catalog, max(3, repeat // 10))
        measure_batch_cost(env, res, 4 if args.quick else 8)
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
