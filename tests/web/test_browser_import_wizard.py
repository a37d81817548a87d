"""The import wizard's choices (in chromium): a workbook's sheet, a date format typed as
dd.mm.yyyy, and the importer's error file from the summary — every refused row, not only
the sample on screen. The whole CSV flow is in tests/web/test_admin_flow.py."""

from __future__ import annotations

import pytest
from openpyxl import Workbook
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, api_client, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]

ROWS = 30  # more refused rows than the wizard shows (its sample) would hide some
BAD = {4, 17, 29}  # rows whose date is no day of the calendar


def workbook(path) -> None:
    book = Workbook()
    notes = book.active
    notes.title = "Readme"
    notes.append(["Nothing to import here"])
    people = book.create_sheet("Люди")
    people.append(["Name", "Born", "Amount"])
    for i in range(ROWS):
        born = f"31/02/{1990 + i}" if i in BAD else f"{(i % 28) + 1:02}/03/{1990 + i}"
        people.append([f"Person {i:02}", born, i * 10])
    book.active = 0  # the workbook opens on the notes: the sheet must be chosen
    book.save(path)


def test_sheet_date_format_and_the_error_file(server, browser, tmp_path):
    from playwright.sync_api import expect

    api = api_client(server)
    fields = [
        {"name": "Name", "type": "text", "required": True},
        {"name": "Born", "type": "date"},
        {"name": "Amount", "type": "number"},
    ]
    assert api.post("/catalogs", json={"name": "People", "fields": fields}).status_code == 201
    path = tmp_path / "people.xlsx"
    workbook(path)
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/c/people/import?lang=en")
    page.set_input_files("[data-file]", str(path))
    page.wait_for_selector("[data-step=columns]:not([hidden])")
    sheet = page.locator("[data-sheet]")
    expect(sheet).to_be_visible()
    expect(sheet).to_have_value("Readme")
    expect(page.locator("[data-preview]")).to_contain_text("Nothing to import here")
    sheet.select_option("Люди")
    expect(page.locator("[data-preview]")).to_contain_text("Person 00")
    expect(sheet).to_have_value("Люди")
    # A typed format that names no year is refused next to its input.
    page.select_option("[data-option=date_format]", "custom")
    custom = page.locator("[data-date-custom]")
    expect(custom).to_be_focused()
    custom.fill("dd/mm")
    page.click("[data-dry-run]")
    expect(page.locator("[data-date-custom-error]")).to_contain_text("dd.mm.yyyy")
    expect(custom).to_have_attribute("aria-invalid", "true")
    axe(page, "import: columns of a workbook")
    custom.fill("dd/mm/yyyy")
    page.click("[data-dry-run]")
    page.wait_for_selector("[data-run]:not([disabled])", timeout=120_000)
    assert "Would create: 27" in page.inner_text("[data-check-summary]")
    # The refused lines' numbers and their heading line up on the right.
    errors = page.locator("table.errors")
    for cell in (errors.locator("th").first, errors.locator("tbody td").first):
        assert cell.evaluate("e => getComputedStyle(e).textAlign") == "right"
    page.click("[data-run]")
    page.wait_for_selector("[data-done]:not([hidden])", timeout=120_000)
    link = page.locator("[data-error-file]")
    expect(link).to_be_visible()
    records = api.get("/catalogs/people/records", params={"limit": 100}).json()["items"]
    assert len(records) == ROWS - len(BAD)
    assert {r["values"]["born"] for r in records} >= {"1990-03-01", "2018-03-01"}
    # The link is the importer's own error file: the refused rows with their columns.
    answer = page.request.get(server + link.get_attribute("href"))
    assert answer.ok and "attachment" in answer.headers["content-disposition"]
    text = answer.text().lstrip("\ufeff")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Name,Born,Amount,line,column,error")
    assert sorted(line.split(",")[0] for line in lines[1:]) == [
        f"Person {i:02}" for i in sorted(BAD)
    ]
    api.close()
    watch.check()


def test_the_preview_scrolls_sideways_on_a_phone(server, browser, tmp_path):
    """On a phone the preview stays a table that scrolls, not one card per row."""
    api = api_client(server)
    api.post("/catalogs", json={"name": "Wide", "fields": [{"name": "A", "type": "text"}]})
    api.close()
    path = tmp_path / "wide.csv"
    heads = [f"Column number {i}" for i in range(12)]
    path.write_text(",".join(heads) + "\n" + ",".join(f"value {i}" for i in range(12)) + "\n")
    page = browser.new_page(locale="en-US", viewport=PHONE)
    sign_in(page, server)
    page.goto(server + "/c/wide/import?lang=en")
    page.set_input_files("[data-file]", str(path))
    page.wait_for_selector("[data-step=columns]:not([hidden])")
    shape = page.evaluate(
        """() => {
          const wrap = document.querySelector('.preview-wrap');
          const head = document.querySelector('[data-preview] thead');
          return {display: getComputedStyle(head).display,
                  scrolls: wrap.scrollWidth > wrap.clientWidth,
                  page: document.documentElement.scrollWidth <= window.innerWidth + 1};
        }"""
    )
    assert shape == {"display": "table-header-group", "scrolls": True, "page": True}, shape
    axe(page, "import: columns on a phone")


def test_the_refused_lines_read_whole_on_a_phone(server, browser, tmp_path):
    """On a phone each refused line is a block with its cells named; the reason, the part
    the user needs, is never cut off at the screen's edge."""
    api = api_client(server)
    fields = [{"name": "Name", "type": "text"}, {"name": "Amount", "type": "number"}]
    assert api.post("/catalogs", json={"name": "Sums", "fields": fields}).status_code == 201
    api.close()
    path = tmp_path / "sums.csv"
    path.write_text("Name,Amount\nGood,1\nBad,not a number at all\n")
    page = browser.new_page(locale="en-US", viewport=PHONE)
    sign_in(page, server)
    page.goto(server + "/c/sums/import?lang=en")
    page.set_input_files("[data-file]", str(path))
    page.wait_for_selector("[data-step=columns]:not([hidden])")
    page.click("[data-dry-run]")
    page.wait_for_selector("table.errors tbody tr", timeout=120_000)
    shape = page.evaluate(
        """() => {
          const wrap = document.querySelector('.errors-wrap');
          const cells = [...document.querySelectorAll('table.errors tbody tr:first-child td')];
          return {row: getComputedStyle(cells[0].parentElement).display,
                  fits: wrap.scrollWidth <= wrap.clientWidth + 1,
                  labels: cells.map(c => getComputedStyle(c, '::before').content)};
        }"""
    )
    assert shape["row"] == "block" and shape["fits"], shape
    assert shape["labels"] == ['"Line: "', '"Column: "', '"Value: "', '"Reason: "'], shape
    axe(page, "import: refused lines on a phone")
