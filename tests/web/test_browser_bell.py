"""Issue 12 in chromium: the bell's count rises live when a notice is posted (no reload),
its panel lists and marks notices read; the kanban obeys a stage-based process."""

from __future__ import annotations

import re

import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, READER, Watch, axe, sign_in

from kartoteka.notices import service as notices
from kartoteka.users import service as users

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def post_notice(instance, email: str, title: str, **data) -> int:
    ws = instance.workspace(instance.settings.default_workspace)
    user_id = users.find_user_id(ws, email)
    with ws.engine.begin() as conn:
        return notices.post(
            conn, "scenario.notify", title, "Please have a look.", "info", data, user_id=user_id
        )


def test_the_bell_count_rises_live_and_the_panel_marks_read(server, demo, browser, instance):
    from playwright.sync_api import expect

    api, ids = demo["api"], demo["ids"]
    catalog_id = api.get("/catalogs/deals").json()["id"]
    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server, *READER)
    page.goto(server + "/c/deals?lang=ru")
    count = page.locator("[data-bell-count]")
    expect(count).to_be_hidden()
    # The feed is open once the page's scripts ran; a notice posted now reaches the bell.
    page.wait_for_function("() => !!document.querySelector('[data-bell]')")
    page.wait_for_timeout(500)
    post_notice(instance, READER[0], "Сделка ждёт вас", catalog=catalog_id, record_id=ids[3])
    post_notice(instance, "admin@example.com", "Not for the reader")
    expect(count).to_have_text("1", timeout=15000)
    expect(page.locator(".bell-button")).to_have_attribute(
        "aria-label", "Уведомления, непрочитанных: 1"
    )
    # Keyboard: focus the bell, Enter opens the panel, Escape closes it.
    page.locator(".bell-button").focus()
    page.keyboard.press("Enter")
    panel = page.locator("#bell-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".notice")).to_have_count(1)
    expect(panel.locator(".notice-title a")).to_have_attribute("href", f"/c/deals/r/{ids[3]}")
    expect(panel).not_to_contain_text("Not for the reader")
    axe(page, "bell panel")
    panel.locator("[data-notice-read]").click()
    expect(count).to_be_hidden()
    expect(panel.locator(".notice.unread")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    watch.check()

    # A phone: the panel fits the screen.
    phone = browser.new_page(locale="en-US", viewport=PHONE)
    sign_in(phone, server, *READER)
    post_notice(instance, READER[0], "Another one", catalog=catalog_id, record_id=ids[4])
    phone.goto(server + "/?lang=en")
    expect(phone.locator("[data-bell-count]")).to_have_text("1")
    phone.locator(".bell-button").click()
    box = phone.locator("#bell-panel").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    expect(phone.locator("#bell-panel")).to_contain_text("Another one")
    # Opening the record a notice is about reads it.
    phone.locator("#bell-panel .notice-title a", has_text="Another one").click()
    phone.wait_for_url(f"**/c/deals/r/{ids[4]}")
    expect(phone.locator("[data-bell-count]")).to_be_hidden(timeout=15000)


def test_an_administrator_sees_the_unread_count_once_on_the_bell(server, demo, browser, instance):
    from playwright.sync_api import expect

    post_notice(instance, "admin@example.com", "Первое")
    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/?lang=ru")
    count, entry = page.locator("[data-bell-count]"), page.locator("#sidebar .side-notices")
    expect(count).to_have_text("1")
    # The sidebar keeps its way to the page, without a second (and soon stale) number.
    expect(entry).to_have_text("Уведомления")
    expect(entry.locator(".badge")).to_have_count(0)
    page.wait_for_timeout(500)
    post_notice(instance, "admin@example.com", "Второе")
    expect(count).to_have_text("2", timeout=15000)
    expect(entry).to_have_text("Уведомления")
    entry.click()
    page.wait_for_url("**/notices")
    expect(page.locator("#sidebar .side-notices")).to_have_attribute("aria-current", "page")
    expect(page.locator("#sidebar .badge")).to_have_count(0)
    axe(page, "notices")
    watch.check()


def test_a_kanban_drop_the_process_refuses_snaps_back_with_the_reason(server, demo, browser):
    from playwright.sync_api import expect

    api, ids, views = demo["api"], demo["ids"], demo["views"]
    body = {"transitions": [{"from": "Lead", "to": "Won"}, {"from": "Won", "to": "Lead"}]}
    r = api.put("/processes/deals/stage", json=body)
    assert r.status_code == 200, r.text
    page = browser.new_page(locale="ru-RU", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(f"{server}/c/deals?view={views['kanban']}&lang=ru")
    won_card = page.locator(f".board-card[data-id='{ids[1]}']")  # Deal 001 is Won
    lost = page.locator(".kanban-col", has=page.locator("h2", has_text="Lost"))
    lead = page.locator(".kanban-col", has=page.locator("h2", has_text="Lead"))
    # While dragging, the column the card may not go to is dimmed and disabled.
    won_card.hover()
    page.mouse.down()
    target = lost.locator("[data-cards]").bounding_box()
    assert target is not None
    page.mouse.move(target["x"] + 40, target["y"] + 40, steps=12)
    expect(lost).to_have_attribute("aria-disabled", "true")
    expect(lost).to_have_class(re.compile(r"\bforbidden\b"))
    expect(lead).not_to_have_attribute("aria-disabled", "true")
    page.mouse.up()
    # The drop snaps back, with the reason in the reader's language; nothing is written.
    expect(page.locator(".toast.error")).to_contain_text(
        "«Lost» не может идти после «Won». Следующие этапы: Lead."
    )
    expect(lost).not_to_have_attribute("aria-disabled", "true")
    expect(
        page.locator(".kanban-col", has=page.locator("h2", has_text="Won")).locator(
            f".board-card[data-id='{ids[1]}']"
        )
    ).to_have_count(1)
    assert api.get(f"/catalogs/deals/records/{ids[1]}").json()["values"]["stage"]["label"] == "Won"
    axe(page, "kanban with a process")
    watch.check()
