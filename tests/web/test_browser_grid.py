"""The grid by keyboard, bulk edit and column widths saved with the view (in chromium)."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, DESKTOP, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]

ACTIVE = "document.querySelector('.cell-active')"


def active(page) -> tuple[int, str]:
    """The active cell: its row's record id and its column's field."""
    return tuple(
        page.evaluate(
            f"() => {{ const c = {ACTIVE}; const r = c.closest('.tabulator-row');"
            " return [Number(r.querySelector('[tabulator-field=_id]').innerText),"
            " c.getAttribute('tabulator-field')]; }"
        )
    )


def grid_has_focus(page) -> bool:
    return page.evaluate("() => document.activeElement === document.querySelector('[data-grid]')")


def test_keyboard_moves_edits_opens_and_returns_focus(server, demo, browser):
    from playwright.sync_api import expect

    api, ids = demo["api"], demo["ids"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/deals?sort=title")
    rows = page.locator(".tabulator-row")
    expect(rows.first).to_contain_text("Deal 000")
    # An amount's heading stands over its figures, on the right; a text's on the left.
    align = "e => getComputedStyle(e.querySelector('.tabulator-col-title')).textAlign"
    heading = page.locator(".tabulator-col[tabulator-field='amount']")
    assert heading.evaluate(align) == "right"
    assert page.locator(".tabulator-col[tabulator-field='title']").evaluate(align) != "right"
    grid = page.locator("[data-grid]")
    # One Tab stop: no cell, tick box or link inside the rows is reachable by Tab.
    stops = page.evaluate(
        "() => [...document.querySelectorAll('[data-grid] .tabulator-row *')]"
        ".filter(e => e.tabIndex >= 0).length"
    )
    assert stops == 0
    grid.focus()
    assert active(page) == (ids[0], "title")
    cell_id = page.evaluate(f"() => {ACTIVE}.id")
    expect(grid).to_have_attribute("aria-activedescendant", cell_id)

    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert active(page) == (ids[1], "client")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert active(page) == (ids[1], "amount")
    page.keyboard.press("Home")
    assert active(page) == (ids[1], "_id")
    page.keyboard.press("Control+End")
    assert active(page)[0] == ids[39]
    page.keyboard.press("Control+Home")
    page.keyboard.press("ArrowDown")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert active(page) == (ids[1], "amount")

    # Enter edits; Enter saves and the focus is back on the same cell.
    page.keyboard.press("Enter")
    editor = page.locator("input.cell-editor")
    expect(editor).to_be_focused()
    page.keyboard.press("Control+A")
    # Typed the English way: "1,555.5" is one thousand five hundred and more, not 1.5555.
    page.keyboard.type("1,555.5")
    page.keyboard.press("Enter")
    expect(page.locator(".toast", has_text="Saved")).to_be_visible()
    assert api.get(f"/catalogs/deals/records/{ids[1]}").json()["values"]["amount"] == "1555.50"
    page.wait_for_function("() => document.activeElement === document.querySelector('[data-grid]')")
    assert active(page) == (ids[1], "amount")

    # Esc cancels an edit; Tab saves it and makes the next cell active.
    page.keyboard.press("F2")
    page.keyboard.press("Control+A")
    page.keyboard.type("999")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.activeElement === document.querySelector('[data-grid]')")
    assert api.get(f"/catalogs/deals/records/{ids[1]}").json()["values"]["amount"] == "1555.50"
    page.keyboard.press("Enter")
    page.keyboard.press("Control+A")
    page.keyboard.type("556")
    page.keyboard.press("Tab")
    page.wait_for_function("() => document.activeElement === document.querySelector('[data-grid]')")
    assert active(page) == (ids[1], "due")
    expect(rows.nth(1).locator("[tabulator-field=amount]")).to_contain_text("556")

    # Shift+Enter opens the card; Esc closes it and the grid has the focus again.
    page.keyboard.press("Shift+Enter")
    expect(page.locator("#panel h1")).to_have_text("Deal 001")
    page.keyboard.press("Escape")
    expect(page.locator("#panel")).to_be_hidden()
    assert grid_has_focus(page)
    assert active(page) == (ids[1], "due")

    # Space ticks rows.
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    expect(page.locator("[data-grid-bulk]")).to_have_text("Edit selected (2)")
    axe(page, "grid with an active cell")
    watch.check()


def test_bulk_edit_all_or_nothing_and_widths_saved_with_view(server, demo, browser):
    from playwright.sync_api import expect

    api, ids = demo["api"], demo["ids"]
    view = api.post(
        "/catalogs/deals/views",
        json={"name": "Table", "type": "table", "fields": ["title", "stage", "amount", "due"]},
    ).json()
    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    # No live feed on this page: a colleague's change stays unseen, as in a race.
    page.route("**/events/stream", lambda route: route.abort())
    page.goto(f"{server}/c/deals?view={view['id']}&sort=title")
    rows = page.locator(".tabulator-row")
    expect(rows.first).to_contain_text("Deal 000")
    for i in range(3):
        rows.nth(i).locator(".select-col input").check()

    # A bad value: the dialog names the record and the reason; nothing changes.
    page.click("[data-grid-bulk]")
    dialog = page.locator("dialog.bulk-edit")
    expect(dialog.locator("h2")).to_have_text("Изменить выбранные записи: 3")
    dialog.locator("[data-bulk-field]").select_option("amount")
    dialog.locator("#bulk-value").fill("много")
    axe(page, "bulk edit")
    dialog.locator("[data-bulk-apply]").click()
    expect(dialog.locator("[data-bulk-error]")).to_have_text(
        f"Запись №{ids[0]}, Amount: ожидается число Ничего не изменено."
    )
    amounts = [api.get(f"/catalogs/deals/records/{i}").json()["values"]["amount"] for i in ids[:3]]
    assert [float(a) for a in amounts] == [100, 101, 102]

    # Someone changes one of them meanwhile: the whole batch is refused.
    api.patch(f"/catalogs/deals/records/{ids[2]}", json={"values": {"amount": 7}})
    dialog.locator("#bulk-value").fill("250")
    dialog.locator("[data-bulk-apply]").click()
    expect(dialog.locator("[data-bulk-error]")).to_contain_text(f"Запись №{ids[2]} изменил")
    expect(rows.nth(2).locator("[tabulator-field=amount]")).to_contain_text("7")
    amounts = [api.get(f"/catalogs/deals/records/{i}").json()["values"]["amount"] for i in ids[:3]]
    assert [float(a) for a in amounts] == [100, 101, 7]

    # Applied again (the row now carries the new version): all three change at once.
    dialog.locator("[data-bulk-field]").select_option("stage")
    dialog.locator("#bulk-value").select_option(label="Lost")
    dialog.locator("[data-bulk-apply]").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(".toast", has_text="Изменено: 3")).to_be_visible()
    expect(page.locator("[data-grid-bulk]")).to_be_focused()
    for i in range(3):
        expect(rows.nth(i).locator("[tabulator-field=stage]")).to_have_text("Lost")
        values = api.get(f"/catalogs/deals/records/{ids[i]}").json()["values"]
        assert values["stage"]["label"] == "Lost"

    # A column dragged wider is saved with the view and comes back after a reload.
    header = page.locator(".tabulator-col[tabulator-field=amount]")
    before = header.bounding_box()
    # The resize handle sits over the header's right edge.
    edge, middle = before["x"] + before["width"] - 2, before["y"] + before["height"] / 2
    page.mouse.move(edge, middle)
    page.mouse.down()
    page.mouse.move(edge + 80, middle, steps=5)
    page.mouse.up()
    page.click("[data-grid-save-view]")
    expect(page.locator(".toast", has_text="Представление сохранено")).to_be_visible()
    saved = api.get(f"/catalogs/deals/views/{view['id']}").json()
    assert saved["fields"] == ["title", "stage", "amount", "due"]
    assert saved["options"]["widths"]["amount"] >= before["width"] + 60
    page.reload()
    expect(rows.first).to_be_visible()
    after = page.locator(".tabulator-col[tabulator-field=amount]").bounding_box()
    assert abs(after["width"] - saved["options"]["widths"]["amount"]) <= 1
    watch.problems = [p for p in watch.problems if "ERR_FAILED" not in p]
    watch.failed = [(s, u) for s, u in watch.failed if "/events/stream" not in u]
    watch.check(deliberate={412, 422})
