"""Layout checks that screenshots once caught by eye (in chromium): the rights builder in
its box and not a form inside the rights form, the sticky save bar clear of what Tab
reaches, and a week of the calendar readable on a phone."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, PHONE, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def box(locator) -> dict[str, float]:
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }"
    )


def test_the_rights_rule_builder_and_the_save_bar(server, demo, browser):
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 800})
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/admin/rights/deals?lang=en")
    group = page.locator("details.group-rights").first
    group.evaluate("d => d.open = true")
    group.locator("select[name$='.view.mode']").select_option("rule")
    builder = group.locator("[data-rule$='.view'] [data-rule-builder]")
    builder.locator("button[data-add]").click()
    builder.locator(".condition select[name=field]").select_option("stage")
    # No <form> inside the rights form: the builder is a group there.
    assert page.evaluate("() => document.querySelectorAll('form form').length") == 0
    assert builder.locator(".filter-form").get_attribute("role") == "group"
    remove = builder.locator(".condition button.icon").first
    frame = box(builder.locator(".filter-form"))
    assert box(remove)["right"] <= frame["right"] + 0.5, (box(remove), frame)
    apply = builder.locator("[data-apply]")
    assert box(apply)["right"] <= frame["right"] + 0.5, (box(apply), frame)
    # The builder's "apply" writes the rule without posting the page.
    builder.locator("[data-apply]").click()
    assert "stage" in group.locator("textarea[name$='.view.rule']").input_value()
    assert page.url.endswith("/admin/rights/deals?lang=en")
    # Tab to "Creates records" from the top: the sticky bar does not hide it.
    page.evaluate("() => window.scrollTo(0, 0)")
    creates = group.locator("input[name$='.create']")
    creates.focus()
    bar = box(page.locator(".rights-form .actions.sticky"))
    assert box(creates)["bottom"] <= bar["top"], (box(creates), bar)
    axe(page, "rights with a rule")
    watch.check()


def test_a_week_of_the_calendar_on_a_phone(server, demo, browser):
    page = browser.new_page(locale="ru-RU", viewport=PHONE)
    sign_in(page, server)
    page.goto(f"{server}/c/deals?view={demo['views']['calendar']}&mode=week&lang=ru")
    days = page.locator(".calendar .cal-day")
    assert days.count() == 7
    frame = box(page.locator(".calendar"))
    first, second = box(days.nth(0)), box(days.nth(1))
    # One row per day, the whole width; the week does not scroll sideways.
    assert first["right"] - first["left"] >= (frame["right"] - frame["left"]) - 2
    assert second["top"] >= first["bottom"] - 1
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    cut = page.evaluate(
        "() => [...document.querySelectorAll('.cal-item')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).length"
    )
    assert cut == 0
    # The title sits on its own line above the buttons, not squeezed between them.
    title = box(page.locator(".cal-nav h2"))
    assert title["bottom"] <= box(page.locator(".cal-nav a.button").first)["top"] + 1
    axe(page, "calendar week on a phone")


def test_the_administration_sections_on_a_phone(server, demo, browser):
    """One row that scrolls: the current section is in sight, the edges say where more hide."""
    page = browser.new_page(locale="ru-RU", viewport=PHONE)
    watch = Watch(page)
    sign_in(page, server)
    row = page.locator(".admin-nav ul")
    page.goto(server + "/admin?lang=ru")
    assert row.get_attribute("data-more-before") is None
    assert row.get_attribute("data-more-after") is not None
    assert box(row)["bottom"] - box(row)["top"] < 60  # one row, not a wall of sections
    for path in ("/admin/imports", "/admin/scenarios", "/notices"):
        page.goto(server + path + "?lang=ru")
        current, frame = box(row.locator("a.active")), box(row)
        assert frame["left"] <= current["left"] + 1 and current["right"] <= frame["right"] + 1, path
        assert row.get_attribute("data-more-before") is not None, path
    # The catalog's view tabs scroll the same way: the last view, opened, is in sight.
    page.goto(server + "/c/deals?lang=ru")
    tabs = page.locator("nav.view-tabs")
    assert tabs.get_attribute("data-more-after") is not None
    last = tabs.locator("a").last.get_attribute("href")
    page.goto(server + last + "&lang=ru")
    current, frame = box(tabs.locator("a.active")), box(tabs)
    assert frame["left"] <= current["left"] + 1 and current["right"] <= frame["right"] + 1
    assert tabs.get_attribute("data-more-before") is not None
    page.goto(server + "/notices?lang=ru")
    # Scrolled to its end, nothing hides after it any more.
    row.evaluate("r => { r.scrollLeft = r.scrollWidth; r.dispatchEvent(new Event('scroll')); }")
    page.wait_for_function("() => !document.querySelector('.admin-nav ul[data-more-after]')")
    axe(page, "administration sections on a phone")
    watch.check()
