"""The insurer example of docs/rights.md built step by step in the browser, as a new
administrator would (tests/web/test_admin_flow.py runs it with its checks; bench/
bench_admin_ui.py times it). Each step checks what the screens saved through the API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .browser import api_client, axe, sign_in
from .webhooks import work

ANNA = ("anna@example.com", "anna-pass-1234")
REGIONS = ("North", "South", "East")
PRODUCTS = ("OSAGO", "KASKO")
ROWS = 1000
BAD_PHONES = {17, 404}  # data lines (0-based) whose phone is not a phone number
#: Run axe-core on each screen (the test does; the benchmark switches it off to time
#: the screens alone).
ACCESSIBILITY = {"check": True}


def check_screen(page: Any, screen: str) -> None:
    """axe-core on the screen, unless switched off."""
    if ACCESSIBILITY["check"]:
        axe(page, screen)


def client_rows() -> list[list[str]]:
    """The CSV: Russian headers, a decimal comma, two bad phones."""
    rows = [["Наименование", "Регион", "Продукт", "Страховая сумма", "Телефон", "Прочее"]]
    for i in range(ROWS):
        phone = "12" if i in BAD_PHONES else f"+7912{i:07}"
        money = f"{(i % 40) * 500_000:,}".replace(",", " ") + ",50"
        region, product = REGIONS[i % 3], PRODUCTS[(i // 3) % 2]
        rows.append([f"ООО «Клиент {i:04}»", region, product, money, phone, "—"])
    return rows


def anna_should_see(rows: list[list[str]]) -> int:
    """Clients of the rule `region = North OR product = OSAGO` among the imported rows."""
    return sum(
        1
        for i, r in enumerate(rows[1:])
        if i not in BAD_PHONES and (r[1] == "North" or r[2] == "OSAGO")
    )


# ----- building the catalogs and their rights -------------------------------------------------
def new_catalog(page: Any, base: str, name: str, api_name: str) -> None:
    """A catalog from the catalog designer's form (it has no fields yet)."""
    page.goto(base + "/admin/catalogs")
    if page.locator("details.new-catalog").get_attribute("open") is None:
        page.click("details.new-catalog summary")
    form = page.locator("form.designer-form")
    form.locator("#f-name").fill(name)
    form.locator("#f-api_name").fill(api_name)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/fields\?created=1"))


def new_field(
    page: Any,
    base: str,
    catalog: str,
    name: str,
    kind: str,
    api_name: str,
    options: Callable[[Any], None] | None = None,
    required: bool = False,
) -> None:
    """A field from the field designer: name, type (the form redraws its options)."""
    page.goto(f"{base}/admin/catalogs/{catalog}/fields/new")
    page.fill("#f-name", name)
    if page.locator("#f-type").input_value() != kind:
        with page.expect_navigation():
            page.select_option("#f-type", kind)
    if options is not None:
        options(page)
    if required:
        page.check("input[name=required]")
    page.click("details.advanced summary")
    page.fill("#f-api_name", api_name)
    page.click("[data-field-form] button.primary")
    page.wait_for_url(re.compile(r".*/fields\?saved=1.*"))


def choices(labels: dict[str, str]) -> Callable[[Any], None]:
    """Fill the select's choices editor: one row per label, with its colour."""

    def fill(page: Any) -> None:
        for i, (label, colour) in enumerate(labels.items()):
            if i:
                page.click("[data-add-choice]")
            row = page.locator(".choice-row").nth(i)
            row.locator("input[name=choice_label]").fill(label)
            if colour:
                row.locator("select[name=choice_color]").select_option(colour)

    return fill


def catalogs(page: Any, base: str) -> None:
    """Clients (select with colours, phone, money, user) and Policies linking to them."""
    new_catalog(page, base, "Клиенты", "clients")
    check_screen(page, "field list")
    new_field(page, base, "clients", "Наименование", "text", "name", required=True)
    colours = {"North": "blue", "South": "green", "East": "orange"}
    new_field(page, base, "clients", "Регион", "select", "region", choices(colours))
    check_screen(page, "fields after a select")
    new_field(
        page, base, "clients", "Продукт", "select", "product", choices(dict.fromkeys(PRODUCTS, ""))
    )
    new_field(page, base, "clients", "Страховая сумма", "money", "sum_insured")
    new_field(page, base, "clients", "Телефон", "phone", "phone")
    new_field(page, base, "clients", "Менеджер", "user", "manager")
    new_catalog(page, base, "Полисы", "policies")
    new_field(page, base, "policies", "Номер", "text", "number", required=True)

    def target(p: Any) -> None:
        p.select_option("#opt-catalog", label="Клиенты")

    new_field(page, base, "policies", "Клиент", "link", "client", target)
    new_field(page, base, "policies", "Премия", "money", "premium")
    api = api_client(base)
    region = next(
        f for f in api.get("/catalogs/clients").json()["fields"] if f["api_name"] == "region"
    )
    assert [(c["label"], c["color"]) for c in region["options"]["choices"]] == list(colours.items())
    link = api.get("/catalogs/policies/fields/client").json()
    assert link["options"]["catalog"] in ("clients", api.get("/catalogs/clients").json()["id"])
    api.close()


def rights(page: Any, base: str, group_id: int) -> None:
    """Regional specialists: their region and every OSAGO client; phone masked, sum hidden."""
    page.goto(base + "/admin/rights/clients")
    check_screen(page, "rights designer")
    box = page.locator(f"details.group-rights[data-group='{group_id}']")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    prefix = f"groups.{group_id}"
    rule = '{"or": [{"region": {"eq": "$user.region"}}, {"product": {"eq": "OSAGO"}}]}'
    box.locator(f"[id='{prefix}.view.mode']").select_option("rule")
    box.locator(f"[id='{prefix}.view.rule']").fill(rule)
    box.locator(f"[id='{prefix}.edit.mode']").select_option("rule")
    box.locator(f"[id='{prefix}.edit.rule']").fill('{"region": {"eq": "$user.region"}}')
    # By keyboard: the sticky "save" bar may sit over the check box when scrolled to.
    box.locator(f"input[name='{prefix}.create']").focus()
    page.keyboard.press("Space")
    box.locator(f"[id='{prefix}.fields.phone']").select_option("masked")
    box.locator(f"[id='{prefix}.fields.sum_insured']").select_option("hidden")
    with page.expect_navigation():
        page.click(".rights-form .actions.sticky button[type=submit]")
    api = api_client(base)
    saved = api.get("/catalogs/clients/rights").json()["groups"][str(group_id)]
    fields = {f["api_name"]: f for f in api.get("/catalogs/clients").json()["fields"]}
    osago = next(c["id"] for c in fields["product"]["options"]["choices"] if c["label"] == "OSAGO")
    # The builder keeps a choice by its id, which the rule compares the same as the label.
    assert saved["view"] in (json.loads(rule), json.loads(rule.replace('"OSAGO"', str(osago))))
    assert saved["fields"] == {"phone": "masked", "sum_insured": "hidden"}
    api.close()


def see_as(page: Any, base: str, expected: int) -> None:
    """ "See as" Anna: her records, the hidden field named, phones masked."""
    page.goto(base + "/admin/rights/clients/see-as")
    page.select_option("#see-user", label=f"Анна Северова ({ANNA[0]})")
    page.click("form.people-search button[type=submit]")
    page.wait_for_selector("[data-see-as-count]")
    count = page.inner_text("[data-see-as-count]")
    assert str(expected) in count and "Страховая сумма" in count, count
    assert "***" in page.inner_text("[data-see-as] tbody tr >> nth=0")
    check_screen(page, "see as")


# ----- steps in the browser --------------------------------------------------------------------
def group_and_regional_user(page: Any, base: str) -> int:
    """The group `regional` and Anna (password, group, profile region = North)."""
    page.goto(base + "/admin/users/groups")
    page.fill("form.inline-form input[name=name]", "regional")
    page.click("form.inline-form button[type=submit]")
    page.goto(base + "/admin/users/new")
    check_screen(page, "new user")
    page.fill("#f-name", "Анна Северова")
    page.fill("#f-email", ANNA[0])
    page.check("input[name=how][value=password]")
    page.fill("#f-password", ANNA[1])
    page.get_by_label("regional").check()
    page.click("form.people-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/users/\d+.*"))
    page.fill("#pk-0", "region")
    page.fill("#pv-0", "North")
    page.locator("#pv-0").press("Enter")
    page.wait_for_load_state()
    group = page.locator("input[name=groups]:checked").first.get_attribute("value")
    assert group is not None
    return int(group)


def import_clients(page: Any, base: str, path: Path, rows: list[list[str]]) -> None:
    """The wizard: file, columns suggested from Russian headers, dry run, import."""
    page.goto(base + "/c/clients")
    page.click("a[href$='/c/clients/import']")
    check_screen(page, "import: file")
    page.set_input_files("[data-file]", str(path))
    page.wait_for_selector("[data-step=columns]:not([hidden])")
    assert "cp1251" in page.inner_text("[data-detected]")
    assert "«;»" in page.inner_text("[data-detected]")
    mapped = {
        tr.get_attribute("data-header"): tr.locator("[data-map]").input_value()
        for tr in page.locator("[data-mapping] tbody tr").all()
    }
    assert mapped == {
        "Наименование": "name",
        "Регион": "region",
        "Продукт": "product",
        "Страховая сумма": "sum_insured",
        "Телефон": "phone",
        "Прочее": "",
    }
    page.select_option("[data-option=decimal_comma]", "true")
    check_screen(page, "import: columns")
    page.click("[data-dry-run]")
    page.wait_for_selector("[data-run]:not([disabled])", timeout=120_000)
    summary = page.inner_text("[data-check-summary]")
    assert f"Будет создано: {ROWS - len(BAD_PHONES)}" in summary, summary
    errors = page.locator("[data-check-errors] tbody tr")
    assert errors.count() == len(BAD_PHONES)
    assert "Телефон" in errors.first.inner_text() and "12" in errors.first.inner_text()
    check_screen(page, "import: check")
    api = api_client(base)
    assert api.get("/catalogs/clients/records", params={"count": "true"}).json()["count"] == 0
    page.click("[data-run]")
    page.wait_for_selector("[data-step=import]:not([hidden])")
    assert page.locator("[data-bar]").get_attribute("role") == "progressbar"
    page.wait_for_selector("[data-done]:not([hidden])", timeout=120_000)
    assert page.locator("[data-bar]").get_attribute("aria-valuenow") == "100"
    done = page.inner_text("[data-run-summary]")
    assert f"Создано: {ROWS - len(BAD_PHONES)}" in done, done
    assert page.locator("[data-error-file]").is_visible()
    check_screen(page, "import: done")
    count = api.get("/catalogs/clients/records", params={"count": "true"}).json()["count"]
    assert count == ROWS - len(BAD_PHONES)
    api.close()


def notify_webhook(page: Any, base: str, instance: Any, receiver: Any) -> None:
    """A notify webhook to the loopback receiver; a change; its delivery in the log."""
    page.goto(base + "/admin/webhooks/new")
    page.wait_for_selector("[data-filter-host] form")
    check_screen(page, "webhook designer")
    page.select_option("#wh-catalog", "clients")
    page.fill("#wh-url", receiver.url("/insurer"))
    page.click("button[form=webhook-form]")
    secret = page.locator("[data-secret]").input_value()
    assert secret.startswith("whsec_")
    check_screen(page, "webhook secret")
    page.click("a.button.primary")
    page.wait_for_url(re.compile(r".*/admin/webhooks/\d+$"))
    page.click("text=Отправить тестовое событие")
    assert "Работает" in page.inner_text("[data-test-result]")
    # A change made in the browser: a new client through the record form.
    page.goto(base + "/c/clients/new")
    page.fill("[name=name]", "ООО «Новый клиент»")
    page.locator("label.chip-choice", has_text="North").first.click()
    page.click("[data-card-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/c/clients/r/\d+.*"))
    # The test app has no in-process worker; a worker pass runs its own event loop, so
    # off the thread that drives the browser.
    with ThreadPoolExecutor(1) as pool:
        for _ in range(50):
            if pool.submit(work, instance).result() == 0 and receiver.at("/insurer")[1:]:
                break
    page.goto(base + "/admin/webhooks")
    page.click("td.url a")
    log = page.locator(".deliveries li").first
    assert "доставлено" in log.inner_text()
    log.locator("summary").click()
    assert "Новый клиент" in log.inner_text()  # the request body
    check_screen(page, "webhook log")


def what_anna_sees(page: Any, base: str, expected: int) -> None:
    """Anna signs in: only North and OSAGO clients, phones masked, no sum insured."""
    page.goto(base + "/")
    page.click("form.signout button")
    sign_in(page, base, *ANNA)
    page.goto(base + "/c/clients")
    page.wait_for_selector(".tabulator-row")
    headers = page.inner_text(".tabulator-header")
    assert "Страховая сумма" not in headers and "Телефон" in headers
    assert "***" in page.locator(".tabulator-row").first.inner_text()
    check_screen(page, "regional user's grid")
    api = api_client(base, *ANNA)
    found = api.get("/catalogs/clients/records", params={"count": "true", "limit": 1000}).json()
    assert found["count"] == expected + 1  # and the client made in the browser (North)
    regions = {r["values"]["region"]["label"] for r in found["items"]}
    products = {
        r["values"]["product"]["label"]
        for r in found["items"]
        if r["values"]["region"]["label"] != "North"
    }
    assert regions <= set(REGIONS) and products == {"OSAGO"}
    api.close()
