"""Creating a workspace: its schema replayed (storage.fresh, decision 0031) against Alembic.

Each round creates one workspace the way the product does (`Instance.create_workspace`)
twice: once with the process's recording dropped first, so Alembic migrates the empty
database to head (the baseline, what every creation cost before), and once replayed. The
two alternate so noise hits both. Wall time per workspace, p50; the workspaces are
deleted afterwards.
"""

from __future__ import annotations

import time

from common import Results, environment, parser, percentile

from kartoteka.storage import fresh


def main() -> None:
    """Create, measure, print."""
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    rounds = 5 if args.quick else 20

    with environment(args.database_url) as env:
        inst = env.instance
        base = env.settings.default_workspace
        made: list[str] = []
        got: dict[str, list[float]] = {"alembic": [], "replayed": []}
        inst.create_workspace(base + "w")  # the first: recorded
        made.append(base + "w")
        try:
            for i in range(rounds):
                for how in ("alembic", "replayed"):
                    name = f"{base}{how[0]}{i}"
                    if how == "alembic":
                        fresh.forget()
                    started = time.perf_counter()
                    inst.create_workspace(name)
                    got[how].append((time.perf_counter() - started) * 1000)
                    made.append(name)
        finally:
            if env.settings.is_postgres:
                for name in made:
                    inst.delete_workspace(name)
        res = Results("bench_workspaces", env.database, {"rounds": rounds})
        alembic = percentile(got["alembic"], 50)
        p90 = {how: percentile(times, 90) for how, times in got.items()}
        res.add("create a workspace, Alembic to head, p50", alembic, "ms")
        res.add(
            "create a workspace, schema replayed, p50",
            percentile(got["replayed"], 50),
            "ms",
            alembic,
            "Alembic",
            note=f"p90 {p90['replayed']:.1f} vs {p90['alembic']:.1f} ms",
        )
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
