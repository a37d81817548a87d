"""A catalog's API page: what it lists for whom, and that its examples really work —
every Python and curl call on the page is run against a live server, in order."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys

import httpx
import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, api_client, axe, sign_in

from kartoteka.web import apidoc

OPS = ("create", "get", "update", "list", "batch", "delete")


def catalogs(api: httpx.Client) -> None:
    clients = api.post(
        "/catalogs", json={"name": "Clients", "fields": [{"name": "Name", "type": "text"}]}
    ).json()
    api.post("/catalogs/clients/records", json={"values": {"name": "Acme"}})
    fields = [
        {"name": "Title", "type": "text", "required": True},
        {"name": "Client", "type": "link", "options": {"catalog": clients["id"]}},
        {"name": "Stage", "type": "select", "options": {"choices": ["Lead", "Won"]}},
        {"name": "Tags", "type": "select", "options": {"choices": ["a", "b"], "multiple": True}},
        {"name": "Owner", "type": "user"},
        {"name": "Amount", "type": "money"},
        {"name": "Qty", "type": "number"},
        {"name": "Rate", "type": "number", "options": {"decimals": 2}},
        {"name": "Due", "type": "date"},
        {"name": "Meeting", "type": "datetime"},
        {"name": "Paid", "type": "checkbox"},
        {"name": "Mail", "type": "email"},
        {"name": "Phone", "type": "phone"},
        {"name": "Site", "type": "url"},
        {"name": "Notes", "type": "long_text"},
        {"name": "Files", "type": "file"},
        {"name": "Number", "type": "autonumber"},
        {"name": "Secret", "type": "text"},
    ]
    r = api.post("/catalogs", json={"name": "Deals", "fields": fields})
    assert r.status_code == 201, r.text


def page_blocks(server: str, email: str, password: str, lang: str = "en") -> tuple[str, dict]:
    """The API page as `email` sees it, and its code blocks by (operation, language)."""
    with httpx.Client(base_url=server, timeout=30) as web:
        r = web.post("/login", data={"email": email, "password": password, "next": "/"})
        assert r.status_code == 303, r.text
        r = web.get(f"/c/deals/api?lang={lang}")
        assert r.status_code == 200, r.text
    blocks = {}
    for op, body in re.findall(
        r'<article class="api-op" id="op-(\w+)"(.*?)</article>', r.text, re.S
    ):
        for kind, code in re.findall(
            r'data-lang="(\w+)".*?<pre[^>]*><code>(.*?)</code></pre>', body, re.S
        ):
            blocks[(op, kind)] = html.unescape(code)
    return r.text, blocks


@pytest.mark.parametrize("kind", ["python", "curl"])
def test_every_example_on_the_page_runs_against_the_server(server, kind):
    if kind == "curl" and not shutil.which("curl"):
        pytest.skip("no curl here")
    api = api_client(server)
    catalogs(api)
    _, blocks = page_blocks(server, "admin@example.com", "correct-horse-battery")
    assert set(blocks) == {(op, k) for op in OPS for k in ("curl", "python")}
    token = api.headers["Authorization"].removeprefix("Bearer ")
    env = {"KARTOTEKA_TOKEN": token, "PATH": "/usr/bin:/bin"}

    def run(op: str) -> str:
        if kind == "python":
            command = [sys.executable, "-c", blocks[(op, "python")]]
        else:
            command = ["bash", "-c", blocks[(op, "curl")] + " --fail-with-body -sS"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (op, done.stdout, done.stderr)
        return done.stdout

    # Create twice (ids 1 and 2), read, change, list, batch, delete: as a reader of the
    # page would try them, in the page's order.
    for op in ("create", "create", "get", "update", "list", "batch", "delete"):
        run(op)
    values = api.get("/catalogs/deals/records/3").json()["values"]
    assert values["client"][0]["title"] == "Acme" and values["owner"]["id"] == 1
    assert values["stage"]["label"] == "Lead" and [t["label"] for t in values["tags"]] == ["a"]
    assert values["phone"] and values["mail"] and values["meeting"] and values["due"]
    assert values["paid"] is True and values["amount"] == "1500.00"
    changed = api.get("/catalogs/deals/records/4").json()
    assert changed["title"] == "Title 2"
    assert api.get("/catalogs/deals/records/1").status_code == 404  # deleted last
    assert api.get("/catalogs/deals/records/2").status_code == 404  # deleted by the batch
    api.close()


def test_the_page_lists_what_the_reader_may_see_and_write(server):
    api = api_client(server)
    catalogs(api)
    group = api.post("/groups", json={"name": "readers"}).json()["id"]
    api.post(
        "/users",
        json={
            "email": "r@example.com",
            "name": "R",
            "password": "reader-pass-123",
            "groups": [group],
        },
    )
    rights = {
        "view": True,
        "edit": True,
        "fields": {"secret": "hidden", "phone": "masked", "stage": "read_only"},
    }
    assert (
        api.put("/catalogs/deals/rights", json={"groups": {str(group): rights}}).status_code == 200
    )
    admin_page, _ = page_blocks(server, "admin@example.com", "correct-horse-battery")
    page, blocks = page_blocks(server, "r@example.com", "reader-pass-123", lang="ru")
    assert 'id="field-secret"' in admin_page and 'id="field-secret"' not in page
    assert "<h1>API каталога «Deals»</h1>" in page
    phone = re.search(r'id="field-phone".*?</tr>', page, re.S)[0]
    assert "скрыто для вас" in phone and "<code>phone</code>" in phone
    stage = re.search(r'id="field-stage".*?</tr>', page, re.S)[0]
    assert "только чтение" in stage and "Lead" in stage
    # Nothing the reader may not write is offered in any call.
    for code in blocks.values():
        assert '"stage"' not in code and '"secret"' not in code and '"phone"' not in code
    api.close()


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": ["string", "null"], "format": "date"}, "date"),
        ({"oneOf": [{"type": "integer"}, {"const": "me"}]}, 1),
        ({"type": ["string", "number"]}, 1500),
        ({"type": "string", "description": "E.164, e.g. +74951234567"}, "+74951234567"),
        ({"type": "string", "pattern": r"^-?\d+\.\d{2}$"}, "1500.00"),
    ],
)
def test_examples_follow_the_schema(schema, expected):
    class F:
        name = "Field"

    value = apidoc.example(schema, F())  # type: ignore[arg-type]
    if expected == "date":
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", value)
    else:
        assert value == expected


def test_unknown_catalog_is_a_404_page(server):
    with httpx.Client(base_url=server, timeout=30) as web:
        web.post("/login", data={"email": "admin@example.com", "password": "correct-horse-battery"})
        r = web.get("/c/nope/api")
    assert r.status_code == 404 and "<html" in r.text


def test_code_json_puts_id_lists_on_one_line_and_keeps_strings():
    text = apidoc.dumps({"ids": [1, 2], "names": ["a,   b"], "items": [{"id": 1}]})
    assert '"ids": [1, 2]' in text and '"a,   b"' in text and '"id": 1' in text
    assert json.loads(text) == {"ids": [1, 2], "names": ["a,   b"], "items": [{"id": 1}]}


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing")
def test_page_in_the_browser_tabs_copy_and_accessibility(server, demo, browser):
    from playwright.sync_api import expect

    context = browser.new_context(locale="en-US", viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/deals")
    page.click("a.api-link")
    expect(page.locator("h1")).to_have_text("API of “Deals”")
    axe(page, "api page")
    create = page.locator("#op-create")
    expect(create.locator("[data-lang=curl]")).to_be_visible()
    page.locator("[data-code-lang=curl]").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("[data-code-lang=python]")).to_be_focused()
    expect(create.locator("[data-lang=python]")).to_be_visible()
    expect(create.locator("[data-lang=curl]")).to_be_hidden()
    create.locator("[data-lang=python] [data-copy-code]").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("import os") and '"title": "Title 1"' in copied
    # The choice of language is remembered for the next catalog's page.
    page.goto(server + "/c/clients/api")
    expect(page.locator("#op-get [data-lang=python]")).to_be_visible()
    phone = browser.new_page(locale="ru-RU", viewport=PHONE)
    sign_in(phone, server)
    phone.goto(server + "/c/deals/api")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    axe(phone, "api page, phone")
    watch.check()
    context.close()
