"""Cost of record rules on a list: the same page read as an administrator and as a user
whose rule is an OR over two fields plus a one-hop link (issue 3's number: <= 20%).

Prints a table; the baseline is the administrator's read of the same page in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from kartoteka.api.app import create_app  # noqa: F401  (registers hooks as the server does)
from kartoteka.auth import service as auth
from kartoteka.catalogs import service as catalogs
from kartoteka.config import Settings
from kartoteka.context import Actor
from kartoteka.records import service as records
from kartoteka.users import service as users
from kartoteka.workspaces.service import Instance

REGIONS = ["North", "South", "East", "West"]


def seed(actor: Actor, n: int) -> None:
    """Clients with regions, deals with region/product/amount and a link to a client."""
    catalogs.create_catalog(
        actor,
        {
            "name": "Clients",
            "fields": [
                {"name": "Name", "type": "text"},
                {
                    "name": "Region",
                    "api_name": "region",
                    "type": "select",
                    "indexed": True,
                    "options": {"choices": REGIONS},
                },
            ],
        },
    )
    catalogs.create_catalog(
        actor,
        {
            "name": "Deals",
            "fields": [
                {"name": "Name", "type": "text"},
                {
                    "name": "Region",
                    "api_name": "region",
                    "type": "select",
                    "indexed": True,
                    "options": {"choices": REGIONS},
                },
                {
                    "name": "Product",
                    "api_name": "product",
                    "type": "select",
                    "indexed": True,
                    "options": {"choices": ["OSAGO", "KASKO", "Life"]},
                },
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
    rnd = random.Random(7)
    client_ids: list[int] = []
    for start in range(0, 2000, 1000):
        body = {
            "create": [
                {"values": {"name": f"c{i}", "region": rnd.choice(REGIONS)}}
                for i in range(start, start + 1000)
            ]
        }
        client_ids += records.batch(actor, "clients", body)["created"]
    for start in range(0, n, 1000):
        body = {
            "create": [
                {
                    "values": {
                        "name": f"d{i}",
                        "region": rnd.choice(REGIONS),
                        "product": rnd.choice(["OSAGO", "KASKO", "Life"]),
                        "amount": rnd.randint(1, 10_000_000),
                        "client": rnd.choice(client_ids),
                    }
                }
                for i in range(start, min(n, start + 1000))
            ]
        }
        records.batch(actor, "deals", body)


def timed(fn, repeat: int) -> tuple[float, float]:
    """p50 and p99 in ms of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    """Seed, grant, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.records
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp()),
        database_url=args.database_url,
        default_workspace=f"bench{uuid.uuid4().hex[:8]}",
        admin_email="a@bench.example",
        admin_password="bench-password-1",
    )
    instance = Instance(settings)
    instance.init()
    ws = instance.workspace(settings.default_workspace)
    admin = Actor.system(ws)
    t0 = time.perf_counter()
    seed(admin, n)
    seeded = time.perf_counter() - t0
    if ws.dialect == "postgresql":
        # Steady state: autovacuum would have analysed the freshly loaded tables by now.
        with ws.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
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
    from kartoteka.access import manage

    manage.put_rights(
        admin,
        "deals",
        {
            "groups": {
                str(group): {
                    "view": {
                        "or": [
                            {"region": {"eq": "$user.region"}},
                            {"product": {"eq": "OSAGO"}},
                            {"client.region": {"eq": "$user.region"}},
                        ]
                    }
                }
            }
        },
    )
    token, _ = auth.login(ws, "r@bench.example", "bench-pw-123")
    user = auth.actor_from_token(ws, token)
    cases = {
        "sort -id, page 100": {"sort": "-id"},
        "filter amount >= x, sort amount, page 100": {
            "filter": {"amount": {"gte": 5_000_000}},
            "sort": "amount",
        },
    }
    rows = []
    for name, q in cases.items():

        def run(actor: Actor, q=q) -> None:
            records.list_records(actor, "deals", q.get("filter"), q.get("sort"), 100)

        timed(lambda: run(admin), 20)
        base = timed(lambda: run(admin), 200)
        ruled = timed(lambda: run(user), 200)
        rows.append((name, base, ruled))
    print(
        f"\nbench_rights on {ws.dialect}: {n:,} deals (seeded in {seeded:.0f} s), "
        "rule = region = $user.region OR product = OSAGO OR client.region = $user.region"
    )
    print(
        f"{'list':45} {'admin p50':>10} {'rule p50':>10} {'overhead':>9} {'admin p99':>10} "
        f"{'rule p99':>10}"
    )
    for name, base, ruled in rows:
        print(
            f"{name:45} {base[0]:9.2f}ms {ruled[0]:9.2f}ms {ruled[0] / base[0] - 1:8.0%} "
            f"{base[1]:9.2f}ms {ruled[1]:9.2f}ms"
        )
    instance.close()


if __name__ == "__main__":
    main()
