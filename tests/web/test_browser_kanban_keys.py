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


def kanban_catalog(rest, name: str, api_name: str, *more: dict) -> int:
    """A catalog with a name and a stage (and `more` fields) and its kanban view's id."""
    fields = [
        {"name": "Name", "api_name": "name", "type": "text"},
        {"name": "Stage", "api_name": "stage", "type": "select",
         "options": {"choices": STAGES}},
        *more,
    ]  # fmt: skip
    r = rest.post("/catalogs", json={"name": name, "api_name": api_name, "fields": fields})
    assert r.status_code == 201, r.text
    options = {"group_field": "stage"}
    r = rest.post(
        f"/catalogs/{api_name}/views", json={"name": "Board", "type": "kanban", "options": options}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_a_card_moves_between_columns_by_keyboard_as_the_process_allows(server, browser, rest):
    from playwright.sync_api import expect

    salary = {"name": "Salary", "api_name": "salary", "type": "number"}
    view = kanban_catalog(rest, "Candidates", "cand", salary)
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


def test_a_refresh_that_arrives_while_the_move_menu_is_open_waits_for_it(server, browser, rest):
    """Someone else's change refreshes the board, but never under the user's hands: the
    fresh board came while the move menu was open (opened during the fetch), and used to
    take the focus from the menu, so Enter opened the card instead of moving it."""
    from playwright.sync_api import expect

    view = kanban_catalog(rest, "Leads", "lead")
    ids = {}
    for name in ("Ann", "Bob"):
        r = rest.post("/catalogs/lead/records", json={"values": {"name": name, "stage": "Applied"}})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]

    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    watch = Watch(page)
    sign_in(page, server)
    board = f"{server}/c/lead?view={view}&lang=en"
    # The board's refresh fetches the page: hold the first such fetch until the menu is open.
    held = []

    def hold(route):
        if route.request.resource_type == "fetch" and not held:
            held.append(route)
        else:
            route.continue_()

    page.route(board, hold)
    page.goto(board)
    ann = page.locator(f".board-card[data-id='{ids['Ann']}']")
    bob = page.locator(f".board-card[data-id='{ids['Bob']}']")
    expect(ann).to_have_attribute("aria-keyshortcuts", "Alt+ArrowLeft Alt+ArrowRight M")
    page.wait_for_timeout(300)  # the live feed is connected
    # Someone else moves Bob; the board starts fetching its fresh copy.
    r = rest.patch(f"/catalogs/lead/records/{ids['Bob']}", json={"values": {"stage": "Offer"}})
    assert r.status_code == 200, r.text
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the board did not refresh after someone else's change"
    # Meanwhile the user opens Ann's move menu; then the fresh page arrives.
    ann.focus()
    page.keyboard.press("m")
    menu = page.locator(f"[data-move-menu='{ids['Ann']}']")
    items = menu.locator("[role=menuitem]")
    expect(items.first).to_be_focused()
    held[0].continue_()
    page.wait_for_timeout(1200)
    # The menu kept the focus, and Enter on its last item moves Ann.
    expect(items.first).to_be_focused()
    expect(page.locator("dialog[open], .panel-open")).to_have_count(0)
    page.keyboard.press("End")
    expect(items.last).to_contain_text("Rejected")
    page.keyboard.press("Enter")
    rejected = page.locator(".kanban-col", has=page.locator("h2", has_text="Rejected"))
    expect(rejected.locator(f".board-card[data-id='{ids['Ann']}']")).to_be_focused()
    # Once the menu and the save are done, the waiting refresh shows Bob's new stage.
    offer = page.locator(".kanban-col", has=page.locator("h2", has_text="Offer"))
    expect(offer.locator(f".board-card[data-id='{ids['Bob']}']")).to_be_visible()
    expect(bob).to_have_count(1)
    r = rest.get(f"/catalogs/lead/records/{ids['Ann']}")
    assert r.json()["values"]["stage"]["label"] == "Rejected"
    watch.check()
    page.close()
