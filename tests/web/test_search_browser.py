"""The filter builder's full-text search in a real browser ("Any text field", "has the words")."""

from __future__ import annotations

import os
import re

import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing (run scripts/install-browser.sh)",
    ),
]


@pytest.mark.parametrize(("locale", "viewport"), [("en-US", DESKTOP), ("ru-RU", PHONE)])
def test_filter_builder_searches_the_record_and_one_field(server, demo, browser, locale, viewport):
    from playwright.sync_api import expect

    page = browser.new_page(locale=locale, viewport=viewport)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/deals")
    page.click("[data-grid-filter]")
    page.click("[data-add]")
    # The whole record: the deals of Globex (a link title), 13 of 40.
    page.select_option(".condition [name=field]", "search")
    ops = page.locator(".condition [name=op] option")
    expect(ops).to_have_count(1)
    page.fill(".condition [name=value]", "globex")
    shot = os.environ.get("KARTOTEKA_SCREENSHOTS")
    if shot:
        page.screenshot(path=f"{shot}/search-filter-{locale}-{viewport['width']}.png")
    axe(page, "filter with a search")
    page.click(".filter-form button[type=submit]")
    if viewport is DESKTOP:
        expect(page.locator("[data-grid-count]")).to_have_text("13 records")
    else:
        page.wait_for_url("**filter=*")
    assert "%22search%22" in page.url or '"search"' in page.url
    # One field: "has the words" is offered for text-like fields only.
    page.goto(server + "/c/deals")
    page.click("[data-grid-filter]")
    page.click("[data-add]")
    page.select_option(".condition [name=field]", "title")
    page.select_option(".condition [name=op]", "search")
    page.fill(".condition [name=value]", "007")
    page.click(".filter-form button[type=submit]")
    if viewport is DESKTOP:
        expect(page.locator("[data-grid-count]")).to_have_text(
            re.compile(r"^1 records?$")
        )  # it says "1 records"
    else:
        page.wait_for_url("**filter=*")
        expect(page.locator("body")).to_contain_text("Deal 007")
    page.goto(server + "/c/deals")
    page.click("[data-grid-filter]")
    page.click("[data-add]")
    page.select_option(".condition [name=field]", "amount")
    assert "search" not in page.locator(".condition [name=op]").inner_html()
    watch.check()
