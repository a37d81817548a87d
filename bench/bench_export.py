"""Export: 1,000,000 records x 12 fields to CSV, CSV (cp1251), XLSX, JSON Lines and Parquet.

Targets (issue 11): CSV and Parquet >= 100,000 rows/s, peak memory <= 300 MB, all
streamed. Each format is written by `exporter.service.export_records` (the same
function the API and `kartoteka export` call: rights, filter, sort, fields) into a
temporary file in a child process, so each run's peak RSS is its own. Baseline in the
same run: the same rows read with the raw driver and written by `csv.writer`.
Seeding goes straight into the catalog table with COPY/executemany (not measured).
Data: Russian and English names, phones, e-mails, amounts, dates from fixed word lists
(seeded random, no Faker) so runs compare.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from common import Env, Results, create_catalog, environment, parser, seed_table

FIRST = ["Иван", "Мария", "Пётр", "Анна", "Алексей", "Ольга", "John", "Emma", "Сергей", "Елена"]
LAST = ["Иванов", "Петрова", "Сидоров", "Смирнова", "Кузнецов", "Попова", "Smith", "Brown"]
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "London"]
STAGES = ["Лид", "Переговоры", "Сделка", "Отказ"]
FORMATS = [("csv", {}), ("csv", {"encoding": "cp1251", "delimiter": ";"}), ("parquet", {}),
           ("jsonl", {}), ("xlsx", {})]  # fmt: skip


def catalog_spec() -> dict[str, Any]:
    """12 fields of the kinds a 1C client list has."""

    def f(name: str, type_: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "api_name": name, "type": type_, **extra}

    return {
        "name": "Клиенты",
        "api_name": "clients",
        "fields": [
            f("name", "text"),
            f("inn", "text"),
            f("phone", "phone"),
            f("email", "email"),
            f("city", "text"),
            f("balance", "money"),
            f("orders", "number"),
            f("discount", "number", options={"decimals": 2}),
            f("since", "date"),
            f("last_visit", "datetime"),
            f("vip", "checkbox"),
            f("stage", "select", options={"choices": [{"label": s} for s in STAGES]}),
        ],
    }


def raw_rows(catalog: Any, n: int) -> Iterator[tuple[Any, ...]]:
    """n rows as stored values: system columns, then the 12 field columns in spec order."""
    rnd = random.Random(11)
    stage_ids = [c["id"] for c in catalog.by_api_name["stage"].options["choices"]]
    now = datetime(2025, 6, 1, 12, 0, 0)
    d0 = date(2015, 1, 1)
    for i in range(n):
        name = f"{LAST[i % len(LAST)]} {FIRST[(i // 7) % len(FIRST)]} {i}"
        yield (
            now,
            now,
            1,
            1,
            name,
            f"{7700000000 + i:010d}",
            f"+7916{i % 10_000_000:07d}",
            f"client{i}@example.ru",
            CITIES[i % len(CITIES)],
            int(rnd.random() * 10_000_000),
            i % 500,
            round(rnd.random() * 30, 2),
            d0 + timedelta(days=i % 3650),
            now - timedelta(minutes=i),
            i % 5 == 0,
            stage_ids[i % len(stage_ids)],
        )


def seed(env: Env, n: int) -> Any:
    """Create the catalog through the service, then bulk-load n rows into its table."""
    from kartoteka.catalogs import service as catalogs

    catalog = create_catalog(env, catalog_spec())
    start = time.perf_counter()
    seed_table(env, catalog, [f.column for f in catalog.fields], raw_rows(catalog, n))
    print(f"seeded {n:,} rows in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    catalogs.invalidate(env.workspace())
    return catalog


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _export_child(env: Env, fmt: str, options: dict[str, Any], out: Any) -> None:
    """In a child process: one export into a temp file; sends (seconds, bytes, peak MB)."""
    from kartoteka.exporter import service as exporter

    base = _peak_mb()
    start = time.perf_counter()
    result = exporter.export_records(env.admin(), "clients", fmt, **options)
    size = 0
    with tempfile.TemporaryFile() as sink:
        for chunk in result.body:
            sink.write(chunk)
            size += len(chunk)
    out.send((time.perf_counter() - start, size, _peak_mb(), base))


def _baseline_child(env: Env, catalog: Any, out: Any) -> None:
    """The same rows with the raw driver, written by csv.writer (no rights, no formatting)."""
    cols = ", ".join(["id"] + [f.column for f in catalog.fields])
    raw = env.workspace().engine.raw_connection()
    start = time.perf_counter()
    with tempfile.TemporaryFile("w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink)
        cur = raw.cursor()
        cur.execute(f"SELECT {cols} FROM {catalog.table.name} ORDER BY id")
        while rows := cur.fetchmany(5000):
            writer.writerows(rows)
    raw.close()
    out.send((time.perf_counter() - start, 0, _peak_mb(), 0.0))


def _in_child(target: Any, *args: Any) -> tuple[float, int, float, float]:
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=target, args=(*args, there))
    proc.start()
    value = here.recv()
    proc.join()
    return value


def main() -> None:
    """Seed, export in each format, print the table."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--rows", type=int, default=None, help="records (default 1,000,000; quick 50,000)"
    )
    args = p.parse_args()
    n = args.rows or (50_000 if args.quick else 1_000_000)
    with environment(args.database_url) as env:
        catalog = seed(env, n)
        env.workspace().engine.dispose()  # children open their own connections
        results = Results("bench_export", env.database, sizes={"records": n, "fields": 12})
        seconds, _, _, _ = _in_child(_baseline_child, env, catalog)
        base_rate = n / seconds
        results.add("raw SELECT + csv.writer", base_rate, "rows/s", note=f"{seconds:.1f}s")
        for fmt, options in FORMATS:
            if fmt == "xlsx" and n > 200_000:
                continue  # openpyxl writes ~10k rows/s; a million rows is a 2-minute bench
            seconds, size, peak, before = _in_child(_export_child, env, fmt, options)
            name = fmt + (f" {options['encoding']} '{options['delimiter']}'" if options else "")
            fast = fmt in ("csv", "parquet")
            results.add(
                f"export {name}",
                n / seconds,
                "rows/s",
                baseline=base_rate,
                baseline_name="raw csv",
                target=">= 100,000" if fast else "",
                ok=(n / seconds >= 100_000) if fast else None,
                note=f"{seconds:.1f}s, {size / 1e6:.0f} MB file, peak RSS {peak:.0f} MB "
                f"(at start {before:.0f})",
            )
        results.print()
        results.write(args.json)
        if args.json is None:
            print(json.dumps({"rows": n}))


if __name__ == "__main__":
    main()
