"""Single record GET over loopback HTTP: 2 uvicorn workers, 32 concurrent clients.

Targets: >= 2,000 requests/s with a bearer token; Basic auth within 10% of bearer
(the credential cache). Baseline in the same run: a bare Starlette endpoint returning
the same JSON, served the same way (uvicorn, 2 workers). The load comes from `wrk`
when installed, else from an asyncio httpx load generator in a separate process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Env,
    Results,
    create_catalog,
    environment,
    free_port,
    parser,
    server,
    tree_rss,
)

CONCURRENCY = 32
WORKERS = 2
HERE = Path(__file__).resolve().parent


# ----- the bare baseline app (imported by uvicorn in its own processes) -------------------------
def _bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    body = os.environ.get("BENCH_BARE_BODY", "{}").encode()

    async def record(_request: Any) -> Response:
        return Response(body, media_type="application/json")

    async def healthz(_request: Any) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/record", record), Route("/healthz", healthz)])


def __getattr__(name: str) -> Any:
    # Built lazily so that importing this module for anything else stays cheap.
    if name == "bare_app":
        return _bare_app()
    raise AttributeError(name)


# ----- load generation ------------------------------------------------------------------------
def load(url: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    """Requests/s and latency percentiles of CONCURRENCY clients for `seconds`."""
    if shutil.which("wrk"):
        return _wrk(url, headers, seconds)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--loadgen",
        url,
        "--seconds",
        str(seconds),
        "--headers",
        json.dumps(headers),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _combined(runs: list[dict[str, float]]) -> dict[str, float]:
    """Several equal-length runs as one: mean rate, summed errors, worst percentiles."""
    return {
        "rps": sum(r["rps"] for r in runs) / len(runs),
        "errors": sum(r["errors"] for r in runs),
        "p50": max(r["p50"] for r in runs),
        "p99": max(r["p99"] for r in runs),
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{max(1, round(seconds))}s", "--latency", url]
    for k, v in headers.items():
        cmd[1:1] = ["-H", f"{k}: {v}"]
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p50 = re.search(r"\s50%\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    return {
        "rps": rps,
        "errors": float(bad.group(1)) if bad else 0.0,
        "p50": _ms(p50.group(1)) if p50 else 0.0,
        "p99": _ms(p99.group(1)) if p99 else 0.0,
    }


async def _loadgen(url: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    samples: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                r = await client.get(url)
                samples.append((time.perf_counter() - start) * 1000)
                errors += r.status_code != 200

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - begin
    samples.sort()
    return {
        "rps": len(samples) / elapsed,
        "errors": float(errors),
        "p50": samples[len(samples) // 2],
        "p99": samples[int(len(samples) * 0.99)],
    }


# ----- the benchmark --------------------------------------------------------------------------
def setup(env: Env) -> tuple[Any, int]:
    """A catalog of 1,000 records with 10 fields; returns it and one record id."""
    from kartoteka.records import service
    from kartoteka.records.requests import BatchRequest

    def f(name: str, type_: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "api_name": name, "type": type_, **extra}

    catalog = create_catalog(
        env,
        {
            "name": "Bench http",
            "api_name": "bench_http",
            "fields": [
                f("name", "text"),
                f("amount", "money"),
                f("qty", "number"),
                f("due", "date"),
                f("opened", "datetime"),
                f("active", "checkbox"),
                f("email", "email"),
                f("stage", "select", options={"choices": [{"label": "A"}, {"label": "B"}]}),
                f("notes", "long_text"),
                f("rate", "number", options={"decimals": 2}),
            ],
        },
    )
    rows = [
        {
            "name": f"Record {i}",
            "amount": "1234.50",
            "qty": i,
            "due": "2025-03-01",
            "opened": "2025-03-01T10:00:00Z",
            "active": i % 2 == 0,
            "email": f"u{i}@example.com",
            "stage": "A",
            "notes": "some notes here",
            "rate": 1.25,
        }
        for i in range(1000)
    ]
    ids = service.batch(env.admin(), catalog.id, BatchRequest.creating(rows)).created
    return catalog, ids[500]


def uvicorn_cmd(app: str, port: int, extra: list[str] | None = None) -> list[str]:
    """uvicorn with WORKERS processes on loopback."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        *(extra or []),
        "--workers",
        str(WORKERS),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def run(env: Env, seconds: float, res: Results) -> None:
    """Measure bearer, Basic and the bare endpoint; fill the result table."""
    import httpx

    catalog, rid = setup(env)
    token = env.token()
    bearer = {"Authorization": f"Bearer {token}"}
    basic = {
        "Authorization": "Basic "
        + base64.b64encode(f"{ADMIN_EMAIL}:{ADMIN_PASSWORD}".encode()).decode()
    }
    port = free_port()
    path = f"/api/v1/catalogs/{catalog.id}/records/{rid}"
    srv_env = env.server_env()
    with server(
        uvicorn_cmd("kartoteka.server:create_app", port, ["--factory"]), srv_env, port
    ) as proc:
        url = f"http://127.0.0.1:{port}{path}"
        body = httpx.get(url, headers=bearer).text
        load(url, bearer, 2)  # warm-up: pools, caches, both workers
        load(url, basic, 2)
        # Alternating rounds, so drift (a neighbour's load, caches warming) hits both alike.
        rounds = [(load(url, bearer, seconds / 3), load(url, basic, seconds / 3)) for _ in "abc"]
        tok, bas = (_combined([r[i] for r in rounds]) for i in (0, 1))
        rss_total, _ = tree_rss(proc.pid)
    bare_env = dict(srv_env, BENCH_BARE_BODY=body)
    port = free_port()
    with server(uvicorn_cmd("bench_http:bare_app", port, ["--app-dir", str(HERE)]), bare_env, port):
        url = f"http://127.0.0.1:{port}/record"
        load(url, {}, 2)
        bare = load(url, {}, seconds)
    note = "errors: " + ", ".join(
        f"{k}={int(v['errors'])}" for k, v in (("bearer", tok), ("basic", bas), ("bare", bare))
    )
    res.add(
        "GET record, bearer token",
        tok["rps"],
        "req/s",
        bare["rps"],
        "bare Starlette",
        ">= 2,000 req/s",
        tok["rps"] >= 2000 and not tok["errors"],
        note,
    )
    res.add(
        "GET record, Basic auth",
        bas["rps"],
        "req/s",
        tok["rps"],
        "bearer",
        ">= 0.90x bearer",
        bas["rps"] >= 0.9 * tok["rps"] and not bas["errors"],
    )
    res.add("bare Starlette endpoint (baseline)", bare["rps"], "req/s")
    res.add("GET record, bearer p50 latency", tok["p50"], "ms", bare["p50"], "bare")
    res.add("GET record, bearer p99 latency", tok["p99"], "ms", bare["p99"], "bare")
    res.add("server RSS after load (total)", rss_total, "MB")


def main() -> None:
    """Run the HTTP benchmark (or, with --loadgen, be the load generator)."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--loadgen", default=None, help=argparse_hidden())
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--headers", default="{}")
    args = p.parse_args()
    if args.loadgen:
        print(
            json.dumps(asyncio.run(_loadgen(args.loadgen, json.loads(args.headers), args.seconds)))
        )
        return
    seconds = 4 if args.quick else 15
    with environment(args.database_url) as env:
        tool = "wrk" if shutil.which("wrk") else "httpx asyncio (1 process)"
        res = Results(
            "bench_http",
            env.database,
            {"concurrency": CONCURRENCY, "workers": WORKERS, "seconds": seconds, "load": tool},
        )
        run(env, seconds, res)
        res.print()
        res.write(args.json)


def argparse_hidden() -> str:
    """Help text of the internal load-generator mode."""
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
