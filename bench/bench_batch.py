"""Batch API: create records through `POST .../records/batch`, 1000 per request.

Target: >= 10,000 records/s on SQLite. Baseline in the same run: the raw driver
(`sqlite3` / psycopg `executemany`) inserting the same rows and links, committing
every 1000 rows like the API does.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from datetime import date, timedelta
from typing import Any

from common import Env, Results, create_catalog, environment, parser

BATCH = 1000
STAGES = ["Lead", "Qualified", "Proposal", "Won", "Lost"]
WORDS = [
    *("alpha", "beta", "gamma", "delta", "epsilon", "zeta"),
    *("eta", "theta", "iota", "kappa", "lambda", "omicron"),
]


def catalog_specs() -> tuple[dict[str, Any], dict[str, Any]]:
    """A link target and a catalog with 10 fields of mixed types plus one link."""
    companies = {
        "name": "Bench companies",
        "api_name": "bench_companies",
        "fields": [{"name": "Name", "type": "text"}],
    }
    deals = {
        "name": "Bench deals",
        "api_name": "bench_deals",
        "fields": [
            {"name": "Deal", "api_name": "deal", "type": "text"},
            {"name": "Description", "type": "long_text"},
            {"name": "Amount", "type": "money", "options": {"currency": "EUR"}},
            {"name": "Quantity", "type": "number"},
            {"name": "Rate", "type": "number", "options": {"decimals": 2}},
            {"name": "Close date", "api_name": "close_date", "type": "date"},
            {"name": "Contacted", "type": "datetime"},
            {"name": "Won", "type": "checkbox"},
            {
                "name": "Stage",
                "type": "select",
                "options": {"choices": [{"label": s} for s in STAGES]},
            },
            {"name": "Email", "type": "email"},
            {"name": "Client", "type": "link"},  # target filled in once companies exists
        ],
    }
    return companies, deals


def make_rows(n: int, company_ids: list[int], seed: int = 1) -> list[dict[str, Any]]:
    """n deterministic record value dicts as an API client would send them."""
    rnd = random.Random(seed)
    start = date(2024, 1, 1)
    rows = []
    for i in range(n):
        rows.append(
            {
                "deal": f"Deal {i} {rnd.choice(WORDS)}",
                "description": " ".join(rnd.choices(WORDS, k=12)),
                "amount": f"{rnd.randint(100, 10_000_000) / 100:.2f}",
                "quantity": rnd.randint(1, 500),
                "rate": round(rnd.random() * 100, 2),
                "close_date": (start + timedelta(days=rnd.randint(0, 700))).isoformat(),
                "contacted": f"2025-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}"
                f"T10:{rnd.randint(10, 59)}:00Z",
                "won": rnd.random() < 0.3,
                "stage": rnd.choice(STAGES),
                "email": f"buyer{i}@example.com",
                "client": [rnd.choice(company_ids)],
            }
        )
    return rows


def raw_tuple(values: dict[str, Any]) -> tuple[Any, ...]:
    """The same row as plain driver values (what the columns hold)."""
    return (
        values["deal"],
        values["description"],
        round(float(values["amount"]) * 100),
        values["quantity"],
        values["rate"],
        values["close_date"],
        values["contacted"].replace("T", " ").rstrip("Z"),
        int(values["won"]),
        STAGES.index(values["stage"]) + 1,
        values["email"],
    )


RAW_COLUMNS = (
    "title TEXT, description TEXT, amount BIGINT, quantity BIGINT, rate FLOAT, "
    "close_date TEXT, contacted TEXT, won INTEGER, stage INTEGER, email TEXT"
)


def raw_baseline(env: Env, rows: list[dict[str, Any]]) -> float:
    """Records/s of the raw driver: executemany rows + link rows, one commit per batch."""
    if env.database == "postgresql":
        conn: Any = env.workspace().engine.raw_connection()
        ph = "%s"
    else:
        conn = sqlite3.connect(env.tmp / "raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        ph = "?"
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS raw_rows")
    cur.execute("DROP TABLE IF EXISTS raw_links")
    serial = "BIGSERIAL" if env.database == "postgresql" else "INTEGER"
    cur.execute(f"CREATE TABLE raw_rows (id {serial} PRIMARY KEY, {RAW_COLUMNS})")
    cur.execute(
        "CREATE TABLE raw_links (src_id BIGINT, dst_id BIGINT, PRIMARY KEY (src_id, dst_id))"
    )
    if env.database == "postgresql":
        conn.commit()
    insert = f"INSERT INTO raw_rows VALUES (NULL, {', '.join([ph] * 10)})"
    if env.database == "postgresql":
        insert = (
            f"INSERT INTO raw_rows (title, description, amount, quantity, rate, close_date, "
            f"contacted, won, stage, email) VALUES ({', '.join([ph] * 10)})"
        )
    start = time.perf_counter()
    next_id = 1
    for i in range(0, len(rows), BATCH):
        chunk = rows[i : i + BATCH]
        if env.database != "postgresql":
            cur.execute("BEGIN")
        cur.executemany(insert, [raw_tuple(v) for v in chunk])
        links = [(next_id + k, v["client"][0]) for k, v in enumerate(chunk)]
        cur.executemany(f"INSERT INTO raw_links VALUES ({ph}, {ph})", links)
        next_id += len(chunk)
        if env.database == "postgresql":
            conn.commit()
        else:
            cur.execute("COMMIT")
    elapsed = time.perf_counter() - start
    cur.execute("DROP TABLE raw_rows")
    cur.execute("DROP TABLE raw_links")
    conn.commit()
    conn.close()
    return len(rows) / elapsed


async def api_rate(env: Env, deals: Any, rows: list[dict[str, Any]]) -> float:
    """Records/s through POST /records/batch on the in-process ASGI app."""
    import httpx

    from kartoteka.server import create_app

    app = create_app(env.settings, env.instance)
    headers = {"Authorization": f"Bearer {env.token()}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers, timeout=120
    ) as client:
        url = f"/api/v1/catalogs/{deals.id}/records/batch"
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            body = {"create": [{"values": v} for v in rows[i : i + BATCH]]}
            r = await client.post(url, json=body)
            if r.status_code != 200:
                raise RuntimeError(f"batch failed: {r.status_code} {r.text[:500]}")
        return len(rows) / (time.perf_counter() - start)


def service_rate(env: Env, deals: Any, rows: list[dict[str, Any]]) -> float:
    """Records/s calling records.service.batch directly (no HTTP, no JSON)."""
    from kartoteka.records import service
    from kartoteka.records.requests import BatchRequest

    actor = env.admin()
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        service.batch(actor, deals.id, BatchRequest.creating(rows[i : i + BATCH]))
    return len(rows) / (time.perf_counter() - start)


def setup(env: Env) -> tuple[Any, list[int]]:
    """Create both catalogs and 100 link targets."""
    from kartoteka.records import service
    from kartoteka.records.requests import BatchRequest

    companies_spec, deals_spec = catalog_specs()
    companies = create_catalog(env, companies_spec)
    deals_spec["fields"][-1]["options"] = {"catalog": companies.id}
    deals = create_catalog(env, deals_spec)
    created = service.batch(
        env.admin(),
        companies.id,
        BatchRequest.creating([{"name": f"Company {i}"} for i in range(100)]),
    )
    return deals, created.created


def main() -> None:
    """Run the batch benchmark and print its table."""
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = 5_000 if args.quick else 100_000
    with environment(args.database_url) as env:
        deals, company_ids = setup(env)
        rows = make_rows(n, company_ids)
        raw = raw_baseline(env, rows)
        cpu = time.process_time()
        api = asyncio.run(api_rate(env, deals, rows))
        # CPU seconds of this process (on SQLite they include the database work): a
        # figure that a busy shared machine distorts less than wall-clock time.
        api_cpu = n / max(time.process_time() - cpu, 1e-9)
        svc = service_rate(env, deals, make_rows(n, company_ids, seed=2))
        res = Results("bench_batch", env.database, {"records": n, "batch": BATCH})
        target_ok = api >= 10_000 if env.database == "sqlite" else None
        res.add(
            "batch create via POST /records/batch (ASGI in-process)",
            api,
            "records/s",
            raw,
            "raw executemany",
            ">= 10,000/s (SQLite)",
            target_ok,
        )
        res.add(
            "batch create via records.service.batch",
            svc,
            "records/s",
            raw,
            "raw executemany",
            note="no HTTP/JSON",
        )
        res.add(
            "batch create via POST /records/batch, per CPU-second",
            api_cpu,
            "records/s",
            note="wall time / CPU time of the bench process",
        )
        res.add("raw driver executemany (baseline)", raw, "records/s")
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
