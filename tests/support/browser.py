"""Helpers of the browser tests: a uvicorn server, chromium, the seeded demo, Playwright
checks (axe-core, console errors, failed requests) and sample files. The fixtures that use
them (`server`, `demo`, `browser`) are in tests/conftest.py."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import struct
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image

from kartoteka.web import assets

from .users import ADMIN_EMAIL, ADMIN_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}
READER = ("reader@example.com", "reader-pass-123")
EXPECT_TIMEOUT_MS = 15_000
DEFAULT_LOCALE = "en-US"


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve the app with uvicorn on a free loopback port; yields its base URL."""
    assert assets.build_in_checkout(), "run `npm ci && npm run build`"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if srv.started or not thread.is_alive():
            break
        threading.Event().wait(0.02)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def chromium_language(locale: str) -> str:
    """The LANGUAGE a chromium process needs to draw native inputs the way `locale` reads.

    Playwright's `locale` sets navigator.language, Accept-Language and Intl for one context,
    but chromium draws <input type=date> (21.11.2026 or 11/21/2026) in the language of the
    whole process, which it takes from LANGUAGE at start (and needs chromium-l10n for).
    """
    language, _, region = locale.partition("-")
    return f"{language}_{region}" if region else language


class Browsers:
    """One chromium per language, started when a page of that language is first asked for.

    Tests call `new_page(locale=...)` / `new_context(locale=...)` as on a Playwright
    browser; the page comes from the process whose native date and number inputs follow
    that locale, so a Russian page shows dates as 21.11.2026, as a Russian user's browser does.
    """

    def __init__(self, playwright: Any, env: dict[str, str] | None = None) -> None:
        self.playwright = playwright
        self.env = dict(os.environ if env is None else env)
        self.launched: dict[str, Any] = {}

    def for_locale(self, locale: str) -> Any:
        """The chromium process of this locale (started on first use)."""
        language = chromium_language(locale)
        if language not in self.launched:
            env = {**self.env, "LANGUAGE": language}
            self.launched[language] = self.playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=env
            )
        return self.launched[language]

    def new_context(self, *, locale: str = DEFAULT_LOCALE, **options: Any) -> Any:
        """A context of the chromium of `locale`, with Playwright's locale set too."""
        return self.for_locale(locale).new_context(locale=locale, **options)

    def new_page(self, *, locale: str = DEFAULT_LOCALE, **options: Any) -> Any:
        """A page in a fresh context of the chromium of `locale`."""
        return self.for_locale(locale).new_page(locale=locale, **options)

    def close(self) -> None:
        """Close every chromium started."""
        for launched in self.launched.values():
            launched.close()
        self.launched.clear()


@contextmanager
def launch() -> Iterator[Browsers]:
    """Debian's chromium under Playwright (imported here: only browser tests need it)."""
    from playwright.sync_api import expect, sync_playwright

    # The suite shares a 2-core machine with other work: an `expect` waits up to 15 s
    # (Playwright's default is 5) before it calls a slow answer a failure.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        browsers = Browsers(pw)
        try:
            yield browsers
        finally:
            browsers.close()


def shown_dates(page: Any) -> list[str]:
    """What the page's native date inputs show, read from chromium's accessibility tree.

    The drawn text ('21.11.2026' or '11/21/2026') lives in the browser's own shadow DOM,
    out of reach of selectors; the accessibility tree lists its fields and separators.
    """
    session = page.context.new_cdp_session(page)
    try:
        nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        session.detach()
    by_id = {n["nodeId"]: n for n in nodes}
    return [
        "".join(_date_parts(by_id, n["nodeId"]))
        for n in nodes
        if n.get("role", {}).get("value") == "Date"
    ]


def _date_parts(by_id: dict[str, dict[str, Any]], node_id: str) -> list[str]:
    """The day, month and year fields of one date input and their separators, as drawn."""
    parts: list[str] = []
    stack = list(reversed(by_id[node_id].get("childIds", [])))
    while stack and sum(p.isdigit() for p in parts) < 3:
        node = by_id.get(stack.pop())
        if node is None:
            continue
        role = node.get("role", {}).get("value")
        if role == "spinbutton":
            parts.append(str(node.get("value", {}).get("value", "")))
        elif role == "StaticText" and parts:
            parts.append(str(node.get("name", {}).get("value", "")))
        else:
            stack.extend(reversed(node.get("childIds", [])))
    return parts


def api_client(base: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> httpx.Client:
    """A bearer-token API client, as a colleague's script would be."""
    api = httpx.Client(base_url=base + "/api/v1", timeout=30)
    r = api.post("/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    api.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return api


def seed(base: str) -> dict[str, Any]:
    """Clients and 40 deals (every kind of field the flows touch), four views, a reader."""
    api = api_client(base)
    clients = api.post(
        "/catalogs",
        json={"name": "Clients", "fields": [{"name": "Name", "type": "text", "required": True}]},
    ).json()
    client_ids = api.post(
        "/catalogs/clients/records/batch",
        json={"create": [{"values": {"name": n}} for n in ("Acme", "Globex", "Initech")]},
    ).json()["created"]
    fields = [
        {"name": "Title", "type": "text", "required": True},
        {"name": "Client", "type": "link", "options": {"catalog": clients["id"]}},
        {"name": "Stage", "type": "select", "options": {"choices": ["Lead", "Won", "Lost"]}},
        {"name": "Amount", "type": "money"},
        {"name": "Due", "type": "date"},
        {"name": "Phone", "type": "phone"},
        {"name": "Notes", "type": "long_text"},
        {"name": "Files", "type": "file"},
    ]
    api.post("/catalogs", json={"name": "Deals", "fields": fields})
    today = date.today()
    rows = [
        {
            "values": {
                "title": f"Deal {i:03}",
                "client": [client_ids[i % 3]],
                "stage": ["Lead", "Won", "Lost"][i % 3],
                "amount": 100 + i,
                "due": (today + timedelta(days=i - 20)).isoformat(),
                "phone": f"+7912000{i:04}",
                "notes": f"secret note {i}",
            }
        }
        for i in range(40)
    ]
    ids = api.post("/catalogs/deals/records/batch", json={"create": rows}).json()["created"]
    views = {}
    for kind, options in (
        ("kanban", {"group_field": "stage"}),
        ("calendar", {"date_field": "due"}),
        ("gantt", {"start_field": "due", "end_field": "due"}),
        ("gallery", {}),
    ):
        body = {"name": kind.title(), "type": kind, "options": options}
        views[kind] = api.post("/catalogs/deals/views", json=body).json()["id"]
    group = api.post("/groups", json={"name": "readers"}).json()["id"]
    api.post(
        "/users",
        json={"email": READER[0], "name": "Reader", "password": READER[1], "groups": [group]},
    )
    rights = {
        "view": True,
        "edit": True,
        "fields": {"notes": "hidden", "phone": "masked", "stage": "read_only"},
    }
    r = api.put("/catalogs/deals/rights", json={"groups": {str(group): rights}})
    assert r.status_code == 200, r.text
    return {"ids": ids, "views": views, "clients": client_ids, "api": api}


class Watch:
    """Console errors, page errors and failed responses of one page."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        self.failed: list[tuple[int, str]] = []
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        page.on(
            "response",
            lambda r: self.failed.append((r.status, r.url)) if r.status >= 400 else None,
        )

    def check(self, deliberate: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        """Nothing failed except the answers the test provoked on purpose."""
        unexpected = [(s, u) for s, u in self.failed if s not in deliberate]
        assert unexpected == [], unexpected
        noise = re.compile(r"status of (\d+)")
        others = [
            p
            for p in self.problems
            if not (noise.search(p) and int(noise.search(p)[1]) in deliberate)
        ]
        assert others == [], others


def axe(page: Any, screen: str) -> None:
    """Run axe-core on the page: no serious or critical violation."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    bad = [
        (v["id"], v["impact"], [(n["target"], n["failureSummary"]) for n in v["nodes"]][:3])
        for v in json.loads(result)
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{screen}: {bad}"


def sign_in(page: Any, base: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(out, "PNG")
    return out.getvalue()


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", (i % 40) * 200) for i in range(16000)))
    return out.getvalue()
