"""Editing a webhook keeps its filter. Two bugs lost it: the form's hidden input was a
double-quoted attribute holding `tojson` output (so it held `{` and the builder showed no
condition: saving wiped the filter), and a condition naming a select's choice by label
({"stage": {"eq": "Won"}}, as the API allows) showed — and saved — the first choice."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, DESKTOP, Watch, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def test_a_webhook_filtered_by_a_choice_label_is_saved_unchanged(server, demo, browser):
    from playwright.sync_api import expect

    api = demo["api"]
    r = api.post(
        "/webhooks",
        json={
            "url": "https://hooks.example.com/won",
            "catalog": "deals",
            "events": ["record.updated"],
            "filter": {"and": [{"stage": {"eq": "Won"}}, {"stage": {"in": ["Lost", "Lead"]}}]},
        },
    )
    assert r.status_code == 201, r.text
    hook = r.json()["id"]
    stage = next(f for f in api.get("/catalogs/deals").json()["fields"] if f["api_name"] == "stage")
    ids = {c["label"]: c["id"] for c in stage["options"]["choices"]}
    page = browser.new_page(locale="en-GB", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(f"{server}/admin/webhooks/{hook}/edit")
    values = page.locator("[data-filter-host] .condition [name=value]")
    expect(values).to_have_count(2)
    expect(values.nth(0).locator("option:checked")).to_have_text("Won")
    expect(values.nth(1).locator("option:checked")).to_have_text(["Lead", "Lost"])
    page.click("button[form=webhook-form][type=submit]")
    page.wait_for_url(f"{server}/admin/webhooks/{hook}?done=saved")
    saved = api.get(f"/webhooks/{hook}").json()["filter"]
    assert saved == {
        "and": [{"stage": {"eq": ids["Won"]}}, {"stage": {"in": [ids["Lead"], ids["Lost"]]}}]
    }
    watch.check()
