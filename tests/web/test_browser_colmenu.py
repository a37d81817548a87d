"""The grid's column-header menu in chromium: by keyboard and mouse, sort, filter, hide,
insert a field at a position and edit it (coming back to the grid); a reader is offered
only what they may do. Also the field designer's default and help in the card."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, DESKTOP, READER, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def menu_items(page) -> list[str]:
    return page.locator(".col-menu [role=menuitem]").all_inner_texts()


def test_header_menu_by_keyboard_and_mouse(server, demo, browser):
    from playwright.sync_api import expect

    api = demo["api"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/deals?sort=title")
    expect(page.locator(".tabulator-row").first).to_contain_text("Deal 000")
    button = page.locator(".tabulator-col[tabulator-field=amount] .col-menu-button")
    expect(button).to_have_attribute("aria-label", "Column menu: Amount")

    # Keyboard: the button opens the menu, arrows move, Esc closes it and focus comes back.
    button.focus()
    page.keyboard.press("Enter")
    menu = page.locator(".col-menu[role=menu]")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    assert menu_items(page) == [
        "Sort ascending",
        "Sort descending",
        "Filter by this field…",
        "Hide the column",
        "Edit the field…",
        "Insert a field on the left…",
        "Insert a field on the right…",
        "All fields of the catalog…",
    ]
    expect(menu.locator("[role=menuitem]").first).to_be_focused()
    axe(page, "column menu")
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Sort descending")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(menu.get_by_role("menuitem", name="All fields of the catalog…")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(button).to_be_focused()

    # Sort descending (Enter on the item): the grid reloads sorted, the URL keeps it.
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(".tabulator-col[tabulator-field=amount]")).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(page.locator(".tabulator-row").first).to_contain_text("Deal 039")
    assert "sort=-amount" in page.url

    # From the grid itself: Alt+ArrowDown opens the active column's menu.
    page.locator("[data-grid]").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Alt+ArrowDown")
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("[data-grid]")).to_be_focused()

    # Filter by the field: the builder opens with a condition on it.
    button.click()
    menu.get_by_role("menuitem", name="Filter by this field…").click()
    panel = page.locator("[data-filter-panel]")
    expect(panel).to_be_visible()
    expect(panel.locator(".condition select[name=field]").last).to_have_value("amount")

    # Hide: the column goes, "Save view" appears.
    page.locator(".tabulator-col[tabulator-field=phone] .col-menu-button").click()
    menu.get_by_role("menuitem", name="Hide the column").click()
    expect(page.locator(".tabulator-col[tabulator-field=phone]")).to_be_hidden()

    # Insert a field on the right of "Stage": the designer, then back to the grid with it
    # in that place.
    page.locator(".tabulator-col[tabulator-field=stage] .col-menu-button").click()
    menu.get_by_role("menuitem", name="Insert a field on the right…").click()
    page.wait_for_url("**/admin/catalogs/deals/fields/new?right=*")
    page.fill("#f-name", "Probability")
    page.fill("#opt-help", "Chance to win, in percent")
    page.click("button.primary")
    page.wait_for_url("**/c/deals?sort=*")
    names = [f["api_name"] for f in api.get("/catalogs/deals").json()["fields"]]
    assert names[names.index("stage") + 1] == "probability"
    header = page.locator(".tabulator-col[tabulator-field=probability]")
    expect(header).to_have_attribute("title", "Probability: Chance to win, in percent")

    # Edit the field from its header and come back.
    header.locator(".col-menu-button").click()
    menu.get_by_role("menuitem", name="Edit the field…").click()
    page.wait_for_url("**/admin/catalogs/deals/fields/*?back=*")
    page.fill("#f-name", "Win chance")
    page.click("button.primary")
    page.wait_for_url("**/c/deals?sort=*")
    expect(page.locator(".tabulator-col[tabulator-field=probability]")).to_contain_text(
        "Win chance"
    )
    watch.check()
    page.close()


def test_a_reader_gets_only_what_they_may_do(server, demo, browser):
    from playwright.sync_api import expect

    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server, *READER)
    page.goto(server + "/c/deals?lang=ru")
    expect(page.locator(".tabulator-row").first).to_be_visible()
    page.locator(".tabulator-col[tabulator-field=amount] .col-menu-button").click()
    items = menu_items(page)
    assert "Изменить поле…" not in items and "Скрыть столбец" in items
    assert items[0] == "Сортировать по возрастанию"
    # A masked field cannot be sorted or filtered by.
    page.keyboard.press("Escape")
    page.locator(".tabulator-col[tabulator-field=phone] .col-menu-button").click()
    assert menu_items(page) == ["Скрыть столбец"]
    axe(page, "column menu (reader, ru)")
    watch.check()
    page.close()


def test_default_and_help_in_the_new_record_card(server, demo, browser):
    from playwright.sync_api import expect

    api = demo["api"]
    r = api.patch(
        "/catalogs/deals/fields/stage",
        json={"options": {"default": "Won", "help": "Where the deal stands"}},
    )
    assert r.status_code == 200, r.text
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/deals/new")
    stage = page.locator("[data-field=stage]")
    expect(stage.locator("input[type=radio]:checked + .chip")).to_have_text("Won")
    expect(stage.locator(".field-help")).to_have_text("Where the deal stands")
    page.fill("#f-title", "Defaulted")
    page.click("button.primary")
    expect(page.locator("#panel-title, h1", has_text="Defaulted").first).to_be_visible()
    found = api.post(
        "/catalogs/deals/records/query", json={"filter": {"title": {"eq": "Defaulted"}}}
    ).json()["items"]
    assert found[0]["values"]["stage"]["label"] == "Won"
    # The designer shows the default with the chips of the card.
    field_id = api.get("/catalogs/deals/fields/stage").json()["id"]
    page.goto(f"{server}/admin/catalogs/deals/fields/{field_id}")
    expect(page.locator("[data-default-editor] input[type=radio]:checked + .chip")).to_have_text(
        "Won"
    )
    axe(page, "field designer with default")
    watch.check()
    page.close()
