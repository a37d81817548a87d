"""Web UI: the table view of a 1,000,000-record catalog and a record card, as a browser uses them.

Targets (issue 9): grid page server time <= 150 ms, each further page while scrolling
<= 100 ms, time to interactive in headless Chromium <= 1.5 s, a card with 30 fields,
5 link fields and 20 history entries <= 100 ms, first load of the grid <= 500 KB of
JavaScript and CSS (gzip). Measured over loopback HTTP against uvicorn in this process,
with the session cookie as the browser sends it. Baselines in the same run: the REST
API's own answers for the same data (the grid page = API first page + the page around
it; the card = GET of the record).
"""

from __future__ import annotations

import gzip
import socket
import statistics
import sys
import threading
import time
from typing import Any

import httpx
import uvicorn
from bench_list import PAGE, seed
from common import ADMIN_EMAIL, ADMIN_PASSWORD, Env, Results, environment, parser, summary, timed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def serve(env: Env) -> tuple[str, uvicorn.Server, threading.Thread]:
    """The app (API + UI) on a free loopback port."""
    from kartoteka.server import create_app

    env.settings.run_worker = False
    app = create_app(env.settings, env.instance)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", srv, thread


def browser_session(base: str) -> httpx.Client:
    """A client signed in through the login form (cookies, CSRF header for the API)."""
    c = httpx.Client(base_url=base, timeout=60)
    r = c.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    c.headers["X-CSRF-Token"] = c.cookies["kartoteka_csrf"]
    return c


def card_catalog(env: Env) -> int:
    """A catalog of 30 fields (5 of them links) and one record with 20 history entries."""
    from kartoteka.catalogs import service as catalogs
    from kartoteka.records import service as records

    actor = env.admin()
    target = catalogs.create_catalog(
        actor,
        {"name": "Linked", "api_name": "linked", "fields": [{"name": "Name", "type": "text"}]},
    )
    linked = [records.create_record(actor, "linked", {"name": f"L{i}"})["id"] for i in range(10)]
    kinds = ["text", "number", "money", "date", "checkbox"]
    fields: list[dict[str, Any]] = [{"name": f"F{i}", "type": kinds[i % 5]} for i in range(25)]
    fields += [
        {"name": f"Link{i}", "type": "link", "options": {"catalog": target.id, "multiple": True}}
        for i in range(5)
    ]
    catalogs.create_catalog(actor, {"name": "Card", "api_name": "card", "fields": fields})
    values: dict[str, Any] = {f"link{i}": linked[i : i + 2] for i in range(5)}
    values.update(f0="Card record", f1=1, f2="10.00", f3="2026-01-01", f4=True)
    rid = records.create_record(actor, "card", values)["id"]
    for i in range(19):
        records.update_record(actor, "card", rid, {"f1": i + 2, "f0": f"Card record {i}"})
    return rid


def collect(response: Any, into: list[bytes]) -> None:
    """Keep the body of a bundled asset."""
    if "/static/dist/" in response.url:
        into.append(response.body())


def tti(base: str, cookies: dict[str, str], runs: int) -> tuple[list[float], int]:
    """Time to the first grid row in headless Chromium, and the gzip size of JS+CSS."""
    from playwright.sync_api import sync_playwright

    samples: list[float] = []
    weight = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 850})
        context.add_cookies([{"name": k, "value": v, "url": base} for k, v in cookies.items()])
        for run in range(runs + 1):
            page = context.new_page()
            bodies: list[bytes] = []
            if run == 0:
                page.on("response", lambda r, into=bodies: collect(r, into))
            start = time.perf_counter()
            page.goto(base + "/c/bench_list")
            page.wait_for_selector(".tabulator-row")
            elapsed = time.perf_counter() - start
            if run == 0:
                weight = sum(len(gzip.compress(b)) for b in bodies)
            else:
                samples.append(elapsed)  # later loads use the browser cache, like people do
            page.close()
        browser.close()
    return samples, weight


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = 20_000 if args.quick else 1_000_000
    repeat = 20 if args.quick else 60
    with environment(args.database_url) as env:
        rid = card_catalog(env)
        seed(env, n)
        base, srv, thread = serve(env)
        results = Results("web", env.database, {"records": n, "page": PAGE})
        try:
            web = browser_session(base)

            def api_first() -> httpx.Response:
                return web.post("/api/v1/catalogs/bench_list/records/query", json={"limit": PAGE})

            page = summary(timed(lambda: web.get("/c/bench_list").raise_for_status(), repeat))
            first = summary(timed(lambda: api_first().raise_for_status(), repeat))
            results.add(
                "grid page (HTML: 30 rows, grid config)",
                page["p50"],
                "ms",
                first["p50"],
                "API first page",
                "<= 150",
                page["p50"] <= 150,
            )
            results.add(
                "grid page p99", page["p99"], "ms", first["p99"], "API first page p99", "", None
            )
            cursors = []
            cursor = api_first().json()["next_cursor"]
            for _ in range(repeat):
                cursors.append(cursor)
                cursor = web.post(
                    "/api/v1/catalogs/bench_list/records/query",
                    json={"limit": PAGE, "cursor": cursor},
                ).json()["next_cursor"]
            it = iter(cursors * 2)
            scroll = summary(
                timed(
                    lambda: web.post(
                        "/api/v1/catalogs/bench_list/records/query",
                        json={"limit": PAGE, "cursor": next(it)},
                    ).raise_for_status(),
                    repeat,
                )
            )
            results.add(
                "next page while scrolling (100 rows)",
                scroll["p50"],
                "ms",
                first["p50"],
                "first page",
                "<= 100",
                scroll["p99"] <= 100,
                note=f"p99 {scroll['p99']:.1f} ms",
            )
            card = summary(timed(lambda: web.get(f"/c/card/r/{rid}").raise_for_status(), repeat))
            rec = summary(
                timed(
                    lambda: web.get(f"/api/v1/catalogs/card/records/{rid}").raise_for_status(),
                    repeat,
                )
            )
            results.add(
                "card (30 fields, 5 links, 20 history)",
                card["p50"],
                "ms",
                rec["p50"],
                "API GET record",
                "<= 100",
                card["p50"] <= 100,
                note=f"p99 {card['p99']:.1f} ms",
            )
            samples, weight = tti(base, dict(web.cookies), 5)
            tti_ms = statistics.median(samples) * 1000
            results.add(
                "time to first grid row (Chromium)",
                tti_ms,
                "ms",
                None,
                "",
                "<= 1500",
                tti_ms <= 1500,
            )
            results.add(
                "JS + CSS of the grid page (gzip)",
                weight / 1024,
                "KB",
                None,
                "",
                "<= 500",
                weight / 1024 <= 500,
            )
            web.close()
        finally:
            srv.should_exit = True
            thread.join(10)
        results.print()
        results.write(args.json)
    print("done", file=sys.stderr)


if __name__ == "__main__":
    main()
