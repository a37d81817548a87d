"""Administration UI: the insurer example built in headless Chromium, timed.

Target (issue 10): the whole scripted build — two catalogs and nine fields in the
designers, a group and a user, rights, an import of 1,000 clients from a Windows-1251
CSV (dry run, then the import), a notify webhook and its delivery, "see as", signing in
as the regional user — completes in under 3 minutes of wall time, and no designer step
waits on the server for more than ~200 ms.

The steps are the ones tests/web/test_admin_flow.py runs (tests/support/admin_flow.py),
without the axe-core checks. An ASGI wrapper records the server time of every request
the browser makes (static files aside). Baseline in the same run: `GET /healthz`
through the same server, the cheapest request there is. The import's own background
work is reported as its wall time, not as a request.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, Results, parser

sys.path.insert(0, str(ROOT / "tests"))

from support import admin_flow as flow  # noqa: E402
from support.browser import DESKTOP, launch, serve, sign_in  # noqa: E402
from support.imports import csv_bytes  # noqa: E402
from support.users import ADMIN_EMAIL, ADMIN_PASSWORD  # noqa: E402
from support.webhooks import Receiver  # noqa: E402

TARGET_TOTAL_S = 180.0
TARGET_STEP_MS = 200.0


class Timed:
    """ASGI wrapper: (method, path, milliseconds) of every request but static files."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, float]] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            took = (time.perf_counter() - started) * 1000
            with self.lock:
                self.seen.append((scope["method"], scope["path"], took))


@contextmanager
def instance_app(tmp: Path) -> Iterator[tuple[Any, Any]]:
    """A fresh instance (SQLite in `tmp`, or the PostgreSQL of KARTOTEKA_DATABASE_URL)."""
    from kartoteka.config import Settings
    from kartoteka.server import create_app
    from kartoteka.workspaces.service import Instance

    settings = Settings.from_env()
    settings.data_dir = tmp / "data"
    settings.admin_email, settings.admin_password = ADMIN_EMAIL, ADMIN_PASSWORD
    settings.webhook_allow_private = True
    settings.run_worker = False
    settings.rate_limit_account = settings.rate_limit_address = "1000000/30seconds"
    inst = Instance(settings)
    inst.init()
    try:
        yield inst, create_app(settings, inst)
    finally:
        inst.close()


def build(page: Any, base: str, inst: Any, receiver: Receiver, csv: Path) -> dict[str, float]:
    """The flow, step by step; seconds per step."""
    rows = flow.client_rows()
    steps: dict[str, float] = {}

    def step(name: str, fn: Any, *args: Any) -> Any:
        started = time.perf_counter()
        out = fn(*args)
        steps[name] = time.perf_counter() - started
        return out

    step("sign in", sign_in, page, base)
    page.goto(base + "/?lang=ru")
    step("catalogs and fields", flow.catalogs, page, base)
    group = step("group and user", flow.group_and_regional_user, page, base)
    step("rights", flow.rights, page, base, group)
    step("import 1,000 clients", flow.import_clients, page, base, csv, rows)
    step("webhook and delivery", flow.notify_webhook, page, base, inst, receiver)
    step("see as", flow.see_as, page, base, flow.anna_should_see(rows) + 1)
    step("regional user", flow.what_anna_sees, page, base, flow.anna_should_see(rows))
    return steps


def healthz_ms(base: str, n: int = 50) -> float:
    """Median server round trip of the cheapest request (the baseline)."""
    with httpx.Client(base_url=base) as client:
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            client.get("/healthz")
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def wait_for_warm_up() -> float:
    """Wait for the server's start-up warm-up (kartoteka.web.warmup) to end: an
    administrator arrives at a server that has been up for a while. Seconds waited."""
    started = time.perf_counter()
    for thread in threading.enumerate():
        if thread.name == "kartoteka-web-warm-up":
            thread.join()
    return time.perf_counter() - started


def main() -> None:
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument(
        "--cold",
        action="store_true",
        help="no start-up warm-up: each page compiles its templates on its first visit",
    )
    args = cli.parse_args()
    if args.cold:
        from kartoteka.web import warmup

        warmup.start = lambda: threading.Thread()  # type: ignore[assignment]
    flow.ACCESSIBILITY["check"] = False
    if args.database_url:
        import os

        os.environ["KARTOTEKA_DATABASE_URL"] = args.database_url
    results = Results(
        "admin_ui_cold" if args.cold else "admin_ui",
        "postgresql" if args.database_url else "sqlite",
    )
    results.sizes = {"clients": flow.ROWS, "fields": 9}
    with tempfile.TemporaryDirectory() as tmp, instance_app(Path(tmp)) as (inst, app):
        timed = Timed(app)
        csv = Path(tmp) / "clients.csv"
        csv.write_bytes(csv_bytes(flow.client_rows(), ";", "cp1251"))
        receiver = Receiver()
        with serve(timed) as base, launch() as browser:
            waited = wait_for_warm_up()
            baseline = healthz_ms(base)
            timed.seen.clear()
            context = browser.new_context(viewport=DESKTOP, locale="ru-RU")
            page = context.new_page()
            started = time.perf_counter()
            steps = build(page, base, inst, receiver, csv)
            total = time.perf_counter() - started
            context.close()
        receiver.close()
    designer = sorted(ms for _, p, ms in timed.seen if "/admin/" in p)
    # The live feed's event stream stays open as long as the page: not a wait.
    finished = [r for r in timed.seen if not r[1].endswith("/events/stream")]
    worst = sorted(finished, key=lambda r: -r[2])[:8]
    print("\nsteps (wall, in the browser):")
    for name, seconds in steps.items():
        print(f"  {name:<24} {seconds:7.2f} s")
    print("slowest requests (server time):")
    for method, path, took in worst:
        print(f"  {took:8.1f} ms  {method} {path}")
    p95 = designer[min(len(designer) - 1, int(0.95 * len(designer)))] if designer else 0.0
    results.add(
        "scripted build, wall",
        total,
        "s",
        target=f"< {TARGET_TOTAL_S:.0f} s",
        ok=total < TARGET_TOTAL_S,
    )
    results.add(
        "designer requests p50",
        statistics.median(designer) if designer else 0.0,
        "ms",
        baseline,
        "GET /healthz p50",
    )
    results.add("designer requests p95", p95, "ms", baseline, "GET /healthz p50")
    results.add(
        "slowest designer request",
        designer[-1] if designer else 0.0,
        "ms",
        baseline,
        "GET /healthz p50",
        target=f"< {TARGET_STEP_MS:.0f} ms",
        ok=bool(designer) and designer[-1] < TARGET_STEP_MS,
        note=f"{len(designer)} requests under /admin/",
    )
    results.add("waited for the start-up warm-up", waited, "s", note="before the flow")
    results.print()
    results.write(args.json)


if __name__ == "__main__":
    main()
