"""Webhooks end to end: committed changes -> `kartoteka worker` processes -> signed POSTs.

The receiver is a uvicorn app in its own process on loopback (`webhook_receiver.py`).
Workers are real `kartoteka worker` processes: one on SQLite, two on PostgreSQL
(`--workers` changes that). Measured, in one run:

- throughput: N changes committed with `records.service.batch` (1000 per transaction),
  signed deliveries/s from the first commit to the last receipt;
- latency: a writer committing 10 changes every 20 ms (500 changes/s) for
  `--seconds`; commit -> receipt p50/p99 (the worker hears commits of this process
  through LISTEN/NOTIFY on PostgreSQL, the event-counter watch on SQLite);
- baselines on the same receiver with the same bodies, no signing, no database: raw
  POSTs from the sender's own HTTP client (`webhooks.http1`, 32 connections) and from
  httpx (8 threads, the previous sender's design).

`--drill` runs the fault drill instead: N changes (20,000), the receiver answers 503
for the first 60 s, one worker is killed with SIGKILL once a quarter has arrived and
is restarted; every sequence must arrive, each under one webhook-id.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
from common import ROOT, Env, Results, environment, free_port, parser, percentile
from webhook_receiver import ReceiverProcess

#: Retries that outlast the drill's 60 s failure window: 0, 2, 7, 17, 32, 47, 62, 77 s...
SCHEDULE = "0,2,5,10,15,15,15,15,15,15,15,15"
LEASE_MARGIN = "10"
PACE_BATCH = 10
PACE_SECONDS = 0.02


def worker(env: Env) -> subprocess.Popen[bytes]:
    """A real `kartoteka worker` process on the bench instance."""
    e = env.server_env()
    e.update(
        KARTOTEKA_WEBHOOK_ALLOW_PRIVATE="1",
        KARTOTEKA_WEBHOOK_RETRY_SCHEDULE=SCHEDULE,
        KARTOTEKA_WEBHOOK_TIMEOUT="1",
        KARTOTEKA_WEBHOOK_LEASE_MARGIN=LEASE_MARGIN,
    )
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/kartoteka"), "worker"],
        env=e,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker's process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def workers(env: Env, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` worker processes, given time to start (imports, first full pass)."""
    procs = [worker(env) for _ in range(count)]
    try:
        time.sleep(3)
        yield procs
    finally:
        for proc in procs:
            kill(proc)


BATCH_SIZE = 1  # --batch-size: events per notify message


def setup(env: Env, rx: ReceiverProcess, name: str) -> str:
    """A catalog and a notify webhook on it; returns the catalog's api name."""
    from kartoteka.catalogs import service as catalogs
    from kartoteka.webhooks import service as webhooks

    catalogs.create_catalog(
        env.admin(), {"name": name, "fields": [{"name": "N", "type": "number"}]}
    )
    webhooks.create_webhook(
        env.admin(), {"url": rx.url(), "catalog": name.lower(), "batch_size": BATCH_SIZE}
    )
    return name.lower()


def commit(env: Env, catalog: str, n: int, per: int = 1000) -> dict[int, float]:
    """Create n records, `per` in a transaction; returns record id -> commit time."""
    from kartoteka.records import service
    from kartoteka.records.requests import BatchRequest

    at: dict[int, float] = {}
    actor = env.admin()
    for start in range(0, n, per):
        rows = [{"n": i} for i in range(start, min(n, start + per))]
        ids = service.batch(actor, catalog, BatchRequest.creating(rows)).created
        at.update(dict.fromkeys(ids, time.time()))
    return at


def paced(env: Env, catalog: str, seconds: float) -> dict[int, float]:
    """Commit PACE_BATCH records every PACE_SECONDS (500 changes/s) for `seconds`."""
    from kartoteka.records import service
    from kartoteka.records.requests import BatchRequest

    at: dict[int, float] = {}
    actor = env.admin()
    start = time.monotonic()
    ticks = int(seconds / PACE_SECONDS)
    for tick in range(ticks):
        delay = start + tick * PACE_SECONDS - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        rows = [{"n": tick} for _ in range(PACE_BATCH)]
        ids = service.batch(actor, catalog, BatchRequest.creating(rows)).created
        at.update(dict.fromkeys(ids, time.time()))
    return at


def latencies(rx: ReceiverProcess, committed: dict[int, float]) -> list[float]:
    """Commit -> receipt in ms per received message of the committed records."""
    return [(t - committed[rec]) * 1000 for _, t, _, rec in rx.dump() if rec in committed]


def throughput(env: Env, rx: ReceiverProcess, n: int, count: int, res: Results) -> list[bytes]:
    """N changes at once; deliveries/s from the first commit to the last receipt."""
    catalog = setup(env, rx, "Speed")
    rx.reset()
    with workers(env, count):
        t0 = time.time()
        committed = commit(env, catalog, n)
        ok = rx.wait_for(n, 600)
    got = rx.dump()
    took = max(t for _, t, _, _ in got) - t0
    lat = [(t - committed[rec]) * 1000 for _, t, _, rec in got if rec in committed]
    res.add(
        f"signed deliveries/s, {n} changes, {count} worker(s)",
        n / took,
        "/s",
        target=">= 2,000/s",
        ok=ok and n / took >= 2000,
        note="" if ok else f"INCOMPLETE: {len(got)}/{n}",
    )
    res.add("  (backlog) commit->receipt p50", percentile(lat, 50), "ms", note="queueing")
    res.add("  (backlog) commit->receipt p99", percentile(lat, 99), "ms", note="queueing")
    return payloads(env)


def payloads(env: Env) -> list[bytes]:
    """The notify bodies the worker sent (for the baselines to send again)."""
    import sqlalchemy as sa

    from kartoteka.storage import schema

    d = schema.webhook_deliveries
    with env.workspace().engine.connect() as conn:
        return [r[0].encode() for r in conn.execute(sa.select(d.c.payload).order_by(d.c.id))]


def steady(env: Env, rx: ReceiverProcess, seconds: float, count: int, res: Results) -> None:
    """500 changes/s for `seconds`: commit -> receipt p50/p99."""
    catalog = setup(env, rx, "Steady")
    rx.reset()
    with workers(env, count):
        committed = paced(env, catalog, seconds)
        ok = rx.wait_for(len(committed), 120)
    lat = latencies(rx, committed)
    rate = PACE_BATCH / PACE_SECONDS
    note = f"{len(committed)} changes" + ("" if ok else f", INCOMPLETE: {len(lat)}")
    res.add(f"commit->receipt p50 at {rate:g} changes/s", percentile(lat, 50), "ms", note=note)
    p99 = percentile(lat, 99)
    res.add(
        f"commit->receipt p99 at {rate:g} changes/s",
        p99,
        "ms",
        target="<= 500 ms",
        ok=ok and p99 <= 500,
    )


def baseline_http1(url: str, bodies: list[bytes]) -> float:
    """Raw POSTs/s with the sender's own client: 32 connections, no signing, no database."""
    from kartoteka.webhooks import http1

    async def run() -> float:
        pool = http1.Pool()
        queue = iter(enumerate(bodies))

        async def lane() -> None:
            for i, body in queue:
                headers = {"content-type": "application/json", "webhook-id": f"raw_{i}"}
                await pool.post(url, lambda h=headers: h, body, 5, 5, 2048)

        start = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(http1.MAX_CONNECTIONS)))
        took = time.perf_counter() - start
        await pool.aclose()
        return len(bodies) / took

    return asyncio.run(run())


def _raw_id(i: int) -> dict[str, str]:
    return {"content-type": "application/json", "webhook-id": f"raw_{i}"}


def baseline_httpx(url: str, bodies: list[bytes]) -> float:
    """Raw POSTs/s with httpx from 8 threads (the previous sender's design)."""
    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
        start = time.perf_counter()
        list(
            pool.map(
                lambda ib: client.post(url, content=ib[1], headers=_raw_id(ib[0])),
                enumerate(bodies),
            )
        )
        return len(bodies) / (time.perf_counter() - start)


def baselines(rx: ReceiverProcess, bodies: list[bytes], res: Results) -> None:
    """Both raw-POST baselines, and the throughput row's ratio against the first."""
    rx.reset()
    raw = baseline_http1(rx.url("/raw"), bodies)
    rx.reset()
    slow = baseline_httpx(rx.url("/raw"), bodies)
    rx.reset()
    res.rows[0].baseline, res.rows[0].baseline_name = raw, "raw POST, http1 client"
    res.add("raw POST, sender's http1 client (baseline)", raw, "/s")
    res.add("raw POST, httpx 8 threads (baseline)", slow, "/s")


def drill(env: Env, rx: ReceiverProcess, n: int, fail: float, count: int, res: Results) -> None:
    """503 for `fail` s, kill -9 one worker mid-delivery, restart it: all must arrive."""
    catalog = setup(env, rx, "Drill")
    rx.reset()
    rx.fail_for(fail)
    t0 = time.time()
    procs = [worker(env) for _ in range(count)]
    try:
        commit(env, catalog, n)
        while rx.count()[0] < n // 4 and time.time() - t0 < fail + 300:
            time.sleep(0.05)
        kill(procs[0])
        procs[0] = worker(env)
        ok = rx.wait_for(n, 900)
    finally:
        for proc in procs:
            kill(proc)
    got = rx.dump()
    posts = rx.count()[1]
    seqs = sorted(s for _, _, s, _ in got)
    contiguous = bool(seqs) and seqs == list(range(seqs[0], seqs[0] + n))
    res.add(
        f"drill: {n} changes, 503 for {fail:g} s, kill -9, restart: all received",
        max(t for _, t, _, _ in got) - t0 if got else 0.0,
        "s",
        ok=ok and contiguous and len(got) == n,
        note=f"distinct={len(got)}, contiguous={contiguous}, POSTs={posts}",
    )


def main() -> None:
    """Run the measurements and print the table."""
    p = parser(__doc__ or "")
    p.add_argument("--drill", action="store_true", help="run the fault drill instead")
    p.add_argument("--workers", type=int, default=None, help="default: 1 SQLite, 2 PostgreSQL")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the 500/s run")
    p.add_argument("--batch-size", type=int, default=1, help="events per message (batch_size)")
    args = p.parse_args()
    global BATCH_SIZE
    BATCH_SIZE = args.batch_size
    # SIGTERM (e.g. `timeout`) must unwind through the `finally`s that kill the workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = 2000 if args.quick else 20000
    seconds = 5.0 if args.quick else args.seconds
    fail = 10.0 if args.quick else 60.0
    with environment(args.database_url) as env:
        env.settings.webhook_allow_private = True  # the receiver is on loopback
        count = args.workers or (2 if env.database == "postgresql" else 1)
        sizes = {"changes": n, "workers": count, "batch_size": BATCH_SIZE}
        if not args.drill:
            sizes["steady_seconds"] = seconds
        res = Results("bench_webhooks" + (" --drill" if args.drill else ""), env.database, sizes)
        rx = ReceiverProcess(free_port())
        try:
            if args.drill:
                drill(env, rx, n, fail, count, res)
            else:
                bodies = throughput(env, rx, n, count, res)
                steady(env, rx, seconds, count, res)
                baselines(rx, bodies, res)
        finally:
            rx.close()
    res.print()
    res.write(args.json)


if __name__ == "__main__":
    main()
