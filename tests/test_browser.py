"""The UI in a real browser: Debian chromium driven by Playwright against a real uvicorn server."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD

from kartoteka.web import assets

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing (run scripts/install-browser.sh)",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def built_assets() -> None:
    """The bundled scripts and styles (built once in a checkout that never ran setup)."""
    assert assets.build_in_checkout(), "run `npm ci && npm run build`"


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
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


def seed(base: str) -> list[int]:
    """A catalog of 60 deals created through the REST API with a bearer token."""
    with httpx.Client(base_url=base + "/api/v1", timeout=30) as api:
        r = api.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        api.headers["Authorization"] = f"Bearer {r.json()['token']}"
        fields = [
            {"name": "Name", "type": "text", "required": True},
            {"name": "Amount", "type": "number"},
            {"name": "Stage", "type": "select", "options": {"choices": ["Lead", "Won"]}},
            {"name": "Done", "type": "checkbox"},
        ]
        r = api.post("/catalogs", json={"name": "Deals", "fields": fields})
        assert r.status_code == 201, r.text
        rows = [{"values": {"name": f"Deal {i:03}", "amount": i}} for i in range(60)]
        r = api.post("/catalogs/deals/records/batch", json={"create": rows})
        assert r.status_code == 200, r.text
        return r.json()["created"]


def test_sign_in_browse_edit_comment_and_switch_language(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ids = seed(server)
    problems: list[str] = []
    statuses: list[int] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("response", lambda r: statuses.append(r.status))

            # Signed out: every page leads to the login form.
            page.goto(server + "/")
            expect(page.locator("h1")).to_have_text("Sign in")
            page.fill("#email", ADMIN_EMAIL)
            page.fill("#password", "wrong")
            page.click("button[type=submit]")
            expect(page.locator(".alert.error")).to_have_text("Wrong e-mail or password.")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("Catalogs")

            # The catalog: 50 rows, then htmx loads the other 10 in place.
            page.click("text=Deals")
            rows = page.locator("table.records tbody tr:not(.more)")
            expect(rows).to_have_count(50)
            page.click("text=Load more")
            expect(rows).to_have_count(60)
            expect(page.locator("text=Deal 059")).to_be_visible()
            assert page.url == server + "/c/deals"  # swapped in place, no navigation
            page.screenshot(path=str(tmp_path / "catalog.png"))

            # The card, and an edit: first a mistake, then a good value.
            page.click("text=Deal 000")
            expect(page.locator("h1")).to_have_text("Deal 000")
            page.click("text=Edit")
            page.fill("#f-amount", "a lot")
            page.click("button:has-text('Save')")
            expect(page.locator("#err-amount")).to_have_text("expected a number")
            page.screenshot(path=str(tmp_path / "edit-error.png"))
            page.fill("#f-amount", "777")
            page.select_option("#f-stage", label="Won")
            page.check("#f-done")
            page.click("button:has-text('Save')")
            expect(page.locator(".alert.ok")).to_have_text("Changes saved.")
            expect(page.locator("dd[data-field=amount]")).to_have_text("777")
            expect(page.locator("dd[data-field=stage]")).to_have_text("Won")
            expect(page.locator("dd[data-field=done]")).to_have_text("yes")
            expect(page.locator(".history ins", has_text="777")).to_be_visible()

            # A comment, posted with the CSRF token of the form.
            page.fill("#comment-text", "Called the client, they agree.")
            page.click("button:has-text('Comment')")
            expect(page.locator(".comment p")).to_have_text("Called the client, they agree.")

            # Russian: the switch is remembered across pages.
            page.click("a[lang=ru]")
            expect(page.locator("h2", has_text="Комментарии")).to_be_visible()
            expect(page.locator("a.button.primary")).to_have_text("Изменить")
            expect(page.locator("dd[data-field=done]")).to_have_text("да")
            page.goto(f"{server}/c/deals/r/{ids[0]}")
            expect(page.locator("h2", has_text="История")).to_be_visible()
            page.screenshot(path=str(tmp_path / "record-ru.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "record-ru.png").stat().st_size > 10_000
    # The browser logs the two deliberate answers (401 wrong password, 422 bad number) as
    # failed loads; nothing else (a missing asset, a CSP refusal, a script error) may fail.
    assert sorted(s for s in statuses if s >= 400) == [401, 422]
    deliberate = [p for p in problems if re.search(r"status of (401|422)\b", p)]
    assert len(deliberate) == 2
    assert [p for p in problems if p not in deliberate] == []
