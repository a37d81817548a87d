"""Duplicates in a real browser: two clients selected in the grid are merged through the
merge form; the groups page and the form are readable on a phone and pass axe."""

from __future__ import annotations

import re

import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def _clients(api) -> list[int]:
    r = api.post(
        "/catalogs",
        json={
            "name": "Clients",
            "api_name": "clients",
            "fields": [
                {"name": "Name", "api_name": "name", "type": "text"},
                {"name": "Phone", "api_name": "phone", "type": "phone"},
                {"name": "City", "api_name": "city", "type": "text"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    rows = [
        {"values": {"name": "Ivan Petrov", "phone": "+79161234567"}},
        {"values": {"name": "Vanya Petrov", "phone": "8 916 123-45-67", "city": "Moscow"}},
        {"values": {"name": "Anna", "phone": "+79990000001", "city": "Kazan"}},
    ]
    ids = api.post("/catalogs/clients/records/batch", json={"create": rows}).json()["created"]
    rule = {"name": "Phone", "fields": ["phone"]}
    assert api.post("/catalogs/clients/duplicate-rules", json=rule).status_code == 201
    return ids


def _fits(page) -> bool:
    """Nothing wider than the phone's screen (on a mobile viewport chromium widens the
    window to the content, so the screen's width is the measure, not innerWidth)."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    return width <= PHONE["width"] + 1


def test_merge_two_records_selected_in_the_grid(server, rest, browser):
    from playwright.sync_api import expect

    ivan, vanya, anna = _clients(rest)
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/clients")
    rows = page.locator(".tabulator-row")
    expect(rows).to_have_count(3)
    merge = page.locator("[data-grid-merge]")
    rows.nth(0).locator(".select-col input").check()
    expect(merge).to_be_hidden()  # one record is nothing to merge
    rows.nth(1).locator(".select-col input").check()
    expect(merge).to_have_text("Merge selected (2)")
    merge.click()
    expect(page.locator("h1")).to_have_text("Merge 2 records")
    axe(page, "merge form")
    # The oldest stays; its name is chosen, the only city is chosen; keep the other name.
    expect(page.locator(f"input[name=into][value='{ivan}']")).to_be_checked()
    expect(page.locator(f"input[name='v.city'][value='{vanya}']")).to_be_checked()
    # Another record to keep: the choices not touched follow it where it has a value.
    page.locator(f"input[name=into][value='{vanya}']").check()
    expect(page.locator(f"input[name='v.name'][value='{vanya}']")).to_be_checked()
    page.locator(f"input[name=into][value='{ivan}']").check()
    expect(page.locator(f"input[name='v.name'][value='{ivan}']")).to_be_checked()
    expect(page.locator(f"input[name='v.city'][value='{vanya}']")).to_be_checked()  # his none
    page.locator(f"input[name='v.name'][value='{vanya}']").check()
    page.locator(f"input[name=into][value='{vanya}']").check()
    page.locator(f"input[name=into][value='{ivan}']").check()
    expect(page.locator(f"input[name='v.name'][value='{vanya}']")).to_be_checked()  # chosen
    page.click("[data-merge-form] button[type=submit]")
    expect(page.locator("[data-merged]")).to_have_text("1 record merged into this one.")
    assert page.url.endswith(f"/c/clients/r/{ivan}?merged=1")
    kept = rest.get(f"/catalogs/clients/records/{ivan}").json()["values"]
    assert kept["name"] == "Vanya Petrov" and kept["city"] == "Moscow"
    assert rest.get(f"/catalogs/clients/records/{vanya}").status_code == 404
    assert rest.get(f"/catalogs/clients/records/{anna}").status_code == 200
    watch.check()


def test_groups_page_and_merge_form_on_a_phone(server, rest, browser):
    from playwright.sync_api import expect

    _clients(rest)
    long = {"name": "Anna Smirnova, a long name that wraps", "phone": "+7 999 000-00-01"}
    rest.post("/catalogs/clients/records?skip_duplicates=true", json={"values": long})
    for locale, title in (("ru-RU", "Дубликаты в «Clients»"), ("en-US", "Duplicates in “Clients”")):
        page = browser.new_page(locale=locale, viewport=PHONE, is_mobile=True, has_touch=True)
        watch = Watch(page)
        sign_in(page, server)
        page.goto(server + f"/c/clients?lang={locale[:2]}")
        # Import, Export, Duplicates and API fit beside each other or wrap, never past the edge.
        assert _fits(page)
        page.locator("[data-duplicates-link]").click()
        expect(page.locator("h1")).to_have_text(title)
        expect(page.locator("[data-group]")).to_have_count(2)
        assert _fits(page)
        axe(page, f"duplicates {locale}")
        page.locator("[data-group] button[type=submit]").first.click()
        expect(page.locator("[data-merge-form]")).to_be_visible()
        assert _fits(page)
        axe(page, f"merge {locale}")
        watch.check()
        page.context.close()


def test_card_form_names_the_record_a_new_one_duplicates(server, rest, browser):
    from playwright.sync_api import expect

    ivan, _vanya, _anna = _clients(rest)
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/clients/new")
    page.fill("#f-name", "Ivan P.")
    page.fill("#f-phone", "+7 916 123 45 67")
    page.click("[data-card-form] button[type=submit]")
    links = page.locator("[data-duplicate-links]")
    expect(links).to_be_visible()
    expect(links.locator(f"a[href='/c/clients/r/{ivan}']")).to_have_text(f"#{ivan} Ivan Petrov")
    expect(page.locator("[data-duplicate-merge]")).to_be_hidden()  # nothing to merge yet
    axe(page, "duplicate refused")
    # Saving again keeps it anyway (the message says so).
    page.click("[data-card-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/c/clients/r/\d+"))
    kept = int(re.search(r"/r/(\d+)", page.url).group(1))
    assert rest.get(f"/catalogs/clients/records/{kept}").json()["values"]["name"] == "Ivan P."
    watch.check(deliberate={409})
