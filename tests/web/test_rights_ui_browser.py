"""People and rights in a real browser: an administrator invites a regional user, builds a
`$user.region` rule with a hidden and a masked field, checks it with "see as", and the
user then signs in and sees exactly that. Plus the account page on a phone, in Russian."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, api_client, axe, sign_in

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
    pytest.mark.browser,
]


def _clients(base: str) -> Any:
    api = api_client(base)
    fields = [
        {"name": "Name", "type": "text", "required": True},
        {
            "name": "Region",
            "type": "select",
            "options": {"choices": [{"label": "North"}, {"label": "South"}]},
        },
        {"name": "Phone", "type": "phone"},
        {"name": "Sum insured", "type": "money"},
    ]
    assert api.post("/catalogs", json={"name": "Clients", "fields": fields}).status_code == 201
    rows = [
        {
            "values": {
                "name": f"Client {n:02d}",
                "region": "North" if n % 3 else "South",
                "phone": f"+7 912 555-{n:04d}",
                "sum_insured": 1000 * n,
            }
        }
        for n in range(1, 13)
    ]
    r = api.post("/catalogs/clients/records/batch", json={"create": rows})
    assert r.status_code == 200, r.text
    assert api.post("/groups", json={"name": "Regional"}).status_code == 201
    return api


def test_region_rule_see_as_then_the_user_sees_the_same(server, browser):
    from playwright.sync_api import expect

    api = _clients(server)
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)

    # A new user with a password, in the Regional group, with region = North.
    page.goto(server + "/admin/users/new")
    axe(page, "new user")
    page.fill("#f-name", "Anna")
    page.fill("#f-email", "anna@example.com")
    page.check("input[name=how][value=password]")
    page.fill("#f-password", "anna-password-1")
    page.check("label:has-text('Regional') input")
    page.click("button:has-text('Create user')")
    expect(page.locator(".alert.ok")).to_have_text("The user was created.")
    page.fill("#pk-0", "region")
    page.fill("#pv-0", "North")
    page.click("form[aria-labelledby=details-h] button[type=submit]")
    expect(page.locator(".alert.ok")).to_have_text("Saved.")
    axe(page, "user")

    # The rule: Regional sees clients of their own region; sum hidden, phone masked.
    page.goto(server + "/admin/rights/clients")
    group = page.locator("details.group-rights", has_text="Regional")
    group.locator("summary").click()
    group.locator("select[name$='.view.mode']").select_option("rule")
    builder = group.locator("[data-rule='groups.1.view'] [data-rule-builder]")
    builder.locator("button[data-add]").click()
    condition = builder.locator(".condition").first
    condition.locator("select[name=field]").select_option("region")
    condition.locator("select[name=value]").select_option("$user.region")
    group.locator("select[name$='.fields.sum_insured']").select_option("hidden")
    group.locator("select[name$='.fields.phone']").select_option("masked")
    group.locator("input[name$='.create']").check()
    axe(page, "rights designer")
    page.click("button:has-text('Save rights')")
    expect(page.locator(".alert.ok")).to_contain_text("Rights saved")
    saved = api.get("/catalogs/clients/rights").json()["groups"]["1"]
    assert saved["view"] == {"region": {"eq": "$user.region"}}
    assert saved["fields"] == {"sum_insured": "hidden", "phone": "masked"}

    # See as Anna: 8 northern clients, no sum, masked phones.
    page.click("a:has-text('See as a user…') >> nth=0")
    page.select_option("#see-user", label="Anna (anna@example.com)")
    page.click("button:has-text('Show')")
    table = page.locator("table[data-see-as]")
    expect(table.locator("tbody tr")).to_have_count(8)
    headers = table.locator("thead th").all_inner_texts()
    assert not any("Sum insured" in h for h in headers)
    seen_ids = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    phones = table.locator("td.t-phone").all_inner_texts()
    assert all("***" in p for p in phones)
    axe(page, "see as")
    watch.check()

    # Anna signs in: the same records in her grid, no sum column, masked phones.
    anna = browser.new_page(locale="en-US", viewport=DESKTOP)
    anna_watch = Watch(anna)
    sign_in(anna, server, "anna@example.com", "anna-password-1")
    anna.goto(server + "/c/clients")
    rows = anna.locator(".tabulator-row")
    expect(rows).to_have_count(8)
    grid_titles = anna.locator(".tabulator-col-title").all_inner_texts()
    assert "Sum insured" not in grid_titles and "Phone" in grid_titles
    texts = rows.all_inner_texts()
    assert all("***" in t for t in texts) and not any("South" in t for t in texts)
    own = api_client(server, "anna@example.com", "anna-password-1")
    listed = [str(r["id"]) for r in own.get("/catalogs/clients/records").json()["items"]]
    assert listed == seen_ids
    anna_watch.check()
    own.close()
    api.close()


def test_account_tokens_and_two_factor_on_a_phone_in_russian(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(locale="ru-RU", viewport=PHONE)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/account?lang=ru")
    expect(page.locator("h1")).to_have_text("Моя учётная запись")
    axe(page, "account")
    page.fill("form.new-token #f-token_name", "Выгрузка")
    page.check("form.new-token input[name=read_only]")
    page.click("button:has-text('Создать токен')")
    secret = page.locator("#new-token")
    expect(secret).to_have_value(re.compile(r"^kt_"))
    page.click("button:has-text('Настроить двухфакторный вход')")
    expect(page.locator(".qr svg")).to_be_visible()
    page.fill("#f-code", "123")
    page.click("button:has-text('Включить двухфакторный вход')")
    expect(page.locator("#err-code")).to_contain_text("Неверный или устаревший код")
    axe(page, "account totp")
    watch.check(deliberate={422})
