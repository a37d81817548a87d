"""Cost of record rules: the same reads as an administrator and as a user whose rule is an
OR over two fields plus a one-hop link (issue 3's number: overhead <= 20%; issue 16's at
1,000,000 records: <= 10%).

The baseline is the administrator's read of the same page (or record) in the same run;
samples alternate administrator / user so a noisy neighbour hits both alike.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from common import Env, Results, environment, parser, percentile, seed_table

REGIONS = ["North", "South", "East", "West"]
PRODUCTS = ["OSAGO", "KASKO", "Life"]
CLIENTS = 2_000
PAGE = 100
RULE = {
    "or": [
        {"region": {"eq": "$user.region"}},
        {"product": {"eq": "OSAGO"}},
        {"client.region": {"eq": "$user.region"}},
    ]
}


def _select(name: str, choices: list[str]) -> dict[str, Any]:
    return {
        "name": name.title(),
        "api_name": name,
        "type": "select",
        "indexed": True,
        "options": {"choices": choices},
    }


def create_catalogs(env: Env) -> tuple[Any, Any]:
    """Clients (region) and deals (region, product, amount, link to a client)."""
    from kartoteka.catalogs import service as catalogs

    admin = env.admin()
    clients = catalogs.create_catalog(
        admin,
        {
            "name": "Clients",
            "fields": [{"name": "Name", "type": "text"}, _select("region", REGIONS)],
        },
    )
    deals = catalogs.create_catalog(
        admin,
        {
            "name": "Deals",
            "fields": [
                {"name": "Name", "type": "text"},
                _select("region", REGIONS),
                _select("product", PRODUCTS),
                {"name": "Amount", "api_name": "amount", "type": "number", "indexed": True},
                {
                    "name": "Client",
                    "api_name": "client",
                    "type": "link",
                    "options": {"catalog": "clients"},
                },
            ],
        },
    )
    return clients, deals


def seed(env: Env, n: int) -> tuple[Any, Any]:
    """Clients through the service; n deals and their links straight into the tables."""
    from kartoteka.catalogs import service as catalogs
    from kartoteka.records import service as records
    from kartoteka.records.requests import BatchRequest

    clients, deals = create_catalogs(env)
    rnd = random.Random(7)
    client_ids: list[int] = []
    for start in range(0, CLIENTS, 1000):
        names = range(start, min(CLIENTS, start + 1000))
        request = BatchRequest.creating(
            [{"name": f"c{i}", "region": rnd.choice(REGIONS)} for i in names]
        )
        client_ids += records.batch(env.admin(), "clients", request).created
    region_ids = [c["id"] for c in deals.by_api_name["region"].options["choices"]]
    product_ids = [c["id"] for c in deals.by_api_name["product"].options["choices"]]
    now = datetime(2025, 6, 1, 12, 0, 0)

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            yield (
                now,
                now,
                1,
                1,
                f"d{i}",
                rnd.choice(region_ids),
                rnd.choice(product_ids),
                rnd.randint(1, 10_000_000),
            )

    start = time.perf_counter()
    columns = [f.column for f in deals.fields if f.column]
    seed_table(env, deals, columns, rows())
    link = deals.by_api_name["client"]
    ws = env.workspace()
    raw = ws.engine.raw_connection()
    try:
        cur = raw.cursor()
        pick = random.Random(11)
        pairs = ((link.id, i, pick.choice(client_ids), 0) for i in range(1, n + 1))
        if env.database == "postgresql":
            with cur.copy("COPY links (field_id, src_id, dst_id, position) FROM STDIN") as copy:
                for pair in pairs:
                    copy.write_row(pair)
        else:
            cur.executemany("INSERT INTO links VALUES (?, ?, ?, ?)", list(pairs))
        raw.commit()
        cur.execute("ANALYZE links")
        raw.commit()
    finally:
        raw.close()
    print(f"seeded {n:,} deals in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    catalogs.invalidate(ws)
    return clients, deals


def ruled_user(env: Env) -> Any:
    """A regional specialist (profile region North): the rule on deals, their region's
    clients."""
    from kartoteka.auth import service as auth
    from kartoteka.rights import service as manage
    from kartoteka.users import service as users

    admin = env.admin()
    group = users.create_group(admin, {"name": "regional"})["id"]
    users.create_user(
        admin,
        {
            "email": "r@bench.example",
            "name": "R",
            "password": "bench-pw-123",
            "groups": [group],
            "profile": {"region": "North"},
        },
    )
    manage.put_rights(admin, "deals", {"groups": {str(group): {"view": RULE}}})
    # Clients of their region only: each page then also checks which linked clients the
    # user may see, since titles of the others are withheld (issue 8).
    client_rule = {"region": {"eq": "$user.region"}}
    manage.put_rights(admin, "clients", {"groups": {str(group): {"view": client_rule}}})
    ws = env.workspace()
    return auth.actor_from_token(ws, auth.login(ws, "r@bench.example", "bench-pw-123")[0])


#: Samples of one call: milliseconds of wall-clock time and of this process's CPU time.
Samples = dict[str, list[float]]


def paired(
    admin: Callable[[], Any], user: Callable[[], Any], repeat: int
) -> tuple[Samples, Samples]:
    """Alternating samples (ms, wall and CPU) of the two calls, after a warm-up.

    CPU time is this process's: on SQLite it includes the database's work, on PostgreSQL
    only the driver's side. A loaded machine stretches the wall clock far more than it.
    """
    for _ in range(5):
        admin()
        user()
    a: Samples = {"wall": [], "cpu": []}
    u: Samples = {"wall": [], "cpu": []}
    for _ in range(repeat):
        for fn, out in ((admin, a), (user, u)):
            t, c = time.perf_counter(), time.process_time()
            fn()
            out["cpu"].append((time.process_time() - c) * 1000)
            out["wall"].append((time.perf_counter() - t) * 1000)
    return a, u


def main() -> None:
    """Seed, grant, measure, print."""
    from kartoteka.records import service as records

    args = parser(__doc__.splitlines()[0]).parse_args()
    n = 20_000 if args.quick else 1_000_000
    repeat = 100 if args.quick else 300
    with environment(args.database_url) as env:
        _, deals = seed(env, n)
        if env.database == "postgresql":
            # Steady state: autovacuum would have analysed the loaded tables by now.
            with env.workspace().engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        admin, user = env.admin(), ruled_user(env)
        # A record the user sees through the link only (other region, not OSAGO).
        visible = records.list_records(
            user,
            "deals",
            {"and": [{"region": {"ne": "North"}}, {"product": {"ne": "OSAGO"}}]},
            "-id",
            1,
        )["items"][0]["id"]
        cases: dict[str, Callable[[Any], Any]] = {
            "list sort -id": lambda a: records.list_records(a, "deals", None, "-id", PAGE),
            "list amount >= 5M, sort amount": lambda a: records.list_records(
                a, "deals", {"amount": {"gte": 5_000_000}}, "amount", PAGE
            ),
            "list region = South, sort -id": lambda a: records.list_records(
                a, "deals", {"region": {"eq": "South"}}, "-id", PAGE
            ),
            "get one record (seen via the link)": lambda a: records.get_record(a, "deals", visible),
        }
        res = Results(
            "bench_rights",
            env.database,
            {"deals": n, "clients": CLIENTS, "page": PAGE, "repeat": repeat, "rule": RULE},
        )
        for name, case in cases.items():
            a, u = paired(lambda c=case: c(admin), lambda c=case: c(user), repeat)
            base, ruled = percentile(a["wall"], 50), percentile(u["wall"], 50)
            cpu_base, cpu_ruled = percentile(a["cpu"], 50), percentile(u["cpu"], 50)
            res.add(
                f"{name}: p50 with rule",
                ruled,
                "ms",
                base,
                "administrator",
                "overhead <= 10%",
                ruled <= base * 1.1,
                f"+{ruled / base - 1:.0%}; p99 {percentile(u['wall'], 99):.1f} vs "
                f"{percentile(a['wall'], 99):.1f} ms; CPU {cpu_ruled:.2f} vs {cpu_base:.2f} ms "
                f"(+{cpu_ruled / cpu_base - 1:.0%})",
            )
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
