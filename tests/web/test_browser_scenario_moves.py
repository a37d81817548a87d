"""The step editor moves a step between lists in chromium: into the condition above and
out again with Alt+arrow keys (focus follows the step), into a branch picked in
"Move to…", into a loop's body with the button; what is saved is the moved tree."""

from __future__ import annotations

import json

import pytest
from support.browser import CHROMIUM, DESKTOP, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


LOOPED = {"type": "set", "vars": {"c": 3}}


def test_a_step_moves_into_and_out_of_branches_by_keyboard_and_buttons(server, browser, rest):
    from playwright.sync_api import expect

    fields = [{"name": "Amount", "api_name": "amount", "type": "number"}]
    r = rest.post("/catalogs", json={"name": "Deals", "api_name": "deals", "fields": fields})
    assert r.status_code == 201, r.text
    body = {
        "name": "Moves",
        "trigger": {"type": "manual", "catalog": "deals"},
        "steps": [
            {"type": "condition", "filter": {"amount": {"gt": 10}}, "then": [], "else": []},
            {"type": "set", "id": "mark", "vars": {"a": 1}},
            {"type": "stop", "status": "success"},
            {"type": "for_each", "as": "item", "items": "{{ [1, 2] }}", "steps": [LOOPED]},
            {"type": "set", "id": "last", "vars": {"b": 2}},
        ],
    }
    made = rest.post("/scenarios", json=body)
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(f"{server}/admin/scenarios/{sid}?lang=en")

    def tree() -> list:
        return json.loads(page.locator("[data-definition]").input_value())["steps"]

    # Alt+→ on the second step's heading: into the condition above (its first branch).
    page.focus('[data-step-toggle="steps[1]"]')
    page.keyboard.press("Alt+ArrowRight")
    moved = page.locator('[data-step-toggle="steps[0].then[0]"]')
    expect(moved).to_be_focused()
    assert [s["type"] for s in tree()] == ["condition", "stop", "for_each", "set"]
    assert tree()[0]["then"] == [{"type": "set", "id": "mark", "vars": {"a": 1}}]
    # Alt+← takes it out again, just after the condition; a top step cannot go further.
    page.keyboard.press("Alt+ArrowLeft")
    expect(page.locator('[data-step-toggle="steps[1]"]')).to_be_focused()
    assert tree()[0]["then"] == [] and tree()[1]["id"] == "mark"
    expect(page.locator('li[data-path="steps[1]"] [data-move="out"]').first).to_be_disabled()
    # "Move to…" on the stop step: the list offers the branches, not the step's own list.
    stop = page.locator('li[data-path="steps[2]"]')
    stop.locator('[data-move="to"]').first.click()
    target = page.locator('[data-move-target="steps[2]"]')
    expect(target).to_be_focused()
    options = target.locator("option")
    labels = [options.nth(i).inner_text() for i in range(options.count())]
    assert len(labels) == 3 and labels[1].startswith("1 ") and " → " in labels[1], labels
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert values == ["steps[0].then", "steps[0].else", "steps[3].steps"]
    axe(page, "scenario editor, move to")
    target.select_option("steps[0].else")
    page.keyboard.press("Enter")
    expect(page.locator('[data-step-toggle="steps[0].else[0]"]')).to_be_focused()
    assert tree()[0]["else"] == [{"type": "stop", "status": "success"}]
    # Escape closes the list without moving anything.
    page.locator('li[data-path="steps[1]"] [data-move="to"]').first.click()
    page.keyboard.press("Escape")
    expect(page.locator('[data-move-to="steps[1]"]')).to_be_hidden()
    # The button "into the step above" puts the last step into the loop's body.
    page.locator('li[data-path="steps[3]"] [data-move="into"]').first.click()
    expect(page.locator('[data-step-toggle="steps[2].steps[1]"]')).to_be_focused()
    page.click("[data-save]")
    expect(page.locator(".alert.ok")).to_be_visible()
    saved = rest.get(f"/scenarios/{sid}").json()["steps"]
    assert [s["type"] for s in saved] == ["condition", "set", "for_each"]
    assert saved[0]["else"][0]["type"] == "stop" and saved[0]["then"] == []
    assert saved[2]["steps"] == [LOOPED, {"type": "set", "id": "last", "vars": {"b": 2}}]
    watch.check()
    page.close()
