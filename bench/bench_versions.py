"""This tree against earlier git refs: batch insert, single GET and a list page, same run.

Issue 15 promised that restructuring the code would not make the hot paths slower.
This program exports each `--ref` (default: `2bc6ec8`, the tree before issue 15, and
`e1fcd15`, the start of the session that finished it) with `git archive`, then runs the
same measurement in a child process per tree, with that tree's `kartoteka` first on the
import path. The trees take turns round by round (A B C, B C A, ...) so that the load of a
shared machine falls on all of them alike; each figure is the median over the rounds.

The measurement speaks only the REST API (stable across these refs) to the ASGI app in
process, authenticated with HTTP Basic (cached after the first request):

- batch insert: `POST /records/batch`, 1000 records per request, 11 fields incl. a link;
- single GET: `GET /records/{id}` of random records;
- list: `GET /records?filter={"stage":{"eq":...}}&sort=-id&limit=100`.

Each is reported as wall time and as CPU time of the child process (on SQLite that CPU time
includes the database's own work), the figure a loaded machine distorts least.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_REFS = ["2bc6ec8", "e1fcd15"]
BATCH = 1000
MEASURES = [
    ("batch insert", "records/s", True),
    ("batch insert per CPU-second", "records/s", True),
    ("single GET p50", "ms", False),
    ("single GET, CPU per request", "ms", False),
    ("list page of 100 p50", "ms", False),
    ("list page of 100, CPU per request", "ms", False),
]


# ----- the child: one tree, one measurement ---------------------------------------------------
def child(tree: Path, database_url: str | None, records: int, repeat: int, out: Path) -> None:
    """Measure the tree whose `kartoteka` is imported first; write the figures as JSON."""
    sys.path.insert(0, str(tree))
    import kartoteka

    where = Path(kartoteka.__file__).resolve()
    if tree.resolve() not in where.parents:
        raise SystemExit(f"imported {where}, not the tree {tree}")
    from bench_batch import catalog_specs, make_rows  # after kartoteka: same package

    from kartoteka.config import Settings
    from kartoteka.workspaces.service import Instance

    tmp = Path(tempfile.mkdtemp(prefix="kartoteka-bench-versions-"))
    settings = Settings(
        data_dir=tmp / "data",
        database_url=database_url or None,
        admin_email="bench@example.com",
        admin_password="bench-password-123",
        default_workspace=f"bv{os.getpid()}",
    )
    for name in ("rate_limit_account", "rate_limit_address"):
        if hasattr(settings, name):
            setattr(settings, name, "100000000/second")
    instance = Instance(settings)
    instance.init()
    try:
        figures = asyncio.run(
            _measure(settings, instance, records, repeat, catalog_specs, make_rows)
        )
    finally:
        try:
            instance.delete_workspace(settings.default_workspace)
        finally:
            instance.close()
            shutil.rmtree(tmp, ignore_errors=True)
    out.write_text(json.dumps(figures))


def _create_app(settings: Any, instance: Any) -> Any:
    try:
        from kartoteka.server import create_app
    except ImportError:  # trees before issue 15 built the app in api/app.py
        from kartoteka.api.app import create_app  # type: ignore[no-redef]
    return create_app(settings, instance)


async def _measure(
    settings: Any, instance: Any, records: int, repeat: int, catalog_specs: Any, make_rows: Any
) -> dict[str, float]:
    import httpx

    app = _create_app(settings, instance)
    auth = httpx.BasicAuth("bench@example.com", "bench-password-123")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", auth=auth, timeout=300
    ) as client:

        async def ok(r: Any) -> Any:
            response = await r
            if response.status_code >= 300:
                raise RuntimeError(f"{response.status_code} {response.text[:300]}")
            return response.json()

        companies_spec, deals_spec = catalog_specs()
        companies = await ok(client.post("/api/v1/catalogs", json=companies_spec))
        deals_spec["fields"][-1]["options"] = {"catalog": companies["id"]}
        deals = await ok(client.post("/api/v1/catalogs", json=deals_spec))
        base = f"/api/v1/catalogs/{companies['id']}/records/batch"
        made = await ok(
            client.post(base, json={"create": [{"values": {"name": f"C{i}"}} for i in range(100)]})
        )
        url = f"/api/v1/catalogs/{deals['id']}/records"
        rows = make_rows(records, made["created"])

        figures: dict[str, float] = {}
        cpu, wall = time.process_time(), time.perf_counter()
        ids: list[int] = []
        for i in range(0, len(rows), BATCH):
            body = {"create": [{"values": v} for v in rows[i : i + BATCH]]}
            ids += (await ok(client.post(f"{url}/batch", json=body)))["created"]
        figures["batch insert"] = records / (time.perf_counter() - wall)
        figures["batch insert per CPU-second"] = records / max(time.process_time() - cpu, 1e-9)

        rnd = random.Random(7)

        async def timed(name: str, make_request: Any) -> None:
            for _ in range(min(20, repeat)):  # warm-up: caches, compiled statements
                await ok(make_request())
            samples = []
            cpu = time.process_time()
            for _ in range(repeat):
                start = time.perf_counter()
                await ok(make_request())
                samples.append((time.perf_counter() - start) * 1000)
            figures[f"{name} p50"] = statistics.median(samples)
            figures[f"{name}, CPU per request"] = (time.process_time() - cpu) * 1000 / repeat

        await timed("single GET", lambda: client.get(f"{url}/{rnd.choice(ids)}"))
        stages = ["Lead", "Qualified", "Proposal", "Won", "Lost"]

        def page() -> Any:
            flt = json.dumps({"stage": {"eq": rnd.choice(stages)}})
            return client.get(url, params={"filter": flt, "sort": "-id", "limit": 100})

        await timed("list page of 100", page)
        return figures


# ----- the parent: export the refs, take turns, print one table --------------------------------
def export(ref: str, into: Path) -> Path:
    """The `kartoteka` package of a git ref, unpacked under `into/<ref>`."""
    target = into / ref
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "kartoteka"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def run_tree(tree: Path, args: argparse.Namespace, out: Path) -> dict[str, float]:
    """One child run on `tree`; its figures."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(tree), "--json", str(out)]
    cmd += ["--records", str(args.records), "--repeat", str(args.repeat)]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(cmd, check=True, env=env, cwd=out.parent)
    result: dict[str, float] = json.loads(out.read_text())
    return result


def main() -> None:
    """Parse the options; run the child or the comparison."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ref", action="append", help=f"git ref to compare (default {DEFAULT_REFS})")
    p.add_argument("--database-url", default=None, help="unset: SQLite in a temp dir")
    p.add_argument("--rounds", type=int, default=3, help="runs per tree, taking turns")
    p.add_argument("--quick", action="store_true", help="5,000 records, 200 requests")
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=500, help="GET and list requests per run")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.records, args.repeat = 5_000, 200
    if args.child:
        child(args.child, args.database_url, args.records, args.repeat, args.json)
        return
    compare(args)


def compare(args: argparse.Namespace) -> None:
    """Run every tree `--rounds` times in turn and print the medians side by side."""
    from common import Results  # noqa: PLC0415 - the parent only (imports this tree's kartoteka)

    refs = args.ref or DEFAULT_REFS
    tmp = Path(tempfile.mkdtemp(prefix="kartoteka-bench-refs-"))
    try:
        trees = {ref: export(ref, tmp) for ref in refs}
        trees["this tree"] = ROOT
        names = list(trees)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for rnd in range(args.rounds):
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            for name in order:
                figures = run_tree(trees[name], args, tmp / "out.json")
                runs[name].append(figures)
                print(
                    f"round {rnd + 1} {name}: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()),
                    flush=True,
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    database = "postgresql" if args.database_url else "sqlite"
    res = Results(
        "bench_versions",
        database,
        {"records": args.records, "requests": args.repeat, "rounds": args.rounds},
    )
    for measure, unit, higher_is_better in MEASURES:
        medians = {name: statistics.median(r[measure] for r in runs[name]) for name in names}
        for ref in refs:
            res.add(f"{measure}: {ref}", medians[ref], unit)
        for ref in refs:
            new, old = medians["this tree"], medians[ref]
            better = new >= old * 0.95 if higher_is_better else new <= old * 1.05
            res.add(
                f"{measure}: this tree vs {ref}",
                new,
                unit,
                old,
                ref,
                "no slower (within 5%)",
                better,
            )
    res.print()
    res.write(args.json)


if __name__ == "__main__":
    main()
