"""Export: 1,000,000 records x 12 fields to CSV, CSV (cp1251), XLSX, JSON Lines and Parquet.

Targets (issue 11): CSV and Parquet >= 100,000 rows/s, peak memory <= 300 MB, all
streamed. Each format is written by `exporter.service.export_records` (the same
function the API and `kartoteka export` call: rights, filter, sort, fields) into a
temporary file in a child process, so each run's peak RSS is its own. Baselines in the
same run: the same rows read with the raw driver and written by `csv.writer`, and by
pyarrow into Parquet (no rights, no field rules, no conversion). Each row prints the
wall-clock rate and, in the note, the rate on the child's own CPU time (user+sys), the
load-independent measure on a shared machine (PostgreSQL's server time is not in it).
Seeding goes straight into the catalog table with COPY/executemany (not measured).
Data: Russian and English names, phones, e-mails, amounts, dates from fixed word lists
(seeded random, no Faker) so runs compare.
"""

from __future__ import annotations

import csv
import io
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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _export_child(env: Env, fmt: str, options: dict[str, Any], out: Any) -> None:
    """In a child process: one export into a temp file; sends (seconds, CPU seconds,
    bytes, peak MB, MB at start)."""
    from kartoteka.exporter import service as exporter

    base = _peak_mb()
    start, cpu = time.perf_counter(), _cpu()
    result = exporter.export_records(env.admin(), "clients", fmt, **options)
    size = 0
    with tempfile.TemporaryFile() as sink:
        for chunk in result.body:
            sink.write(chunk)
            size += len(chunk)
    out.send((time.perf_counter() - start, _cpu() - cpu, size, _peak_mb(), base))


def _baseline_child(env: Env, catalog: Any, fmt: str, out: Any) -> None:
    """The same rows with the raw driver, written by csv.writer or by pyarrow into Parquet
    (no rights, no field rules, no conversion: stored values as the driver gives them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = ", ".join(["id"] + [f.column for f in catalog.fields])
    names = ["id"] + [f.api_name for f in catalog.fields]
    raw = env.workspace().engine.raw_connection()
    base = _peak_mb()
    start, cpu = time.perf_counter(), _cpu()
    with tempfile.TemporaryFile("w+b") as sink:
        # PostgreSQL: a server-side cursor, as the export streams (a client-side one
        # would hold every row in memory).
        cur = raw.cursor(name="baseline") if env.database == "postgresql" else raw.cursor()
        cur.execute(f"SELECT {cols} FROM {catalog.table.name} ORDER BY id")
        if fmt == "csv":
            text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
            writer = csv.writer(text)
            while rows := cur.fetchmany(5000):
                writer.writerows(rows)
            text.flush()
        else:
            parquet = None
            while rows := cur.fetchmany(5000):
                arrays = [pa.array(c) for c in zip(*rows, strict=True)]
                table = pa.Table.from_arrays(arrays, names=names)
                if parquet is None:
                    parquet = pq.ParquetWriter(sink, table.schema, compression="zstd")
                parquet.write_table(table)
            if parquet is not None:
                parquet.close()
        size = sink.tell()
    raw.close()
    out.send((time.perf_counter() - start, _cpu() - cpu, size, _peak_mb(), base))


def _in_child(target: Any, *args: Any) -> tuple[float, float, int, float, float]:
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
    p.add_argument(
        "--xlsx-rows", type=int, default=200_000, help="skip XLSX above this many records"
    )
    args = p.parse_args()
    n = args.rows or (50_000 if args.quick else 1_000_000)
    with environment(args.database_url) as env:
        catalog = seed(env, n)
        env.workspace().engine.dispose()  # children open their own connections
        results = Results("bench_export", env.database, sizes={"records": n, "fields": 12})
        baselines = {}
        for fmt in ("csv", "parquet"):
            seconds, cpu, size, peak, _ = _in_child(_baseline_child, env, catalog, fmt)
            baselines[fmt] = n / seconds
            results.add(
                f"raw SELECT + {'csv.writer' if fmt == 'csv' else 'pyarrow'}",
                n / seconds,
                "rows/s",
                note=f"{seconds:.1f}s, CPU {n / cpu:,.0f} rows/s, {size / 1e6:.0f} MB file, "
                f"peak RSS {peak:.0f} MB",
            )
        for fmt, options in FORMATS:
            if fmt == "xlsx" and n > args.xlsx_rows:
                continue  # openpyxl writes a few thousand rows/s: measured with fewer rows
            seconds, cpu, size, peak, before = _in_child(_export_child, env, fmt, options)
            name = fmt + (f" {options['encoding']} '{options['delimiter']}'" if options else "")
            fast = fmt in ("csv", "parquet")
            results.add(
                f"export {name}",
                n / seconds,
                "rows/s",
                baseline=baselines["parquet" if fmt == "parquet" else "csv"],
                baseline_name="raw " + ("parquet" if fmt == "parquet" else "csv"),
                target=">= 100,000" if fast else "",
                ok=(n / seconds >= 100_000 and peak <= 300) if fast else None,
                note=f"{seconds:.1f}s, CPU {n / cpu:,.0f} rows/s, {size / 1e6:.0f} MB file, "
                f"peak RSS {peak:.0f} MB (at start {before:.0f}; target <= 300)",
            )
        results.print()
        results.write(args.json)
        if args.json is None:
            print(json.dumps({"rows": n}))


if __name__ == "__main__":
    main()
