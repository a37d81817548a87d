"""Dates and numbers in the reader's language: the browser's native inputs follow the
browser's locale (a chromium per language, tests/support/browser.py), and what the UI
formats itself (grid cells, history, the card's amounts) follows the user's language, not
the browser's."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, DESKTOP, Watch, shown_dates, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def _dated(demo, due: str) -> int:
    """Deal 000 due on `due`, after an earlier due date (so its history has a change)."""
    rid = demo["ids"][0]
    for value in ("2026-11-01", due):
        r = demo["api"].patch(f"/catalogs/deals/records/{rid}", json={"values": {"due": value}})
        assert r.status_code == 200, r.text
    return rid


@pytest.mark.parametrize(
    ("locale", "shown"), [("ru-RU", "21.11.2026"), ("en-GB", "21/11/2026"), ("en-US", "11/21/2026")]
)
def test_native_date_input_follows_the_browser_locale(server, demo, browser, locale, shown):
    rid = _dated(demo, "2026-11-21")
    page = browser.new_page(locale=locale, viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(f"{server}/c/deals/r/{rid}")
    page.wait_for_selector("#f-due")
    assert shown in shown_dates(page)
    watch.check()


def test_ui_formats_dates_in_the_users_language_not_the_browsers(server, demo, browser):
    from playwright.sync_api import expect

    rid = _dated(demo, "2026-11-21")
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    # The user picks Russian in an American browser: the UI's own text follows the user.
    page.goto(f"{server}/c/deals/r/{rid}?lang=ru")
    history = page.locator("#history")
    expect(history).to_contain_text("1 нояб. 2026 г.")
    expect(history).to_contain_text("21 нояб. 2026 г.")
    expect(history).not_to_contain_text("2026-11-21")
    page.goto(f"{server}/c/deals")
    row = page.locator(".tabulator-row", has_text="Deal 000")
    expect(row.locator("[tabulator-field=due]")).to_have_text("21 нояб. 2026 г.")
    expect(row.locator("[tabulator-field=amount]")).to_have_text("100,00 RUB")

    # Back in English, the same screens read the English way.
    page.goto(f"{server}/c/deals/r/{rid}?lang=en")
    expect(page.locator("#history")).to_contain_text("Nov 21, 2026")
    page.goto(f"{server}/c/deals")
    row = page.locator(".tabulator-row", has_text="Deal 000")
    expect(row.locator("[tabulator-field=due]")).to_have_text("Nov 21, 2026")
    watch.check()


def test_a_russian_amount_is_typed_into_the_card_and_shown_back(server, demo, browser):
    from playwright.sync_api import expect

    rid = demo["ids"][0]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(f"{server}/c/deals/r/{rid}?lang=ru")
    amount = page.locator("#f-amount")
    expect(amount).to_have_value("100,00")
    # Garbage is refused in place, in the user's words; nothing is saved.
    amount.fill("сто")
    page.click("[data-card-form] button[type=submit]")
    expect(page.locator("#err-amount")).to_have_text(
        "«Amount»: не число (введите, например, 1 234,56)"
    )
    amount.fill("1 234,56")
    page.click("[data-card-form] button[type=submit]")
    page.wait_for_url(f"**/c/deals/r/{rid}?saved=1")
    record = demo["api"].get(f"/catalogs/deals/records/{rid}").json()
    assert record["values"]["amount"] == "1234.56"
    # The card shows it back the way it was typed (a no-break space between thousands).
    expect(page.locator("#f-amount")).to_have_value("1\u00a0234,56")
    page.goto(f"{server}/c/deals/r/{rid}?lang=en")
    expect(page.locator("#f-amount")).to_have_value("1,234.56")
    watch.check(deliberate={422})
