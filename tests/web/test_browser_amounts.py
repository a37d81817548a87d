"""The UI's amounts.js, as built and served, reads every typed amount of the shared table
(tests/data/amount_cases.json) as kartoteka/web/amounts.py does (tests/web/test_amounts.py):
the grid, bulk edit and action webhooks send what the card's save would read."""

from __future__ import annotations

from typing import Any

import pytest
from support.amount_cases import CASES, case_id, expected
from support.browser import CHROMIUM, Watch

from kartoteka.web import assets

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]

# Every case through the module's two exports, in one round trip to the page.
RUN_CASES = """async ([url, cases]) => {
  const amounts = await import(url);
  return cases.map((c) => [
    amounts.readAmount(c.text, c.lang, c.decimals ?? null),
    amounts.plainAmount(c.text, c.lang),
  ]);
}"""


def test_the_served_amounts_module_reads_every_case_as_the_server_does(server, browser):
    page = browser.new_page()
    watch = Watch(page)
    page.goto(server + "/login")  # a page of the app, so the module is imported same-origin
    answers = page.evaluate(RUN_CASES, [server + assets.url("amounts.js"), CASES])
    disagreements = [
        (case_id(case), read, expected(case))
        for case, (read, _plain) in zip(CASES, answers, strict=True)
        if read != expected(case)
    ]
    assert disagreements == []
    # What the grid and bulk edit send (no limit of digits there: the API keeps its own):
    # the plain number, or the text as typed when it is none, for the API to say why.
    unsent = [
        (case_id(case), plain, sent(case))
        for case, (_read, plain) in zip(CASES, answers, strict=True)
        if "decimals" not in case and plain != sent(case)
    ]
    assert unsent == []
    watch.check()


def sent(case: dict[str, Any]) -> Any:
    """What plainAmount gives for a case read without a limit of digits."""
    return case["text"] if case.get("value") is None else case["value"]
