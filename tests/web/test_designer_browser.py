"""The designers in chromium: drag and keyboard order, the choices editor, a type change
behind its dry run, a view with the filter builder; axe-core on every designer screen at
desktop and phone size, in Russian and English, and no console error."""

from __future__ import annotations

import json

import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def test_designer_screens_pass_axe_at_both_sizes_and_languages(server, demo, browser):
    api = demo["api"]
    deals = api.get("/catalogs/deals").json()
    view = demo["views"]["kanban"] if isinstance(demo["views"], dict) else demo["views"][0]
    view_id = view if isinstance(view, int) else view["id"]
    stage = [f for f in deals["fields"] if f["type"] == "select"][0]
    screens = [
        "/admin",
        "/admin/catalogs",
        "/admin/catalogs/deals",
        "/admin/catalogs/deals/delete",
        "/admin/catalogs/deals/fields",
        f"/admin/catalogs/deals/fields/{stage['id']}",
        f"/admin/catalogs/deals/fields/{stage['id']}/delete",
        "/admin/catalogs/deals/fields/new?type=link",
        "/admin/catalogs/deals/views",
        f"/admin/catalogs/deals/views/{view_id}",
        "/admin/catalogs/deals/views/new?type=gantt",
    ]
    for size, lang in ((DESKTOP, "ru"), (PHONE, "en")):
        context = browser.new_context(viewport=size, locale=lang)
        page = context.new_page()
        watch = Watch(page)
        sign_in(page, server)
        for url in screens:
            page.goto(f"{server}{url}{'&' if '?' in url else '?'}lang={lang}")
            page.wait_for_load_state("networkidle")
            axe(page, f"{url} {lang} {size['width']}")
            # Nothing wider than the screen on a phone.
            assert (
                page.evaluate("() => document.documentElement.scrollWidth") <= size["width"] + 1
            ), url
        watch.check()
        context.close()


def test_reorder_by_drag_and_by_keyboard(server, demo, browser):
    api = demo["api"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/admin/catalogs/deals/fields?lang=en")
    before = [f["api_name"] for f in api.get("/catalogs/deals").json()["fields"]]
    handles = page.locator(".field-list .handle")
    # Drag the third field above the first.
    box_from, box_to = handles.nth(2).bounding_box(), handles.nth(0).bounding_box()
    page.mouse.move(box_from["x"] + 4, box_from["y"] + 4)
    page.mouse.down()
    page.mouse.move(box_from["x"] + 4, box_from["y"] - 10, steps=5)
    page.mouse.move(box_to["x"] + 4, box_to["y"] - 4, steps=20)
    page.wait_for_timeout(300)
    page.mouse.up()
    page.wait_for_url("**/fields?saved=1*")
    after = [f["api_name"] for f in api.get("/catalogs/deals").json()["fields"]]
    assert after[0] == before[2] and sorted(after) == sorted(before)
    # The arrows by keyboard: focus the second row's "up" and press Enter.
    second = page.locator(".field-list li").nth(1)
    second.locator("button[value^=up]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    again = [f["api_name"] for f in api.get("/catalogs/deals").json()["fields"]]
    assert again[:2] == [after[1], after[0]]
    watch.check()


def test_choices_editor_and_type_change_report(server, demo, browser):
    api = demo["api"]
    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/admin/catalogs/clients/fields/new?type=select&lang=ru")
    page.fill("#f-name", "Уровень")
    rows = page.locator(".choice-row")
    assert rows.count() == 1  # one empty row; the script adds the rest on demand
    for i, label in enumerate(["Золото", "Серебро", "Бронза"]):
        if i:
            page.click("[data-add-choice]")
        rows.nth(i).locator("input[type=text]").fill(label)
    rows.nth(0).locator("select").select_option("yellow")
    # Remove the middle one; the focus goes on to the next row's input.
    rows.nth(1).locator("[data-remove-choice]").click()
    page.click("[data-field-form] .actions button.primary")
    page.wait_for_url("**/fields?saved=1*")
    level = [f for f in api.get("/catalogs/clients").json()["fields"] if f["name"] == "Уровень"][0]
    assert [(c["label"], c["color"]) for c in level["options"]["choices"]][0] == (
        "Золото",
        "yellow",
    )
    assert [c["label"] for c in level["options"]["choices"]] == ["Золото", "Бронза"]
    # Name (text, required) -> number: the dry run says none convert, and a required field
    # may not end up empty, so the report comes without the button that applies it.
    page.goto(server + "/admin/catalogs/clients/fields/name?lang=ru")
    page.select_option("#f-type", "number")
    page.wait_for_selector("#f-type >> [value=number][selected]", state="attached")
    page.click("[data-field-form] .actions button.primary")
    page.wait_for_selector(".convert-report")
    assert "не преобразуются" in page.inner_text(".convert-report")
    assert page.locator(".convert-report button[name=confirm]").count() == 0
    assert page.locator(".convert-report .alert.error").count() == 1
    axe(page, "type change report")
    assert api.get("/catalogs/clients").json()["fields"][0]["type"] == "text"
    page.click("text=Вернуться к полю")
    page.wait_for_selector("[data-field-form]")
    watch.check(deliberate={422})


def test_a_view_with_the_filter_builder(server, demo, browser):
    api = demo["api"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/admin/catalogs/deals/views/new?type=table&lang=en")
    page.fill("#f-name", "Big ones")
    page.click("[data-filter-host] [data-add]")
    page.select_option(".condition [name=field]", "amount")
    page.select_option(".condition [name=op]", "gt")
    page.fill(".condition [name=value]", "1000")
    page.select_option("#sort-field-1", "amount")
    page.select_option("#sort-dir-1", "desc")
    page.check("input[name=personal]")
    page.click("button[form=view-form].primary")
    page.wait_for_url("**/views?saved=1")
    made = [v for v in api.get("/catalogs/deals/views").json()["items"] if v["name"] == "Big ones"]
    assert made and made[0]["sort"] == "-amount" and made[0]["options"]["personal"] is True
    assert json.dumps(made[0]["filter"]) in (
        json.dumps({"amount": {"gt": "1000"}}),
        json.dumps({"amount": {"gt": 1000}}),
    )
    watch.check()
