"""Calendar week and day views and Gantt dependency arrows, in chromium."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from support.browser import CHROMIUM, DESKTOP, PHONE, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def test_week_and_day_views_by_date_and_by_time(server, demo, browser):
    from playwright.sync_api import expect

    api, views = demo["api"], demo["views"]
    today = date.today()
    monday = today - timedelta(days=today.weekday())
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)

    # A date field: the week is seven tall days with the deals due on them.
    page.goto(f"{server}/c/deals?view={views['calendar']}")
    page.click(".segmented >> text=Week")
    expect(page.locator(".cal-nav h2")).to_have_attribute("data-mode", "week")
    days = page.locator(".calendar .cal-day")
    expect(days).to_have_count(7)
    assert days.first.get_attribute("data-day") == monday.isoformat()
    due_this_week = [
        r
        for r in api.get("/catalogs/deals/records?limit=100").json()["items"]
        if monday.isoformat() <= r["values"]["due"] <= (monday + timedelta(days=6)).isoformat()
    ]
    expect(page.locator(".calendar .cal-item")).to_have_count(len(due_this_week))
    axe(page, "calendar week")
    item = page.locator(f"[data-day='{today.isoformat()}'] .cal-item").first
    moved = item.get_attribute("data-id")
    target = (today + timedelta(days=1 if today.weekday() < 6 else -1)).isoformat()
    item.drag_to(page.locator(f"[data-day='{target}'] [data-cards]"))
    expect(page.locator(".toast", has_text="Moved")).to_be_visible()
    assert api.get(f"/catalogs/deals/records/{moved}").json()["values"]["due"] == target
    page.click("a[aria-label='Next week']")
    expect(days.first).to_have_attribute("data-day", (monday + timedelta(days=7)).isoformat())

    page.click(".segmented >> text=Day")
    expect(page.locator(".calendar .cal-day")).to_have_count(1)
    page.click("a[aria-label='Previous day']")
    # The day view opens on the day the week was moved to (a week from today).
    day = (today + timedelta(days=6)).isoformat()
    expect(page.locator(".calendar .cal-day")).to_have_attribute("data-day", day)

    # A date-time field: hour rows; a drop into another day's 14:00 keeps the minutes,
    # in the workspace's zone.
    api.post(
        "/catalogs",
        json={
            "name": "Meetings",
            "fields": [
                {"name": "Topic", "type": "text"},
                {"name": "At", "type": "datetime"},
            ],
        },
    )
    rid = api.post(
        "/catalogs/meetings/records",
        json={"values": {"topic": "Kick-off", "at": f"{today.isoformat()}T10:30:00Z"}},
    ).json()["id"]
    view = api.post(
        "/catalogs/meetings/views",
        json={"name": "Diary", "type": "calendar", "options": {"date_field": "at"}},
    ).json()["id"]
    page.goto(f"{server}/c/meetings?view={view}&mode=week&date={today.isoformat()}")
    slot = page.locator(f".cal-slot[data-day='{today.isoformat()}'][data-hour='10']")
    expect(slot.locator(".cal-item")).to_have_text("10:30 Kick-off")
    # The view opens at the morning, not at midnight.
    assert page.evaluate("() => document.querySelector('[data-cal-hours]').scrollTop") > 0
    axe(page, "calendar week by hour")
    other = (today + timedelta(days=1 if today.weekday() < 6 else -1)).isoformat()
    target_slot = page.locator(f".cal-slot[data-day='{other}'][data-hour='14']")
    target_slot.scroll_into_view_if_needed()
    slot.locator(".cal-item").drag_to(target_slot.locator("[data-cards]"))
    expect(page.locator(".toast", has_text="Moved")).to_be_visible()
    value = api.get(f"/catalogs/meetings/records/{rid}").json()["values"]["at"]
    assert value == f"{other}T14:30:00Z"
    expect(target_slot.locator(".cal-item time")).to_have_text("14:30")
    add = page.locator(f".cal-slot[data-day='{other}'][data-hour='16'] .cal-add")
    assert add.get_attribute("href").endswith(f"/new?f.at={other}T16:00")
    page.goto(f"{server}/c/meetings?view={view}&mode=day&date={other}")
    expect(page.locator(".cal-slot[data-hour='14'] .cal-item")).to_have_text("14:30 Kick-off")
    expect(page.locator(".cal-slot")).to_have_count(24)
    watch.check()

    phone = browser.new_page(locale="ru-RU", viewport=PHONE)
    sign_in(phone, server)
    phone.goto(f"{server}/c/meetings?view={view}&mode=week&date={other}")
    expect(phone.locator(".cal-nav h2")).to_be_visible()
    axe(phone, "calendar week, phone")


def test_gantt_draws_dependency_arrows_and_marks_late_ones(server, demo, browser):
    from playwright.sync_api import expect

    api = demo["api"]
    tasks = api.post(
        "/catalogs",
        json={
            "name": "Tasks",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Start", "type": "date"},
                {"name": "End", "type": "date"},
            ],
        },
    ).json()
    r = api.post(
        "/catalogs/tasks/fields",
        json={
            "name": "After",
            "type": "link",
            "options": {"catalog": tasks["id"], "multiple": True},
        },
    )
    assert r.status_code == 201, r.text
    first = date.today().replace(day=1)
    day = lambda n: (first + timedelta(days=n)).isoformat()  # noqa: E731
    a = api.post(
        "/catalogs/tasks/records",
        json={"values": {"name": "Design", "start": day(1), "end": day(3)}},
    ).json()["id"]
    b = api.post(
        "/catalogs/tasks/records",
        json={"values": {"name": "Build", "start": day(4), "end": day(6), "after": [a]}},
    ).json()["id"]
    c = api.post(
        "/catalogs/tasks/records",
        json={"values": {"name": "Rush", "start": day(2), "end": day(5), "after": [a]}},
    ).json()["id"]
    view = api.post(
        "/catalogs/tasks/views",
        json={
            "name": "Plan",
            "type": "gantt",
            "options": {"start_field": "start", "end_field": "end", "depends_field": "after"},
        },
    ).json()["id"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    page.goto(f"{server}/c/tasks?view={view}&month={first.strftime('%Y-%m')}")
    arrows = page.locator(".gantt-links path:not(marker path)")
    expect(arrows).to_have_count(2)
    expect(page.locator(f".gantt-links path[data-to='{c}']")).to_have_class("late")
    expect(page.locator(f".gantt-links path[data-to='{b}']")).not_to_have_class("late")
    bar = page.locator(f".gantt-bar[data-id='{c}']")
    assert "after: Design" in bar.get_attribute("aria-valuetext")
    axe(page, "gantt with dependencies")
    # Moving the late task two days later (keyboard) makes its arrow plain.
    bar.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator(f".gantt-links path[data-to='{c}']")).not_to_have_class("late")
    expect(page.locator(".toast", has_text="Saved")).to_be_visible()
    assert "after: Design" in bar.get_attribute("aria-valuetext")
    assert api.get(f"/catalogs/tasks/records/{c}").json()["values"]["start"] == day(4)
    watch.check()
