"""Webhooks end to end: committed changes -> `kartoteka worker` -> signed POSTs to a receiver.

Measures signed deliveries/s and commit->receipt latency (p50/p99) with a local uvicorn
receiver, against a baseline of raw httpx POSTs (8 threads, like the sender) of the
same bodies to the same receiver. Then the fault drill at full size: the receiver
answers 503 for its first 10 s (not 60 s: a bench run must stay short), the worker is
killed with SIGKILL mid-delivery and restarted; every sequence must arrive.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import uvicorn
from common import ROOT, Env, Results, environment, parser, percentile

SCHEDULE = "0,0.2,0.5,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"
FAIL_SECONDS = 10.0


class Receiver:
    """A uvicorn receiver in a thread: records receipt time, body and headers per message."""

    def __init__(self) -> None:
        self.got: dict[str, tuple[float, bytes, int]] = {}  # webhook-id -> (time, body, record)
        self.posts = 0
        self.fail_until = 0.0
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="error", interface="asgi3"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGI: 503 while failing, else record and answer 204."""
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        self.posts += 1
        status = 503 if time.time() < self.fail_until else 204
        if status == 204:
            headers = dict(scope["headers"])
            msg_id = headers.get(b"webhook-id", b"raw").decode()
            self.got.setdefault(msg_id, (time.time(), body, 0))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def worker(env: Env) -> subprocess.Popen[bytes]:
    """A real `kartoteka worker` process on the bench instance."""
    e = env.server_env()
    e.update(
        KARTOTEKA_WEBHOOK_ALLOW_PRIVATE="1",
        KARTOTEKA_WEBHOOK_RETRY_SCHEDULE=SCHEDULE,
        KARTOTEKA_WEBHOOK_TIMEOUT="1",
    )
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/kartoteka"), "worker"],
        env=e,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def setup(env: Env, url: str, name: str) -> None:
    """A catalog and a notify webhook on it."""
    from kartoteka.catalogs import service as catalogs
    from kartoteka.webhooks import service as webhooks

    catalogs.create_catalog(
        env.admin(), {"name": name, "fields": [{"name": "N", "type": "number"}]}
    )
    webhooks.create_webhook(env.admin(), {"url": url, "catalog": name.lower()})


def commit(env: Env, catalog: str, n: int) -> dict[int, float]:
    """Create n records in batches of 1000; returns record id -> commit time."""
    from kartoteka.records import service

    at: dict[int, float] = {}
    actor = env.admin()
    for start in range(0, n, 1000):
        rows = [{"values": {"n": i}} for i in range(start, min(n, start + 1000))]
        ids = service.batch(actor, catalog, {"create": rows})["created"]
        now = time.time()
        at.update(dict.fromkeys(ids, now))
    return at


def wait_for(rx: Receiver, n: int, seconds: float) -> bool:
    """Until the receiver holds n distinct messages (bounded)."""
    deadline = time.monotonic() + seconds
    while len(rx.got) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(rx.got) >= n


def end_to_end(env: Env, rx: Receiver, n: int, res: Results) -> None:
    """Throughput and latency of signed deliveries vs raw httpx POSTs."""
    import json

    setup(env, rx.url(), "Speed")
    proc = worker(env)
    try:
        time.sleep(3)  # let the worker start (imports, first poll)
        t0 = time.time()
        committed = commit(env, "speed", n)
        ok = wait_for(rx, n, 300)
        took = max(t for t, _, _ in rx.got.values()) - t0
    finally:
        kill(proc)
    lat = []
    for t, body, _ in rx.got.values():
        rec = json.loads(body)["record_id"]
        lat.append((t - committed[rec]) * 1000)
    bodies = [b for _, b, _ in rx.got.values()]
    rx.got.clear()
    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
        r0 = time.perf_counter()
        list(pool.map(lambda b: client.post(rx.url(), content=b), bodies))
        raw = len(bodies) / (time.perf_counter() - r0)
    res.add("signed deliveries/s, commit->receipt", n / took, "/s", raw, "raw httpx POST")
    res.add("commit->receipt p50", percentile(lat, 50), "ms")
    res.add("commit->receipt p99", percentile(lat, 99), "ms", note="" if ok else "INCOMPLETE")
    rx.got.clear()


def drill(env: Env, rx: Receiver, n: int, res: Results) -> None:
    """503 for FAIL_SECONDS, kill -9 mid-delivery, restart: time until every event arrived."""
    import json

    setup(env, rx.url(), "Drill")
    rx.posts = 0
    rx.fail_until = time.time() + FAIL_SECONDS
    t0 = time.time()
    proc = worker(env)
    try:
        commit(env, "drill", n)
        while len(rx.got) < n // 4 and time.time() - t0 < 120:
            time.sleep(0.01)
        kill(proc)
        proc = worker(env)
        ok = wait_for(rx, n, 300)
    finally:
        kill(proc)
    seqs = sorted(json.loads(b)["sequence"] for _, b, _ in rx.got.values())
    contiguous = seqs == list(range(seqs[0], seqs[0] + n)) if seqs else False
    res.add(
        f"drill: {n} changes, 503 for {FAIL_SECONDS:g} s, kill -9, all received",
        time.time() - t0,
        "s",
        note=f"complete={ok and contiguous}, POSTs={rx.posts}, distinct={len(rx.got)}",
    )


def main() -> None:
    """Run both measurements and print the table."""
    args = parser(__doc__ or "").parse_args()
    # SIGTERM (e.g. `timeout`) must unwind through the `finally`s that kill the worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = 2000 if args.quick else 20000
    with environment(args.database_url) as env:
        env.settings.webhook_allow_private = True  # the receiver is on loopback
        res = Results("bench_webhooks", env.database, {"changes": n, "drill": n})
        rx = Receiver()
        try:
            end_to_end(env, rx, n, res)
            drill(env, rx, n, res)
        finally:
            rx.close()
    res.print()
    res.write(args.json)


if __name__ == "__main__":
    main()
