"""Views from the grid (in chromium): rows grouped by a field with collapsible groups and
their counts, and "Save as view…" — new or over the current view, shared or personal."""

from __future__ import annotations

import re

import pytest
from support.browser import CHROMIUM, DESKTOP, READER, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def test_group_rows_and_save_them_as_the_catalogs_shared_default_view(server, demo, browser):
    from playwright.sync_api import expect

    api = demo["api"]
    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/deals?sort=title&lang=ru")
    expect(page.locator(".tabulator-row").first).to_contain_text("Deal 000")
    page.select_option("[data-grid-group]", label="Stage")
    groups = page.locator(".tabulator-group")
    expect(groups).to_have_count(3)
    # 40 deals in turn Lead, Won, Lost: each header counts its records on the server.
    expect(groups.filter(has_text="Lead")).to_contain_text("записей: 14")
    expect(groups.filter(has_text="Won")).to_contain_text("записей: 13")
    axe(page, "grid grouped")
    # A group folds from the keyboard.
    lead = groups.filter(has_text="Lead").locator("[role=gridcell]")
    lead.focus()
    expect(lead).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Enter")
    expect(lead).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".tabulator-row:not(.tabulator-group)", has_text="Deal 000")).to_have_count(
        0
    )
    page.keyboard.press("Enter")
    expect(page.locator(".tabulator-row", has_text="Deal 000")).to_have_count(1)

    page.click("[data-grid-save-as]")
    dialog = page.locator("dialog.save-view")
    expect(dialog.locator("[data-view-name]")).to_be_focused()
    # A name is needed: said in the dialog, nothing saved.
    dialog.locator("[data-save-view-apply]").click()
    expect(dialog.locator("[data-save-view-error]")).to_have_text("Дайте виду название.")
    axe(page, "save as view")
    dialog.locator("[data-view-name]").fill("По этапам")
    expect(dialog.locator("[data-personal]")).not_to_be_checked()
    dialog.locator("[data-default]").check()
    dialog.locator("[data-save-view-apply]").click()
    page.wait_for_url(re.compile(r".*view=\d+"))
    view_id = int(re.search(r"view=(\d+)", page.url).group(1))
    view = api.get(f"/catalogs/deals/views/{view_id}").json()
    assert view["type"] == "table" and view["name"] == "По этапам"
    assert view["sort"] == "title" and view["options"]["group_by"] == "stage"
    assert "personal" not in view["options"] and "title" in view["options"]["widths"]
    assert api.get("/catalogs/deals").json()["options"]["default_view"] == view_id
    # The catalog now opens in it, grouped.
    page.goto(server + "/c/deals")
    expect(page.locator(".view-tabs [aria-current=page]")).to_contain_text("По этапам")
    expect(page.locator(".tabulator-group")).to_have_count(3)
    expect(page.locator("[data-grid-group]")).to_have_value("stage")
    watch.check()


def test_a_reader_saves_personal_views_only_and_overwrites_their_own(server, demo, browser):
    from playwright.sync_api import expect

    api = demo["api"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server, *READER)
    page.goto(server + "/c/deals?sort=-amount&lang=en")
    expect(page.locator(".tabulator-row").first).to_contain_text("Deal 039")
    page.click("[data-grid-save-as]")
    dialog = page.locator("dialog.save-view")
    # Sharing is for those who manage the catalog: the box is ticked and fixed.
    expect(dialog.locator("[data-personal]")).to_be_checked()
    expect(dialog.locator("[data-personal]")).to_be_disabled()
    expect(dialog.locator("[data-default]")).to_have_count(0)
    expect(dialog.locator("[data-target]")).to_have_count(0)  # "All records" is no view
    dialog.locator("[data-view-name]").fill("Mine")
    dialog.locator("[data-save-view-apply]").click()
    page.wait_for_url(re.compile(r".*view=\d+"))
    view_id = int(re.search(r"view=(\d+)", page.url).group(1))
    assert api.get(f"/catalogs/deals/views/{view_id}").status_code == 404  # not the admin's
    page.select_option("[data-grid-group]", label="Due")
    expect(page.locator(".tabulator-group").first).to_be_visible()
    page.click("[data-grid-save-as]")
    dialog.locator("[data-target][value=current]").check()
    expect(dialog.locator("[data-view-name]")).to_have_value("Mine")
    # The page is already at ?view=<id>: wait for the reload itself, not for the URL.
    with page.expect_navigation():
        dialog.locator("[data-save-view-apply]").click()
    assert f"view={view_id}" in page.url
    expect(page.locator(".tabulator-group").first).to_be_visible()
    expect(page.locator("[data-grid-group]")).to_have_value("due")
    mine = page.evaluate(
        "async (id) => (await fetch(`/api/v1/catalogs/deals/views/${id}`)).json()", view_id
    )
    assert mine["options"]["personal"] is True and mine["options"]["group_by"] == "due"
    assert mine["sort"] == "-amount"
    watch.check()


def test_the_record_count_takes_the_plural_form_of_the_language(server, demo, browser):
    from playwright.sync_api import expect

    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    sign_in(page, server)
    page.goto(server + "/c/deals?lang=ru")
    count = page.locator("[data-grid-count]")
    expect(count).to_have_text("40 записей")
    one = '{"title": {"eq": "Deal 001"}}'
    page.goto(server + f"/c/deals?lang=ru&filter={one}")
    expect(count).to_have_text("1 запись")
    page.goto(server + f"/c/deals?lang=en&filter={one}")
    expect(count).to_have_text("1 record")
    page.close()
