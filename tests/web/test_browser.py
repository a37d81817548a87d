"""The UI in a real browser: Debian chromium driven by Playwright against a real uvicorn server.

Each test is one person's flow through the screens, checked the way they would see it,
plus what they would not notice: no console errors, no failed asset, and axe-core finding
no serious or critical accessibility problem on the screens passed through.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from support.browser import CHROMIUM, DESKTOP, PHONE, READER, Watch, axe, png, sign_in, wav

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing (run scripts/install-browser.sh)",
    ),
]


# The main flow carries no `browser` mark on purpose: scripts/test.sh then runs it on
# PostgreSQL too (its PostgreSQL pass leaves out `browser` tests).
def test_grid_sort_filter_inline_edit_bulk_delete_and_live(server, demo, browser):
    from playwright.sync_api import expect

    data = demo
    api = data["api"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)

    page.goto(server + "/")
    expect(page.locator("h1")).to_have_text("Sign in")
    axe(page, "login")
    page.fill("#email", ADMIN_EMAIL)
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".alert.error")).to_have_text("Wrong e-mail or password.")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Catalogs")
    axe(page, "home")

    # The grid: rows come from the API by cursor; the count is asked once.
    page.click("#sidebar >> text=Deals")
    rows = page.locator(".tabulator-row")
    expect(rows.first).to_contain_text("Deal 000")
    expect(page.locator("[data-grid-count]")).to_have_text("40 records")
    axe(page, "grid")

    # Sort by a header: first ascending, then descending.
    amount = page.locator(".tabulator-col[tabulator-field=amount]")
    amount.click()
    amount.click()
    expect(amount).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("Deal 039")
    assert "sort=-amount" in page.url
    page.click("[data-grid-fields]")
    page.locator("[data-fields-panel] label", has_text="Phone").locator("input").uncheck()
    expect(page.locator(".tabulator-col[tabulator-field=phone]")).to_be_hidden()

    # Filter with a relative date: due between 7 days ago and 7 days ahead (15 deals).
    page.click("[data-grid-filter]")
    page.click("[data-add]")
    page.select_option(".condition [name=field]", "due")
    page.select_option(".condition [name=op]", "between")
    page.fill(".condition [name=from]", "-7d")
    page.fill(".condition [name=to]", "+7d")
    page.click(".filter-form button[type=submit]")
    expect(page.locator("[data-grid-count]")).to_have_text("15 records")
    expect(page.locator("[data-grid-filter] .badge")).to_have_text("1")
    assert "filter=" in page.url and "-7d" in page.url

    # Inline editing: a bad number is refused with the server's reason by the cell.
    first = rows.first
    title = first.locator(".tabulator-cell[tabulator-field=title]").inner_text()
    cell = first.locator(".tabulator-cell[tabulator-field=amount]")
    cell.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("a lot")
    page.keyboard.press("Enter")
    expect(page.locator(".cell-message")).to_have_text("expected a number")
    cell.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("777")
    page.keyboard.press("Enter")
    expect(page.locator(".toast", has_text="Saved")).to_be_visible()
    expect(cell).to_contain_text("777")
    rid = int(first.locator(".tabulator-cell[tabulator-field=_id]").inner_text())
    record = api.get(f"/catalogs/deals/records/{rid}").json()
    assert record["title"] == title and float(record["values"]["amount"]) == 777

    # Select two rows and delete them in one batch.
    page.on("dialog", lambda d: d.accept())
    rows.nth(1).locator(".select-col input").check()
    rows.nth(2).locator(".select-col input").check()
    gone = [
        int(rows.nth(i).locator(".tabulator-cell[tabulator-field=_id]").inner_text())
        for i in (1, 2)
    ]
    page.click("[data-grid-delete]")
    expect(page.locator("[data-grid-count]")).to_have_text("13 records")
    for i in gone:
        assert api.get(f"/catalogs/deals/records/{i}").status_code == 404

    # Live: a colleague changes a record; the row updates without a reload.
    api.patch(f"/catalogs/deals/records/{rid}", json={"values": {"title": "Changed elsewhere"}})
    expect(first.locator(".tabulator-cell[tabulator-field=title]")).to_have_text(
        "Changed elsewhere"
    )
    watch.check(deliberate={401, 422})


@pytest.mark.browser
def test_card_nested_create_upload_viewer_audio_and_comments(server, demo, browser):
    from playwright.sync_api import expect

    data = demo
    api = data["api"]
    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    # The browser's language is kept after login (the account has no language of its own).
    expect(page.locator("h1")).to_have_text("Каталоги")

    page.goto(server + "/c/deals")
    page.click("a.new-record")
    panel = page.locator("#panel")
    expect(panel.locator("h1")).to_have_text("Новая запись")
    panel.locator("#f-title").fill("Большая сделка")
    panel.locator(".chip-choice", has_text="Won").click()
    # "+ create" opens a nested form; the new client is linked at once.
    panel.locator("a[data-create-linked]").click()
    nested = page.locator("dialog.nested")
    nested.locator("#f-name").fill("ООО «Ромашка»")
    nested.locator("button[type=submit]").click()
    expect(nested).to_have_count(0)
    expect(panel.locator(".ts-control .item")).to_have_text("ООО «Ромашка»")
    panel.locator("[data-file-input]").set_input_files(
        [
            {"name": "photo.png", "mimeType": "image/png", "buffer": png()},
            {"name": "call.wav", "mimeType": "audio/wav", "buffer": wav()},
        ]
    )
    expect(panel.locator(".files li")).to_have_count(2)
    panel.locator("button[type=submit]").click()
    expect(panel.locator("h1")).to_have_text("Большая сделка")
    rid = int(panel.locator("[data-card]").get_attribute("data-record"))
    values = api.get(f"/catalogs/deals/records/{rid}").json()["values"]
    assert values["client"][0]["title"] == "ООО «Ромашка»" and values["stage"]["label"] == "Won"
    assert sorted(f["name"] for f in values["files"]) == ["call.wav", "photo.png"]

    # The full page: the image opens full screen, the recording plays.
    page.goto(f"{server}/c/deals/r/{rid}")
    axe(page, "card")
    page.click("a[data-viewer]")
    viewer = page.locator("dialog.viewer")
    expect(viewer.locator("img")).to_have_attribute("alt", "photo.png")
    page.keyboard.press("Escape")
    expect(viewer).to_have_count(0)
    playing = page.evaluate(
        "async () => { const a = document.querySelector('audio'); await a.play();"
        " await new Promise(r => setTimeout(r, 300)); return !a.paused && a.currentTime > 0; }"
    )
    assert playing

    # A validation error shows in place; history names the client, not its id.
    page.fill("#f-amount", "много")
    page.click("[data-card-form] button[type=submit]")
    expect(page.locator("#err-amount")).to_have_text(
        "«Amount»: не число (введите, например, 1 234,56)"
    )
    page.fill("#comment-text", "Позвонить в пятницу")
    page.click("#comments button[type=submit]")
    expect(page.locator(".comment p")).to_have_text("Позвонить в пятницу")
    expect(page.locator("#history ins", has_text="ООО «Ромашка»")).to_be_visible()
    watch.check(deliberate={422})


@pytest.mark.browser
def test_boards_and_what_a_restricted_user_sees(server, demo, browser):
    from playwright.sync_api import expect

    data = demo
    api, views, ids = data["api"], data["views"], data["ids"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)

    # Kanban: drag "Deal 000" (Lead) into the Won column; it is saved at once.
    page.goto(f"{server}/c/deals?view={views['kanban']}")
    axe(page, "kanban")
    card = page.locator(f".board-card[data-id='{ids[0]}']")
    won = page.locator(".kanban-col", has=page.locator("h2", has_text="Won")).locator(
        "[data-cards]"
    )
    card.drag_to(won)
    expect(page.locator(".toast", has_text="Moved")).to_be_visible()
    assert api.get(f"/catalogs/deals/records/{ids[0]}").json()["values"]["stage"]["label"] == "Won"

    # Calendar: drag a deal to another day.
    page.goto(f"{server}/c/deals?view={views['calendar']}")
    axe(page, "calendar")
    item = page.locator(".cal-item").first
    moved_id = item.get_attribute("data-id")
    old_day = item.locator("xpath=ancestor::*[@data-day]").get_attribute("data-day")
    target_day = (date.fromisoformat(old_day) + timedelta(days=1)).isoformat()
    item.drag_to(page.locator(f"[data-day='{target_day}'] [data-cards]"))
    expect(page.locator(".toast", has_text="Moved")).to_be_visible()
    assert api.get(f"/catalogs/deals/records/{moved_id}").json()["values"]["due"] == target_day
    for kind in ("gantt", "gallery"):
        page.goto(f"{server}/c/deals?view={views[kind]}")
        axe(page, kind)
    watch.check()

    # The reader: notes hidden, phone masked (no reveal right), stage read-only, so a
    # dragged card snaps back with the server's reason.
    other = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(other)
    sign_in(other, server, *READER)
    other.goto(server + "/c/deals")
    expect(other.locator(".tabulator-row").first).to_be_visible()
    headers = other.locator(".tabulator-col-title").all_inner_texts()
    assert "Notes" not in headers and "Title" in headers
    other.goto(f"{server}/c/deals/r/{ids[1]}")
    expect(other.locator(".field[data-field=phone] [data-value]")).to_contain_text("***")
    assert other.locator("[data-reveal]").count() == 0
    assert other.locator("#f-stage").count() == 0  # no stage editor
    assert "secret note" not in other.content()
    other.goto(f"{server}/c/deals?view={views['kanban']}")
    card = other.locator(f".board-card[data-id='{ids[1]}']")
    lead = other.locator(".kanban-col", has=other.locator("h2", has_text="Lead")).locator(
        "[data-cards]"
    )
    card.drag_to(lead)
    expect(other.locator(".toast.error")).to_be_visible()
    expect(
        other.locator(".kanban-col", has=other.locator("h2", has_text="Won")).locator(
            f".board-card[data-id='{ids[1]}']"
        )
    ).to_be_visible()
    assert api.get(f"/catalogs/deals/records/{ids[1]}").json()["values"]["stage"]["label"] == "Won"
    watch.check(deliberate={403, 422})


@pytest.mark.browser
def test_phone_sign_out_menu_list_and_status_change(server, demo, browser):
    from playwright.sync_api import expect

    data = demo
    api, ids = data["api"], data["ids"]
    context = browser.new_context(viewport=PHONE, locale="ru-RU", is_mobile=True, has_touch=True)
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server)
    signout = page.locator("form.signout button")
    box = signout.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    page.click("[data-toggle-sidebar]")
    page.click("#sidebar >> text=Deals")
    cards = page.locator("table.records tbody tr:not(.more)")
    expect(cards).to_have_count(30)
    page.click("text=Показать ещё")
    expect(cards).to_have_count(40)
    axe(page, "phone list")
    page.click("table.records >> text=Deal 000")
    # On a phone the card is a page of its own.
    expect(page.locator("h1")).to_have_text("Deal 000")
    page.locator(".chip-choice", has_text="Won").click()
    page.locator("[data-card-form] button[type=submit]").click()
    expect(page.locator(".alert.ok")).to_have_text("Изменения сохранены.")
    assert api.get(f"/catalogs/deals/records/{ids[0]}").json()["values"]["stage"]["label"] == "Won"
    axe(page, "phone card")
    page.locator("form.signout button").click()
    expect(page.locator("h1")).to_have_text("Вход")
    watch.check()
    context.close()
