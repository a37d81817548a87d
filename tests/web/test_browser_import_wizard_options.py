"""The import wizard's options (in chromium): a row duplicating a record merges into it,
an unknown client INN creates the client, a cell of several tags is split on the chosen
separator, the import sends no per-row webhook message and keeps the file's creation
date; an option the API refuses is said next to its control; the options fit a phone.
The page's server side is in tests/web/test_import_wizard_options.py."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, api_client, axe, sign_in
from support.webhooks import work

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]

DEALS = (
    "Title;Client INN;Tags;Created\n"
    "Alpha deal;7701000001;red | blue;\n"  # duplicates the existing Alpha: merged into it
    "Beta deal;7701000099;blue;2020-02-01T09:30:00\n"  # an unknown INN: a new client
)


def catalogs(api) -> dict[str, int]:
    """Clients (by INN), tags, and deals linking to both with a duplicate rule on the title."""
    clients = [{"name": "Name", "type": "text"}, {"name": "INN", "type": "text", "unique": True}]
    assert api.post("/catalogs", json={"name": "Clients", "fields": clients}).status_code == 201
    tags = [{"name": "Name", "type": "text", "unique": True}]
    assert api.post("/catalogs", json={"name": "Tags", "fields": tags}).status_code == 201
    deals = [
        {"name": "Title", "type": "text"},
        {"name": "Client", "type": "link", "options": {"catalog": "clients"}},
        {"name": "Tags", "type": "link", "options": {"catalog": "tags", "multiple": True}},
    ]
    assert api.post("/catalogs", json={"name": "Deals", "fields": deals}).status_code == 201
    r = api.post("/catalogs/deals/duplicate-rules", json={"name": "Title", "fields": ["title"]})
    assert r.status_code == 201, r.text
    ids = {}
    acme = {"values": {"name": "Acme", "inn": "7701000001"}}
    r = api.post("/catalogs/clients/records", json=acme)
    ids["acme"] = r.json()["id"]
    for name in ("red", "blue"):
        ids[name] = api.post("/catalogs/tags/records", json={"values": {"name": name}}).json()["id"]
    r = api.post("/catalogs/deals/records", json={"values": {"title": "Alpha deal"}})
    ids["alpha"] = r.json()["id"]
    return ids


def test_merge_create_missing_separator_and_quiet_webhooks(
    server, browser, tmp_path, instance, receiver
):
    from playwright.sync_api import expect

    api = api_client(server)
    ids = catalogs(api)
    r = api.post(
        "/webhooks",
        json={"url": receiver.url("/n"), "catalog": "deals",
              "events": ["record.created", "record.updated", "import.completed"]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    hook = r.json()["id"]
    path = tmp_path / "deals.csv"
    path.write_text(DEALS, encoding="utf-8")
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    # The options the wizard posts (chromium hands a multipart body with a file to no one).
    page.add_init_script(
        """const append = FormData.prototype.append;
        window.sentOptions = [];
        FormData.prototype.append = function (name, value, ...rest) {
          if (name === "options") window.sentOptions.push(value);
          return append.call(this, name, value, ...rest);
        };"""
    )
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/deals/import?lang=en")
    page.set_input_files("[data-file]", str(path))
    page.wait_for_selector("[data-step=columns]:not([hidden])")
    rows = {
        h: page.locator(f"[data-mapping] tr[data-header='{h}']")
        for h in ("Client INN", "Tags", "Created")
    }
    rows["Client INN"].locator("[data-map]").select_option("client")
    rows["Tags"].locator("[data-map]").select_option("tags")
    rows["Created"].locator("[data-map]").select_option("created_at")
    expect(rows["Created"].locator(".how")).to_contain_text("date format")
    # The client is found by its INN (the unique key, picked); the missing ones created.
    expect(rows["Client INN"].locator("[data-link-key]")).to_have_value("inn")
    create = rows["Client INN"].get_by_label("create the missing ones")
    create.check()
    # By record id there is nothing to create a client from.
    rows["Client INN"].locator("[data-link-key]").select_option("")
    expect(create).to_be_disabled()
    expect(create).not_to_be_checked()
    rows["Client INN"].locator("[data-link-key]").select_option("inn")
    create.check()
    # The separator: only spaces is refused next to the input, as the API would.
    sep = page.get_by_label("Several values in a cell separated by")
    sep.fill("   ")
    page.click("[data-dry-run]")
    expect(page.locator("[data-option-error=list_separator]")).to_contain_text("1 to 5 characters")
    expect(sep).to_have_attribute("aria-invalid", "true")
    expect(sep).to_be_focused()
    sep.fill("|")
    # Duplicates: merged into the record they duplicate.
    page.get_by_label("update the existing record").check()
    page.locator("[data-more-options] > summary").click()
    page.get_by_label("Do not notify webhooks about these rows").check()
    axe(page, "import: the options of a deals file")

    # An option the API refuses is said next to its control, in the page's language.
    def refuse(route):
        reason = "must be one of report, skip, merge, allow"
        body = {"error": "VALIDATION", "message": reason, "fields": {"options.duplicates": reason}}
        route.fulfill(status=422, content_type="application/json", body=json.dumps(body))

    page.route("**/api/v1/catalogs/deals/imports", refuse)
    page.click("[data-dry-run]")
    expect(page.locator("[data-option-error=duplicates]")).to_contain_text("must be one of")
    expect(page.get_by_label("update the existing record")).to_be_focused()
    page.unroute("**/api/v1/catalogs/deals/imports")

    page.click("[data-dry-run]")
    page.wait_for_selector("[data-run]:not([disabled])", timeout=120_000)
    expect(page.locator("[data-option-error=duplicates]")).to_be_hidden()
    options = json.loads(page.evaluate("() => window.sentOptions.at(-1)"))
    assert options["duplicates"] == "merge" and options["create_missing"] == ["client"]
    assert options["list_separator"] == "|" and options["skip_webhooks"] is True
    assert options["keep_stamps"] is True and "skip_scenarios" not in options
    assert options["mapping"]["Created"] == "created_at"
    assert "Would create: 1, update: 1" in page.inner_text("[data-check-summary]")
    page.click("[data-run]")
    page.wait_for_selector("[data-done]:not([hidden])", timeout=120_000)
    assert "Created: 1, updated: 1" in page.inner_text("[data-run-summary]")

    deals = api.get("/catalogs/deals/records", params={"limit": 10}).json()["items"]
    by_title = {d["values"]["title"]: d for d in deals}
    assert len(deals) == 2 and set(by_title) == {"Alpha deal", "Beta deal"}
    alpha, beta = by_title["Alpha deal"], by_title["Beta deal"]
    assert alpha["id"] == ids["alpha"]  # merged, not a second Alpha
    assert [x["id"] for x in alpha["values"]["client"]] == [ids["acme"]]
    assert sorted(x["id"] for x in alpha["values"]["tags"]) == sorted([ids["red"], ids["blue"]])
    clients = api.get("/catalogs/clients/records", params={"limit": 10}).json()["items"]
    created = [c for c in clients if c["values"]["inn"] == "7701000099"]
    assert len(created) == 1 and [x["id"] for x in beta["values"]["client"]] == [created[0]["id"]]
    assert beta["created_at"].startswith("2020-02-01")
    # No record.created / record.updated message for the rows: one import.completed.
    with ThreadPoolExecutor(1) as pool:
        for _ in range(50):
            if pool.submit(work, instance).result() == 0:
                break
    sent_types = [json.loads(r["body"])["type"] for r in receiver.at("/n")]
    assert sent_types == ["import.completed"], sent_types
    log = api.get(f"/webhooks/{hook}/deliveries").json()["items"]
    assert len(log) == 1, log
    api.close()
    watch.check({422})  # the refusal the test made


def test_the_options_fit_a_phone_in_russian(server, browser, tmp_path):
    api = api_client(server)
    catalogs(api)
    api.close()
    path = tmp_path / "deals.csv"
    path.write_text(DEALS, encoding="utf-8")
    page = browser.new_page(locale="ru-RU", viewport=PHONE)
    sign_in(page, server)
    page.goto(server + "/c/deals/import?lang=ru")
    page.set_input_files("[data-file]", str(path))
    page.wait_for_selector("[data-step=columns]:not([hidden])")
    page.locator("[data-mapping] tr[data-header='Client INN'] [data-map]").select_option("client")
    page.locator("[data-more-options] > summary").click()
    expect_visible = ["[data-list-separator]", "[data-duplicates-row]", "[data-skip-webhooks]",
                      "[data-create-missing]", "[data-stamps-hint]"]  # fmt: skip
    for selector in expect_visible:
        assert page.locator(selector).first.is_visible(), selector
    fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert fits, "the columns step scrolls sideways on a phone"
    # The update mode creates nothing: no duplicate to decide about.
    page.locator("[data-mode][value=update]").check()
    assert not page.locator("[data-duplicates-row]").is_visible()
    page.locator("[data-mode][value=create]").check()
    axe(page, "import: the options on a phone")
