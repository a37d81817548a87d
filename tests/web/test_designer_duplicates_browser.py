"""The duplicate rules designer in chromium: a rule added through the form (a second row
by its button, Enter in the name saves), then every screen of the tab at a 360 px phone
width without sideways scrolling, and axe-core on each, in English and Russian."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, DESKTOP, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]
NARROW = {"width": 360, "height": 740}


def test_add_a_rule_then_every_screen_fits_a_phone(server, demo, browser):
    api = demo["api"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/admin/catalogs/deals/duplicates?lang=en")
    assert "No duplicate rules yet" in page.inner_text("main")
    page.click("text=+ Add a rule")
    page.select_option("#f-field-0", "phone")
    page.click("button[name=more]")  # the same form again, with a second row
    page.select_option("#f-field-1", "title")
    page.select_option("#f-normalise-1", "exact")
    page.fill("#f-name", "Phone and title")
    with page.expect_navigation():
        page.press("#f-name", "Enter")  # saves (the hidden default button), adds no row
    assert "saved=1" in page.url
    assert "Saved." in page.inner_text("main")
    [rule] = api.get("/catalogs/deals/duplicate-rules").json()["items"]
    assert rule["name"] == "Phone and title"
    assert rule["fields"] == [
        {"field": "phone", "normalise": "phone"},
        {"field": "title", "normalise": "exact"},
    ]
    axe(page, "duplicate rules, desktop")
    watch.check()
    page.close()
    for lang in ("en", "ru"):
        phone = browser.new_page(locale=lang, viewport=NARROW)
        watch = Watch(phone)
        sign_in(phone, server)
        for url in ("", "/new", f"/{rule['id']}", f"/{rule['id']}/delete"):
            phone.goto(f"{server}/admin/catalogs/deals/duplicates{url}?lang={lang}")
            phone.wait_for_load_state("networkidle")
            width = phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= phone.evaluate("() => innerWidth"), (url, lang, width)
            axe(phone, f"duplicates{url} {lang} 360")
        watch.check()
        phone.close()
