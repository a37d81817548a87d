"""The scenario editor in chromium: a scenario with two steps made in the step editor, a
refused URL shown beside its step's input, saved, test-run against a record picked by
name, and the trace read; axe-core on each screen, and the list at phone width."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def deals(api) -> int:
    fields = [
        {"name": "Name", "api_name": "name", "type": "text"},
        {"name": "Amount", "api_name": "amount", "type": "number"},
        {"name": "Note", "api_name": "note", "type": "text"},
    ]
    r = api.post("/catalogs", json={"name": "Deals", "api_name": "deals", "fields": fields})
    assert r.status_code == 201, r.text
    r = api.post("/catalogs/deals/records", json={"values": {"name": "Acme", "amount": 5}})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def add_step(page, kind: str, where: str = "steps") -> None:
    page.select_option(f'[data-add-kind="{where}"]', kind)
    page.click(f'[data-add-step="{where}"]')


def test_build_save_and_test_run_a_scenario_in_the_editor(server, browser, rest):
    from playwright.sync_api import expect

    api = rest
    record = deals(api)
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/admin/scenarios?lang=en")
    expect(page.locator(".empty")).to_contain_text("No scenarios yet")
    axe(page, "scenarios")
    page.click("text=New scenario")
    page.fill("#scn-name", "Note and call")
    page.select_option("#scn-trigger-type", "manual")
    page.select_option("#scn-trigger-catalog", "deals")
    add_step(page, "update_record")
    # A new step opens with its form; focus moves to it.
    # Its values: a row per field, the field chosen from the catalog, the value a template.
    step = page.locator('li[data-path="steps[0]"]')
    step.locator("text=Add a field").click()
    step.locator(".scn-value-row select").select_option("note")
    page.fill('[data-path="steps[0].values.note"]', "seen {{ record.name }}")
    add_step(page, "http")
    page.fill('[data-path="steps[1].url"]', "ftp://nowhere")
    axe(page, "scenario editor")
    page.click("[data-save]")
    # Refused: the reason stands beside the step's URL input, the rest is kept.
    url = page.locator('[data-path="steps[1].url"]')
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[data-path="steps[1].url"] + .field-error')).to_be_visible()
    page.click('[data-step-toggle="steps[0]"]')
    note = page.locator('[data-path="steps[0].values.note"]')
    expect(note).to_have_value("seen {{ record.name }}")
    url.fill("https://example.com/deals/{{ record.id }}")
    page.click("[data-save]")
    expect(page.locator(".alert.ok")).to_contain_text("The scenario was created.")
    [made] = api.get("/scenarios").json()["items"]
    assert [s["type"] for s in made["steps"]] == ["update_record", "http"]
    assert made["trigger"] == {"type": "manual", "catalog": "deals"}
    # The JSON tab shows the same definition, and edits there come back to the editor.
    page.click("[data-tab=json]")
    expect(page.locator("[data-definition]")).to_contain_text('"update_record"')
    page.click("[data-tab=visual]")
    expect(page.locator(".scn-step")).to_have_count(2)
    page.click(".scn-tabs >> text=Test")
    page.click("#scn-record-ts-control")
    page.keyboard.type("Acme")
    page.click(f'.ts-dropdown .option[data-value="{record}"]')
    page.click("text=Run the test")
    trace = page.locator("[data-trace] .scn-trace-step")
    expect(trace).to_have_count(2)
    expect(trace.nth(1)).to_have_attribute("data-step-status", "recorded")
    expect(trace.nth(1)).to_contain_text(f"https://example.com/deals/{record}")
    expect(page.locator("[data-test-note]")).to_be_visible()
    axe(page, "test run")
    values_now = api.get(f"/catalogs/deals/records/{record}").json()["values"]
    assert values_now["note"] == "seen Acme"
    watch.check(deliberate={422})
    page.close()


def test_the_list_and_the_editor_fit_a_phone(server, browser, rest):
    api = rest
    deals(api)
    body = {
        "name": "Сделка выиграна: задача бухгалтеру и письмо клиенту",
        "trigger": {"type": "record.updated", "catalog": "deals", "fields": ["amount"]},
        "steps": [
            {
                "type": "condition",
                "filter": {"amount": {"gt": 10}},
                "then": [{"type": "comment", "text": "big"}],
            }
        ],
    }
    made = api.post("/scenarios", json=body).json()
    page = browser.new_page(locale="ru-RU", viewport=PHONE, is_mobile=True, has_touch=True)
    watch = Watch(page)
    sign_in(page, server)
    for path in ("/admin/scenarios", f"/admin/scenarios/{made['id']}"):
        page.goto(server + path + "?lang=ru")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
    # A folded step opens with the keyboard and shows its branch.
    page.focus('[data-step-toggle="steps[0]"]')
    page.keyboard.press("Enter")
    assert page.locator(".scn-branch.branch-then .scn-step").count() == 1
    # The condition is shown in the views' filter builder, over the trigger's catalog.
    condition = page.locator('li[data-path="steps[0]"] .scn-filter-input').first
    assert condition.locator(".condition").count() == 1
    assert condition.locator('select[name="field"]').input_value() == "amount"
    watch.check()
    page.close()


def test_the_russian_list_fits_its_box_on_a_desktop_with_runs(server, browser, rest):
    """At 1366 px in Russian the runs and the row's «⋯» menu stay inside the table's box
    (the menu sits in the name cell) and the menu opens on screen; on a phone too."""
    from support.browser import PHONE

    api = rest
    deals(api)
    body = {
        "name": "Сделка выиграна: задача бухгалтеру, счёт и письмо клиенту",
        "description": "Крупные сделки — в бухгалтерию",
        "trigger": {"type": "record.updated", "catalog": "deals", "fields": ["amount"]},
        "steps": [{"type": "stop", "status": "error", "message": "нет счёта"}],
    }
    made = api.post("/scenarios", json=body).json()
    for _ in range(2):
        assert api.post(f"/scenarios/{made['id']}/run", json={}).status_code == 202
    for viewport, phone in ((DESKTOP, False), (PHONE, True)):
        page = browser.new_page(locale="ru-RU", viewport=viewport, is_mobile=phone, has_touch=phone)
        watch = Watch(page)
        sign_in(page, server)
        page.goto(server + "/admin/scenarios?lang=ru")
        wrap = page.locator(".table-wrap")
        assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), viewport
        box = wrap.bounding_box()
        row = page.locator(f'tr[data-scenario="{made["id"]}"]')
        assert "2 выполнения" in row.locator("[data-runs-count]").inner_text()
        menu = row.locator("[data-row-menu] > summary")
        m = menu.bounding_box()
        assert box and m and m["x"] + m["width"] <= box["x"] + box["width"], (viewport, m, box)
        menu.click()
        opened = row.locator("[data-row-menu] .confirm-box").bounding_box()
        assert opened and opened["x"] >= 0 and opened["x"] + opened["width"] <= viewport["width"]
        if not phone:
            axe(page, "scenarios, russian, with runs")
        watch.check()
        page.close()
