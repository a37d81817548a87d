"""Duplicates (issue 11, item 5): the scan over N records on a normalised phone beside a
plain GROUP BY on the phone column, the rule's key backfill, and the cost of the check on
a single create beside the same create in a catalog without rules.

Records go straight into the table (not the measured path); ~3 % of the phones repeat.
The scan is the whole result walked page by page (500 groups per page) as the service
answers it, with titles; the baseline is `SELECT phone, count(*) ... GROUP BY phone
HAVING count(*) > 1` over the catalog table with an index on the phone column.
Creates are measured in turns in the same loop, wall and CPU time: checked, with the check
skipped (the difference is the check), and in a catalog without rules.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from common import Env, Results, environment, parser, percentile

FIELDS = [
    {"name": "Name", "api_name": "name", "type": "text"},
    {"name": "Phone", "api_name": "phone", "type": "phone", "indexed": True},
    {"name": "E-mail", "api_name": "email", "type": "email"},
]


def seed(env: Env, catalog: Any, n: int) -> int:
    """N clients; every 33rd record repeats an earlier phone. Returns the distinct repeats."""
    rnd = random.Random(11)
    fields = [catalog.by_api_name[k] for k in ("name", "phone", "email")]
    now = datetime(2026, 12, 1)
    phones: list[str] = []

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            if i % 33 == 32:
                phone = phones[rnd.randrange(len(phones))]
            else:
                phone = f"+7916{i:07d}"
                phones.append(phone)
            yield (now, now, None, None, f"Client {i}", phone, f"c{i}@example.com")

    from common import seed_table

    return seed_table(env, catalog, [f.column for f in fields], rows())


def measure_scan(env: Env, res: Results, catalog: Any, n: int) -> None:
    from kartoteka.duplicates import rules, scan

    admin = env.admin()
    t0, c0 = time.perf_counter(), time.process_time()
    rule = rules.create_rule(admin, "clients", {"fields": ["phone"]})
    backfill, backfill_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"rule backfill {backfill:.1f}s", file=sys.stderr)
    groups = 0
    t0, c0 = time.perf_counter(), time.process_time()
    body: dict[str, Any] = {"rule": rule["id"], "limit": scan.MAX_LIMIT}
    while True:
        page = scan.scan(admin, "clients", body)
        groups += len(page["items"])
        if not page["next_cursor"]:
            break
        body["cursor"] = page["next_cursor"]
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    col = catalog.by_api_name["phone"].column
    t0 = time.perf_counter()
    with env.workspace().engine.connect() as conn:
        raw = conn.exec_driver_sql(
            f"SELECT {col}, count(*) FROM {catalog.table.name} GROUP BY {col} HAVING count(*) > 1"
        ).all()
    baseline = time.perf_counter() - t0
    assert len(raw) == groups, (len(raw), groups)
    res.sizes["groups"] = groups
    res.add("scan: every group, all pages", took, "s", baseline, "raw GROUP BY phone",
            f"≤ 30 s at 1M (×{1_000_000 / n:.0f} here)", took * 1_000_000 / n <= 30,
            note=f"CPU {cpu:.1f}s; {groups:,} groups")  # fmt: skip
    res.add("rule added: keys of every record", backfill, "s",
            note=f"CPU {backfill_cpu:.1f}s; {n / backfill:,.0f} records/s")  # fmt: skip


def measure_create(env: Env, res: Results, repeat: int) -> None:
    """Creates in turn: into the catalog with the rule (checked), into it with the check
    skipped (`?skip_duplicates=true`: the keys are still stored), and into the catalog
    without rules. The first two differ by the check alone; the third is smaller (its
    search index too), so the rule's whole cost is read against it with care."""
    from kartoteka.duplicates.check import skipping
    from kartoteka.records import service as records

    admin = env.admin()
    rnd = random.Random(5)
    kinds = ("checked", "skipped", "plain")
    walls: dict[str, list[float]] = {k: [] for k in kinds}
    cpus: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(repeat + 10):
        values = {"name": f"New {i}", "phone": f"+7495{rnd.randrange(10**7):07d}",
                  "email": f"n{i}@example.com"}  # fmt: skip
        for kind in kinds[i % 3 :] + kinds[: i % 3]:  # each kind first in turn
            catalog = "plain" if kind == "plain" else "clients"
            mine = {**values, "phone": values["phone"][:-1] + str(kinds.index(kind))}
            t0, c0 = time.perf_counter(), time.process_time()
            with skipping(kind == "skipped"):
                records.create_record(admin, catalog, mine)
            if i >= 10:  # warm-up first (the first write builds the search index)
                walls[kind].append((time.perf_counter() - t0) * 1000)
                cpus[kind].append((time.process_time() - c0) * 1000)
    wall = {k: percentile(v, 50) for k, v in walls.items()}
    cpu = {k: percentile(v, 50) for k, v in cpus.items()}
    check_wall, check_cpu = wall["checked"] - wall["skipped"], cpu["checked"] - cpu["skipped"]
    res.add("single create, the check (p50)", wall["checked"], "ms", wall["skipped"],
            "same create, check skipped", "≤ +2 ms", check_cpu <= 2,
            note=f"+{check_wall:.2f} ms wall, +{check_cpu:.2f} ms CPU "
            f"(CPU {cpu['checked']:.2f} / {cpu['skipped']:.2f} ms)")  # fmt: skip
    res.add("single create, catalog without rules (p50)", wall["plain"], "ms",
            note=f"CPU {cpu['plain']:.2f} ms; a small catalog (its search index too)")  # fmt: skip


def main() -> None:
    """Seed, add the rule, scan, measure creates, print."""
    from kartoteka.catalogs import service as catalogs

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=None, help="records (default 200,000)")
    args = p.parse_args()
    n = args.records or (20_000 if args.quick else 200_000)
    repeat = 40 if args.quick else 200
    with environment(args.database_url) as env:
        admin = env.admin()
        catalog = catalogs.create_catalog(admin, {"name": "Clients", "fields": FIELDS})
        catalogs.create_catalog(admin, {"name": "Plain", "fields": FIELDS})
        t0 = time.perf_counter()
        seed(env, catalog, n)
        print(f"seeded {n:,} records in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        res = Results("bench_duplicates", env.database, {"records": n, "creates": repeat})
        measure_scan(env, res, catalog, n)
        measure_create(env, res, repeat)
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
