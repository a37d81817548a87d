"""What metrics and JSON logs cost: single-record GET with and without them, same run.

Target: request metrics plus one JSON log line per request cost <= 5% of throughput.
Two servers over the same data, each uvicorn with 2 workers on loopback, loaded in
alternating rounds (so a neighbour's load hits both alike):

- observed: the app as shipped, `KARTOTEKA_LOG_FORMAT=json` (log lines to a file) and
  `PROMETHEUS_MULTIPROC_DIR` set (the metrics of both workers kept in shared files,
  the setting for more than one process);
- plain: the same app with the observability middleware taken out and logging off.

After the run one scrape of the observed server checks that every request was counted.
Last, in this process: what the middleware's `_record` (metrics + the JSON access line)
costs per request inside the app, next to the same call repeated in a tight loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from bench_http import HERE, load, setup, uvicorn_cmd
from common import (
    Env,
    Results,
    environment,
    free_port,
    get_scope,
    parser,
    process_tree,
    server,
)

ROUNDS = 3
TOKEN = "bench-metrics"


def plain_app() -> Any:
    """The app without the observability middleware (uvicorn factory, the baseline)."""
    from kartoteka.observability.middleware import ObservabilityMiddleware
    from kartoteka.server import create_app

    app = create_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not ObservabilityMiddleware]
    return app


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a server and its workers (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _counted(port: int, catalog_id: int) -> float:
    """Requests the observed server counted on the record route with status 200."""
    text = httpx.get(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    ).text
    route = "/api/v1/catalogs/{catalog}/records/{record_id}"
    total = 0.0
    for line in text.splitlines():
        if line.startswith("kartoteka_http_requests_total{") and f'route="{route}"' in line:
            total += float(line.rsplit(" ", 1)[1]) if 'status="200"' in line else 0
    return total


async def _get(app: Any, path: str, token: str) -> dict[str, Any]:
    """One GET straight through the ASGI app (no server, no socket); returns its scope."""
    scope = get_scope(path, {"authorization": f"Bearer {token}"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    await app(scope, receive, send)
    return scope


async def _gets(app: Any, path: str, token: str, count: int) -> dict[str, Any]:
    """`count` GETs one after another; returns the last one's scope."""
    for _ in range(count):
        scope = await _get(app, path, token)
    return scope


def record_in_situ(env: Env, path: str, requests: int) -> tuple[float, float]:
    """Microseconds of CPU `_record` takes per request inside the app, and in a tight loop.

    The access line goes through `logs.configure("json")` to a temp file; the metrics stay
    in this process's memory (this process imported prometheus-client before any choice).
    """
    from kartoteka.observability import logs
    from kartoteka.observability.middleware import ObservabilityMiddleware
    from kartoteka.server import create_app

    app = create_app(env.settings, env.instance)
    token = env.token()
    spent: list[float] = []
    original = ObservabilityMiddleware._record

    def timed(self: Any, *args: Any, **kwargs: Any) -> None:
        started = time.thread_time()
        original(self, *args, **kwargs)
        spent.append(time.thread_time() - started)

    stderr, root = sys.stderr, logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with tempfile.TemporaryFile("w") as lines:
        sys.stderr = lines
        logs.configure("json")
        ObservabilityMiddleware._record = timed  # type: ignore[method-assign]
        try:
            asyncio.run(_gets(app, path, token, requests))  # warm-up
            spent.clear()
            scope = asyncio.run(_gets(app, path, token, requests))
            middleware = next(m for m in _layers(app) if isinstance(m, ObservabilityMiddleware))
            in_app = sum(spent) / len(spent)
            started = time.thread_time()
            for _ in range(requests):
                original(middleware, scope, 200, 0.001, failed=False)
            looped = (time.thread_time() - started) / requests
        finally:
            ObservabilityMiddleware._record = original  # type: ignore[method-assign]
            sys.stderr = stderr
            root.handlers[:] = handlers
            root.setLevel(level)
    return in_app * 1e6, looped * 1e6


def calls_per_get(env: Env, path: str, requests: int) -> tuple[float, float]:
    """Python function calls per GET through the app with the middleware, and without it.

    A count, not a time: it does not move with the machine's load, so it shows what the
    middleware adds even where the CPU measures above drown in a shared machine's noise.
    The access line goes to a temp file through `logs.configure("json")` alone.
    """
    import cProfile
    import pstats

    from kartoteka.observability import logs
    from kartoteka.observability.middleware import ObservabilityMiddleware
    from kartoteka.server import create_app

    token = env.token()
    observed = create_app(env.settings, env.instance)
    plain = create_app(env.settings, env.instance)
    plain.user_middleware = [
        m for m in plain.user_middleware if m.cls is not ObservabilityMiddleware
    ]
    stderr, root = sys.stderr, logging.getLogger()
    handlers, level = list(root.handlers), root.level
    calls = []
    with tempfile.TemporaryFile("w") as lines:
        sys.stderr = lines
        logs.configure("json")
        root.handlers[:] = [h for h in root.handlers if isinstance(h, logs._OurHandler)]
        try:
            for app in (observed, plain):
                asyncio.run(_gets(app, path, token, 100))  # warm-up
                profile = cProfile.Profile()
                profile.enable()
                asyncio.run(_gets(app, path, token, requests))
                profile.disable()
                calls.append(pstats.Stats(profile).total_calls / requests)  # type: ignore[attr-defined]
        finally:
            sys.stderr = stderr
            root.handlers[:] = handlers
            root.setLevel(level)
    return calls[0], calls[1]


def _layers(app: Any) -> Any:
    """The built middleware stack of an app, outermost first."""
    layer = app.middleware_stack
    while layer is not None:
        yield layer
        layer = getattr(layer, "app", None)


def run(env: Env, seconds: float, res: Results) -> None:
    """Measure both servers in alternating rounds and fill the table."""
    catalog, rid = setup(env)
    bearer = {"Authorization": f"Bearer {env.token()}"}
    path = f"/api/v1/catalogs/{catalog.id}/records/{rid}"
    base = env.server_env()
    with tempfile.TemporaryDirectory() as shared:
        observed_env = dict(
            base,
            KARTOTEKA_LOG_FORMAT="json",
            KARTOTEKA_METRICS_TOKEN=TOKEN,
            PROMETHEUS_MULTIPROC_DIR=shared,
        )
        plain_env = dict(base, KARTOTEKA_LOG_FORMAT="none")
        plain_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        p1, p2 = free_port(), free_port()
        observed_cmd = uvicorn_cmd("kartoteka.server:create_app", p1, ["--factory"])
        plain_cmd = uvicorn_cmd(
            "bench_observability:plain_app", p2, ["--factory", "--app-dir", str(HERE)]
        )
        with (
            server(observed_cmd, observed_env, p1) as observed,
            server(plain_cmd, plain_env, p2) as plain_proc,
        ):
            urls = {
                "observed": f"http://127.0.0.1:{p1}{path}",
                "plain": f"http://127.0.0.1:{p2}{path}",
            }
            pids = {"observed": observed.pid, "plain": plain_proc.pid}
            for url in urls.values():
                load(url, bearer, 2)  # warm-up
            runs: dict[str, list[dict[str, float]]] = {"observed": [], "plain": []}
            # CPU per request does not depend on what else the machine runs meanwhile.
            cpu = {"observed": 0.0, "plain": 0.0}
            served = {"observed": 0.0, "plain": 0.0}
            for _ in range(ROUNDS):
                for name, url in urls.items():
                    before = cpu_seconds(pids[name])
                    result = load(url, bearer, seconds / ROUNDS)
                    cpu[name] += cpu_seconds(pids[name]) - before
                    served[name] += result["rps"] * seconds / ROUNDS
                    runs[name].append(result)
            counted = _counted(p1, catalog.id)
    obs, plain = (
        {k: sum(r[k] for r in runs[n]) / ROUNDS for k in ("rps", "p50", "p99", "errors")}
        for n in ("observed", "plain")
    )
    cost = 1 - obs["rps"] / plain["rps"]
    per_request = {n: cpu[n] / served[n] * 1e6 for n in cpu}
    cpu_cost = per_request["observed"] / per_request["plain"] - 1
    res.add(
        "server CPU per GET with metrics + JSON logs",
        per_request["observed"],
        "us",
        per_request["plain"],
        "without them",
        "cost <= 5%",
        cpu_cost <= 0.05,
        f"cost {cpu_cost * 100:.1f}% (server processes' user+system CPU / requests served)",
    )
    res.add(
        "GET record with metrics + JSON logs",
        obs["rps"],
        "req/s",
        plain["rps"],
        "without them",
        "cost <= 5%",
        cost <= 0.05 and not obs["errors"],
        f"cost {cost * 100:.1f}%; requests counted by /metrics: {int(counted)}",
    )
    res.add("GET record without them (baseline)", plain["rps"], "req/s")
    res.add("p50 latency with / without", obs["p50"], "ms", plain["p50"], "without")
    res.add("p99 latency with / without", obs["p99"], "ms", plain["p99"], "without")
    with_calls, without_calls = calls_per_get(env, path, 500)
    res.add(
        "Python calls per GET with metrics + JSON logs",
        with_calls,
        "calls",
        without_calls,
        "without them",
        note=f"+{with_calls - without_calls:.0f} calls (cProfile; a count, immune to load)",
    )
    in_app, looped = record_in_situ(env, path, 500 if seconds < 10 else 2000)
    res.add(
        "_record per request, inside the app",
        in_app,
        "us",
        looped,
        "same call in a tight loop",
        note="metrics + JSON access line; CPU time of the call (the loop keeps caches warm)",
    )


def main() -> None:
    """Run the observability cost benchmark."""
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    seconds = 6 if args.quick else 18
    with environment(args.database_url) as env:
        res = Results("bench_observability", env.database, {"rounds": ROUNDS, "seconds": seconds})
        run(env, seconds, res)
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
