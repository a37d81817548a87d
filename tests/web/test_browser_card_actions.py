"""Action webhooks in the card (in chromium): typing into a watched field asks the
webhook, and what it answers appears in the form at once — values filled in, the message
shown — before anything is saved."""

from __future__ import annotations

import json

import pytest
from support.browser import CHROMIUM, DESKTOP, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def lookup(body):
    """The receiver's answer: a known phone fills the notes and says whose it is."""
    phone = body["values"].get("phone") or ""
    if phone.endswith("0042"):
        return 200, {"message": "Known caller: Acme", "values": {"notes": "Calls after 18:00"}}, {}
    return 200, {"message": None, "values": {}}, {}


def test_watched_field_fills_values_and_shows_the_message_live(server, demo, browser, receiver):
    from playwright.sync_api import expect

    api, ids = demo["api"], demo["ids"]
    receiver.handlers["/lookup"] = lookup
    r = api.post(
        "/webhooks",
        json={
            "url": receiver.url("/lookup"),
            "catalog": "deals",
            "kind": "action",
            "fields": ["phone"],
        },
    )
    assert r.status_code == 201, r.text
    # The card shows this as "12,345.60": the webhook must still hear the phone alone.
    r = api.patch(f"/catalogs/deals/records/{ids[5]}", json={"values": {"amount": "12345.6"}})
    assert r.status_code == 200, r.text
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)

    # An existing record in the full-page card.
    page.goto(f"{server}/c/deals/r/{ids[5]}?lang=en")
    expect(page.locator("#f-amount")).to_have_value("12,345.60")
    form = page.locator("[data-card-form]")
    note = form.locator("[data-form-error]")
    page.fill("#f-phone", "+79120000042")
    page.locator("#f-phone").blur()
    expect(page.locator("#f-notes")).to_have_value("Calls after 18:00")
    expect(note).to_have_text("Known caller: Acme")
    expect(note).to_be_visible()
    sent = json.loads(receiver.at("/lookup")[-1]["body"])
    assert sent["record_id"] == ids[5] and sent["values"] == {"phone": "+79120000042"}
    # Nothing is saved until the user saves.
    stored = api.get(f"/catalogs/deals/records/{ids[5]}").json()["values"]
    assert stored["notes"] == "secret note 5"
    axe(page, "card with an action message")
    form.locator("button[type=submit]").click()
    expect(page.locator(".alert.ok")).to_be_visible()
    stored = api.get(f"/catalogs/deals/records/{ids[5]}").json()["values"]
    assert stored["notes"] == "Calls after 18:00" and stored["phone"] == "+79120000042"
    assert stored["amount"] == "12345.60"

    # A field the webhook does not watch does not call it.
    calls = len(receiver.at("/lookup"))
    page.fill("#f-amount", "321")
    page.locator("#f-amount").blur()
    page.wait_for_timeout(1200)
    assert len(receiver.at("/lookup")) == calls

    # A new record in the side panel: the same, before it exists.
    page.goto(server + "/c/deals")
    page.click("a.new-record")
    panel = page.locator("#panel")
    panel.locator("#f-title").fill("Inbound call")
    panel.locator("#f-phone").fill("+79120000042")
    panel.locator("#f-phone").blur()
    expect(panel.locator("#f-notes")).to_have_value("Calls after 18:00")
    expect(panel.locator("[data-form-error]")).to_have_text("Known caller: Acme")
    assert json.loads(receiver.at("/lookup")[-1]["body"])["record_id"] is None
    watch.check()
