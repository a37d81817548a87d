"""Scenarios end to end, and what pending waits cost.

1. Runs/s of a 5-step scenario, end to end: N deals change stage (committed with
   `records.service.batch`, 1000 per transaction); the trigger (record updated,
   stage became Won) starts a run per deal in `--workers` scenario worker processes,
   each run: condition -> update another record -> HTTP POST to a loopback receiver
   (its own process) -> set a field of the deal. Measured from the first commit to the
   last run done.
   Baseline, same run: the same five steps per deal as plain service calls in one
   loop (a hand-written "scenario" with no engine: no runs, no step log, no trigger).
2. Pending waits: W runs parked in a 7-day wait; the cost of a worker pass while
   nothing is due (the claim query), and then D of them coming due at once: the time
   until all D are done (the issue asks for 10,000 within the minute).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from common import ROOT, Env, Results, environment, free_port, parser
from webhook_receiver import ReceiverProcess

from kartoteka.catalogs import service as catalogs_service
from kartoteka.context import Actor
from kartoteka.records import service as records
from kartoteka.records.requests import BatchRequest, CreateItem, UpdateItem
from kartoteka.scenarios import engine, passes, runs, service, worker
from kartoteka.scenarios.clock import clock
from kartoteka.storage import schema

WORKER = """
import sys, json, time
from pathlib import Path
from kartoteka.config import Settings
from kartoteka.workspaces.service import Instance
from kartoteka.scenarios import engine, worker
spec = json.loads(sys.argv[1])
settings = Settings(data_dir=Path(spec["data_dir"]), database_url=spec["database_url"],
                    default_workspace=spec["workspace"], webhook_allow_private=True)
ws = Instance(settings).workspace(spec["workspace"])
services = engine.Services(allow_private=True, threads=spec["threads"])
deadline = time.monotonic() + spec["seconds"]
while time.monotonic() < deadline:
    if worker.run_once(ws, services, owner=spec["owner"]) == 0:
        time.sleep(0.005)
"""


def catalogs(env: Env) -> None:
    admin = env.admin()
    catalogs_service.create_catalog(
        admin,
        {
            "name": "Clients",
            "api_name": "clients",
            "fields": [
                {"name": "Name", "type": "text", "api_name": "name"},
                {"name": "Won", "type": "number", "api_name": "won"},
            ],
        },
    )
    catalogs_service.create_catalog(
        admin,
        {
            "name": "Deals",
            "api_name": "deals",
            "fields": [
                {"name": "Name", "type": "text", "api_name": "name"},
                {"name": "Amount", "type": "number", "api_name": "amount"},
                {
                    "name": "Stage",
                    "type": "select",
                    "api_name": "stage",
                    "options": {"choices": ["New", "Won"]},
                },
                {"name": "Client", "type": "number", "api_name": "client"},
                {"name": "Note", "type": "text", "api_name": "note"},
            ],
        },
    )


def five_steps(url: str) -> dict[str, Any]:
    return {
        "name": "Won deal",
        "trigger": {
            "type": "record.updated",
            "catalog": "deals",
            "fields": ["stage"],
            "filter": {"stage": {"eq": "Won"}},
        },
        "steps": [
            {
                "type": "condition",
                "filter": {"amount": {"gt": 0}},
                "then": [
                    {
                        "type": "update_record",
                        "catalog": "clients",
                        "record": "{{ record.client }}",
                        "values": {"won": "{{ record.amount }}"},
                    },
                    {
                        "type": "http",
                        "method": "POST",
                        "url": url,
                        "json": {"deal": "{{ record.id }}", "amount": "{{ record.amount }}"},
                    },
                    {"type": "update_record", "values": {"note": "invoiced"}},
                ],
            },
        ],
    }


def seed(env: Env, n: int) -> tuple[list[int], list[int]]:
    admin = env.admin()
    clients: list[int] = []
    deals: list[int] = []
    for start in range(0, n, 1000):
        size = min(1000, n - start)
        names = [CreateItem({"name": f"C{start + i}"}) for i in range(size)]
        clients += records.batch(admin, "clients", BatchRequest(create=names)).created
        rows = [
            CreateItem(
                {
                    "name": f"D{start + i}",
                    "amount": 10 + i,
                    "stage": "New",
                    "client": clients[start + i],
                }
            )
            for i in range(size)
        ]
        deals += records.batch(admin, "deals", BatchRequest(create=rows)).created
    return clients, deals


def win(env: Env, deals: list[int]) -> None:
    admin = env.admin()
    for start in range(0, len(deals), 1000):
        items = [UpdateItem(d, {"stage": "Won"}) for d in deals[start : start + 1000]]
        records.batch(admin, "deals", BatchRequest(update=items))


def done_count(env: Env) -> int:
    r = schema.scenario_runs
    with env.workspace().engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(r).where(r.c.status == "done")
            ).scalar_one()
        )


def end_to_end(env: Env, results: Results, n: int, workers: int, threads: int, url: str) -> None:
    clients, deals = seed(env, n)
    admin = env.admin()
    service.create_scenario(admin, five_steps(url))
    spec = {
        "data_dir": str(env.settings.data_dir),
        "database_url": env.settings.database_url,
        "workspace": env.settings.default_workspace,
        "seconds": 600,
        "threads": threads,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps({**spec, "owner": f"bench-{i}"})],
            env={"PYTHONPATH": str(ROOT), "PATH": ""},
        )
        for i in range(workers)
    ]
    try:
        time.sleep(2.0)  # the workers open the workspace
        idle_cpu = sum(_cpu_seconds(p.pid) for p in procs)
        started = time.perf_counter()
        win(env, deals)
        while done_count(env) < n:
            time.sleep(0.05)
            if time.perf_counter() - started > 600:
                raise RuntimeError("the runs did not finish in 10 minutes")
        took = time.perf_counter() - started
        worker_cpu = sum(_cpu_seconds(p.pid) for p in procs) - idle_cpu
    finally:
        for p in procs:
            p.kill()
            p.wait()
    baseline, baseline_cpu = plain_calls(env, clients, deals, url)
    results.add(
        f"5-step scenario runs/s, {workers} worker(s) x {threads} threads, {n} runs",
        n / took,
        "runs/s",
        baseline=baseline,
        baseline_name="the same 5 steps as plain service calls, 1 loop",
        target=">= 1000 (PostgreSQL, 2 workers), >= 500 (SQLite)",
    )
    results.add(
        "CPU of the scenario workers per run",
        worker_cpu / n * 1000,
        "ms",
        baseline=baseline_cpu * 1000,
        baseline_name="CPU per deal of the plain service calls",
        note="user+system time of the worker processes (the database and receiver apart)",
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plain_calls(env: Env, clients: list[int], deals: list[int], url: str) -> tuple[float, float]:
    """The five steps with no engine: read, check, update, POST, update; per deal.
    Returns deals/s and CPU seconds per deal (this process)."""
    admin = Actor.system(env.workspace())
    count = min(len(deals), 500)
    with httpx.Client() as http:
        started = time.perf_counter()
        cpu = time.process_time()
        for deal_id in deals[:count]:
            deal = records.get_record(admin, "deals", deal_id)["values"]
            if deal["amount"] > 0:
                records.update_record(admin, "clients", deal["client"], {"won": deal["amount"]})
                http.post(url, json={"deal": deal_id, "amount": deal["amount"]})
                records.update_record(admin, "deals", deal_id, {"note": "plain"})
        return count / (time.perf_counter() - started), (time.process_time() - cpu) / count


def _idle_pass_ms(ws: Any, services: engine.Services) -> float:
    """Median time of a scenario worker pass with nothing to do."""
    samples = []
    for _ in range(20):
        t = time.perf_counter()
        worker.run_once(ws, services, owner="bench")
        samples.append((time.perf_counter() - t) * 1000)
    return sorted(samples)[len(samples) // 2]


def waits(env: Env, results: Results, pending: int, due: int) -> None:
    admin = env.admin()
    sc = service.create_scenario(
        admin,
        {
            "name": "Waiter",
            "trigger": {"type": "manual"},
            "steps": [{"type": "wait", "duration": "P7D"}, {"type": "set", "vars": {"woke": True}}],
        },
    )
    ws = env.workspace()
    now = clock.now()
    services = engine.Services(threads=8)
    idle = _idle_pass_ms(ws, services)
    rows = []
    for i in range(pending):
        row = runs.new_run_row(
            ws,
            sc["id"],
            key=f"w{i}",
            trigger={"type": "manual"},
            now=now,
            version=sc["version"],
            status="waiting",
        )
        row["state"] = {"pc": 1, "vars": {}, "attempt": 1}
        row["due_at"] = now + timedelta(days=7, seconds=i % 3600)
        rows.append(row)
    with ws.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            runs.insert_runs(conn, rows[start : start + 5000])
    results.add(
        f"worker pass with {pending:,} pending waits, none due (median)",
        _idle_pass_ms(ws, services),
        "ms",
        baseline=idle,
        baseline_name="the same pass with no pending wait",
        target="~ the baseline",
    )
    r = schema.scenario_runs
    with ws.engine.begin() as conn:
        ids = [
            x[0]
            for x in conn.execute(
                sa.select(r.c.id).where(r.c.scenario_id == sc["id"]).order_by(r.c.id).limit(due)
            )
        ]
        for start in range(0, len(ids), 900):
            conn.execute(
                sa.update(r).where(r.c.id.in_(ids[start : start + 900])).values(due_at=now)
            )
    started = time.perf_counter()
    cpu = time.process_time()
    total = 0
    while total < due:
        total += passes.run_due(ws, "bench", services)
    took = time.perf_counter() - started
    cpu = time.process_time() - cpu
    services.close()
    results.add(
        f"{due:,} waits coming due at once: all done in",
        took,
        "s",
        target="< 60 s",
        ok=took < 60,
        note=f"{due / took:,.0f} runs/s, one worker, {cpu / due * 1000:.2f} ms CPU per run",
    )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="scenario workers (default 1 SQLite, 2 PostgreSQL)",
    )
    p.add_argument("--threads", type=int, default=8, help="runs executed at once per worker")
    p.add_argument("--runs", type=int, default=None, help="end-to-end runs")
    p.add_argument("--pending", type=int, default=None, help="pending waits")
    p.add_argument("--due", type=int, default=None, help="waits coming due at once")
    args = p.parse_args()
    n = args.runs or (1000 if args.quick else 5000)
    pending = args.pending or (10_000 if args.quick else 100_000)
    due = args.due or (2_000 if args.quick else 10_000)
    with environment(args.database_url) as env:
        results = Results(
            "bench_scenarios", env.database, sizes={"runs": n, "pending": pending, "due": due}
        )
        workers = args.workers or (2 if env.settings.database_url else 1)
        receiver = ReceiverProcess(free_port())
        try:
            catalogs(env)
            end_to_end(env, results, n, workers, args.threads, receiver.url("/request"))
        finally:
            receiver.proc.kill()
            receiver.proc.wait()
        waits(env, results, pending, due)
        results.print()
        results.write(args.json)


if __name__ == "__main__":
    main()
