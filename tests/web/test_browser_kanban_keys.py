"""Kanban moves with the keyboard in chromium, obeying a stage process: Alt+→ moves the
focused card to the next column and saves it; a move the process refuses leaves the card
where it is and says why; M opens the "Move to…" menu, which marks the refused columns
and moves the card to the chosen one; Escape closes it and gives focus back."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, DESKTOP, Watch, axe, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]

STAGES = ["Applied", "Interview", "Offer", "Rejected"]


def test_a_card_moves_between_columns_by_keyboard_as_the_process_allows(server, browser, rest):
    from playwright.sync_api import expect

    fields = [
        {"name": "Name", "api_name": "name", "type": "text"},
        {"name": "Stage", "api_name": "stage", "type": "select",
         "options": {"choices": STAGES}},
        {"name": "Salary", "api_name": "salary", "type": "number"},
    ]  # fmt: skip
    r = rest.post("/catalogs", json={"name": "Candidates", "api_name": "cand", "fields": fields})
    assert r.status_code == 201, r.text
    view = rest.post(
        "/catalogs/cand/views",
        json={"name": "Board", "type": "kanban", "options": {"group_field": "stage"}},
    ).json()["id"]
    ann = rest.post("/catalogs/cand/records", json={"values": {"name": "Ann", "stage": "Applied"}})
    assert ann.status_code == 201, ann.text
    ann_id = ann.json()["id"]
    process = {
        "initial": ["Applied"],
        "transitions": [
            {"from": "Applied", "to": "Interview"},
            {"from": "Interview", "to": "Offer"},
            {"from": "*", "to": "Rejected"},
        ],
        "required": {"Offer": ["salary"]},
    }
    assert rest.put("/processes/cand/stage", json=process).status_code == 200

    def stage() -> str:
        return rest.get(f"/catalogs/cand/records/{ann_id}").json()["values"]["stage"]["label"]

    def column(name: str):
        return page.locator(".kanban-col", has=page.locator("h2", has_text=name))

    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    board = f"{server}/c/cand?view={view}&lang=en"
    page.goto(board)
    card = page.locator(f".board-card[data-id='{ann_id}']")
    expect(card).to_have_attribute("aria-keyshortcuts", "Alt+ArrowLeft Alt+ArrowRight M")
    # Alt+→: Applied -> Interview, saved, the card keeps the focus.
    card.focus()
    page.keyboard.press("Alt+ArrowRight")
    expect(page.locator(".toast", has_text="Moved")).to_be_visible()
    expect(column("Interview").locator(f".board-card[data-id='{ann_id}']")).to_be_focused()
    assert stage() == "Interview" and page.url == board
    # The card's process moves are the new stage's once it is saved.
    expect(card).not_to_have_attribute("data-saving", "1")
    # Alt+←: back to Applied is no transition of the process: refused on the page (no
    # request), with the process's reason.
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.method))
    page.keyboard.press("Alt+ArrowLeft")
    refused = page.locator(".toast.error")
    expect(refused).to_contain_text("cannot follow")
    assert "PATCH" not in requests
    expect(column("Interview").locator(f".board-card[data-id='{ann_id}']")).to_be_focused()
    assert stage() == "Interview" and page.url == board
    # M: the menu lists the other columns, the refused one marked with its reason.
    page.keyboard.press("m")
    menu = page.locator(f"[data-move-menu='{ann_id}']")
    expect(menu).to_be_visible()
    items = menu.locator("[role=menuitem]")
    expect(items).to_have_count(3)
    applied = menu.locator("[role=menuitem][data-move-to]").first
    expect(applied).to_have_attribute("aria-disabled", "true")
    expect(items.first).to_be_focused()
    axe(page, "kanban move menu")
    # Escape closes it; focus goes back to the card.
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(card).to_be_focused()
    # Down to "Rejected" and Enter: moved and saved.
    page.keyboard.press("M")
    page.keyboard.press("End")
    expect(menu.locator("[role=menuitem]").last).to_contain_text("Rejected")
    page.keyboard.press("Enter")
    expect(column("Rejected").locator(f".board-card[data-id='{ann_id}']")).to_be_focused()
    # The first move's toast may still be showing: wait for this save to finish.
    expect(card).not_to_have_attribute("data-saving", "1")
    expect(page.locator(".toast", has_text="Moved").last).to_be_visible()
    assert stage() == "Rejected"
    watch.check()
    page.close()
