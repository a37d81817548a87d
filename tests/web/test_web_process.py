"""A stage-based process in the HTML UI: the kanban's cards say which columns they may not
go to and why (in the reader's language), which stages need fields or approvals, and the
card's stage editor offers only the stages a move can reach."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from support.web import sign_in

PASSWORD = "long-password-1"


def hiring(api: Any) -> dict[str, Any]:
    hr = api.post("/groups", {"name": "HR"}).json()["id"]
    api.catalog(
        "Candidates",
        [
            {"name": "Name", "type": "text"},
            {
                "name": "Stage",
                "type": "select",
                "options": {"choices": ["Applied", "Interview", "Offer", "Hired", "Rejected"]},
            },
            {"name": "Recruiter", "type": "user"},
            {"name": "Salary", "type": "number"},
            {"name": "Approved by", "api_name": "approved_by", "type": "user",
             "options": {"multiple": True}},
        ],
        api_name="candidates",
    )  # fmt: skip
    rights = {str(hr): {"view": True, "create": True, "edit": True}}
    assert api.put("/catalogs/candidates/rights", {"groups": rights}).status_code == 200
    ids = {}
    for email in ("rec@example.com", "other@example.com"):
        body = {"email": email, "name": email[:3], "password": PASSWORD, "groups": [hr]}
        ids[email[:3]] = api.post("/users", body).json()["id"]
    fields = api.get("/catalogs/candidates").json()["fields"]
    stage = next(f for f in fields if f["api_name"] == "stage")
    keys = {c["label"]: str(c["id"]) for c in stage["options"]["choices"]}
    view = api.post(
        "/catalogs/candidates/views",
        {"name": "Board", "type": "kanban", "options": {"group_field": "stage"}},
    ).json()["id"]
    rec = ids["rec"]
    people = api.records(
        "candidates",
        [
            {"name": "Ann", "stage": "Applied", "recruiter": rec},
            {"name": "Bob", "stage": "Interview", "recruiter": rec},
            {"name": "Cid", "stage": "Offer", "recruiter": rec, "salary": 5000,
             "approved_by": [rec]},
        ],
    )  # fmt: skip
    # The process comes after the records: a new record must start at Applied.
    r = api.put(
        "/processes/candidates/stage",
        {
            "initial": ["Applied"],
            "transitions": [
                {"from": "Applied", "to": "Interview", "user_field": "recruiter"},
                {"from": "Interview", "to": "Offer", "user_field": "recruiter"},
                {"from": "Offer", "to": "Hired"},
                {"from": "*", "to": "Rejected", "groups": [hr]},
            ],
            "required": {"Offer": ["salary"]},
            "approvals": {"Hired": {"field": "approved_by", "count": 2, "group": hr}},
        },
    )
    assert r.status_code == 200, r.text
    return {
        "keys": keys,
        "view": view,
        "people": dict(zip(("ann", "bob", "cid"), people, strict=True)),
        **ids,
    }


def board_moves(page: str) -> dict[int, dict[str, Any]]:
    """Each kanban card's process moves (column key -> reason, blocked, need)."""
    found = re.findall(r'data-id="(\d+)" data-moves=\'([^\']*)\'', page)
    return {int(rid): json.loads(html.unescape(moves)) for rid, moves in found}


def stage_options(page: str) -> list[str]:
    """The stage editor's choice ids (the radio buttons of field `stage`)."""
    return re.findall(r'<input type="radio" name="stage" value="(\d+)"', page)


def test_the_board_marks_what_the_process_forbids_in_the_readers_language(api, web):
    w = hiring(api)
    keys, ann, bob, cid = w["keys"], *(w["people"][n] for n in ("ann", "bob", "cid"))
    sign_in(web, "rec@example.com", PASSWORD)
    page = web.get(f"/c/candidates?view={w['view']}&lang=ru").text
    assert 'class="kanban process"' in page
    moves = board_moves(page)
    # Ann (Applied): Interview and Rejected are open; skipping ahead is not.
    assert set(moves[ann]) == {keys["Offer"], keys["Hired"]}
    assert moves[ann][keys["Hired"]] == {
        "reason": "«Hired» не может идти после «Applied». Следующие этапы: Interview, Rejected.",
        "blocked": True,
    }
    # Bob (Interview): an offer needs the salary first — not blocked, the card opens.
    assert moves[bob][keys["Offer"]] == {"reason": "Для «Offer» нужно: Salary.", "need": ["salary"]}
    # Cid (Offer): Hired waits for a second approval, shown on the card.
    assert moves[cid][keys["Hired"]]["reason"] == (
        "Для «Hired» нужно согласований в «Approved by»: 2 (есть 1)."
    )
    assert "blocked" not in moves[cid][keys["Hired"]]
    assert '<span class="approvals small">Для «Hired» нужно согласований' in page
    # The record's card says it too, under the stage.
    card = web.get(f"/c/candidates/r/{cid}").text
    assert '<p class="approvals small">Для «Hired» нужно согласований' in card
    english = board_moves(web.get(f"/c/candidates?view={w['view']}&lang=en").text)
    assert english[bob][keys["Offer"]]["reason"] == "“Offer” needs: Salary."


def test_who_may_move_is_the_records_user_field(api, web):
    w = hiring(api)
    keys, ann = w["keys"], w["people"]["ann"]
    sign_in(web, "other@example.com", PASSWORD)
    moves = board_moves(web.get(f"/c/candidates?view={w['view']}&lang=en").text)
    assert moves[ann][keys["Interview"]] == {
        "reason": "You may not move a record from “Applied” to “Interview”.",
        "blocked": True,
    }
    assert keys["Rejected"] not in moves[ann]  # anyone in HR may reject
    # The card's stage editor offers the same: Ann's stage and Rejected only.
    card = web.get(f"/c/candidates/r/{ann}").text
    assert stage_options(card) == [keys["Applied"], keys["Rejected"]]


def test_the_card_offers_only_reachable_stages_and_marks_the_needed_fields(api, web):
    w = hiring(api)
    keys, bob = w["keys"], w["people"]["bob"]
    sign_in(web, "rec@example.com", PASSWORD)
    card = web.get(f"/c/candidates/r/{bob}?lang=en").text
    assert stage_options(card) == [keys["Interview"], keys["Offer"], keys["Rejected"]]
    # A kanban drop on Offer opens the card with Offer chosen and Salary marked.
    card = web.get(f"/c/candidates/r/{bob}?need=salary,nope&f.stage={keys['Offer']}").text
    assert re.search(r'class="field t-number invalid needed" data-field="salary"', card)
    assert "Fill this in to move the record to the next stage." in card
    assert re.search(rf'name="stage" value="{keys["Offer"]}" checked', card)
    # A new record starts at the process's first stage.
    assert stage_options(web.get("/c/candidates/new").text) == [keys["Applied"]]
    # Without a process the board and card are as before.
    api.delete("/processes/candidates/stage")
    page = web.get(f"/c/candidates?view={w['view']}").text
    assert "data-moves" not in page and 'class="kanban"' in page
    assert len(stage_options(web.get(f"/c/candidates/r/{bob}").text)) == 5


def test_administrators_may_make_any_listed_move_but_no_other(api, web):
    w = hiring(api)
    keys, ann = w["keys"], w["people"]["ann"]
    sign_in(web)
    moves = board_moves(web.get(f"/c/candidates?view={w['view']}&lang=en").text)
    assert set(moves[ann]) == {keys["Offer"], keys["Hired"]}
    assert all(m["blocked"] for m in moves[ann].values())


# ----- the process designer ---------------------------------------------------------------
def designer_form(api: Any) -> tuple[str, dict[str, str]]:
    """A catalog with a plain Stage select (no process yet); the form's URL and groups."""
    hr = api.post("/groups", {"name": "HR"}).json()["id"]
    api.catalog(
        "Candidates",
        [
            {"name": "Name", "type": "text"},
            {"name": "Stage", "type": "select",
             "options": {"choices": ["Applied", "Interview", "Offer"]}},
            {"name": "Recruiter", "type": "user"},
            {"name": "Approved by", "api_name": "approved_by", "type": "user",
             "options": {"multiple": True}},
        ],
        api_name="candidates",
    )  # fmt: skip
    return "/admin/catalogs/candidates/processes/stage", {"hr": str(hr)}


def test_the_designer_declares_a_process_through_the_service(api, web):
    url, ids = designer_form(api)
    csrf = sign_in(web)
    listing = web.get("/admin/catalogs/candidates/processes?lang=en").text
    assert 'href="/admin/catalogs/candidates/processes"' in listing
    assert "Make it a process" in listing and "plain select" in listing
    form = web.get(url + "?lang=ru").text
    assert "Процесс на «Stage»" in form and 'name="t2_to"' in form and 'name="t3_to"' not in form
    r = web.post(
        url,
        data={
            "csrf": csrf,
            "rows": "3",
            "initial": "Applied",
            "t0_from": "Applied",
            "t0_to": "Interview",
            "t0_user_field": "recruiter",
            "t1_from": "*",
            "t1_to": "Offer",
            "t1_groups": [ids["hr"]],
            "t2_from": "Applied",
            "t2_to": "",  # a blank row is dropped
            "req2": ["name"],
            "ap2_field": "approved_by",
            "ap2_count": "2",
            "ap2_group": ids["hr"],
        },
    )
    assert r.status_code == 303 and r.headers["location"] == url + "?saved=1"
    stored = api.get("/processes").json()["items"]
    assert stored == [
        {
            "catalog": "candidates",
            "field": "stage",
            "initial": ["Applied"],
            "transitions": [
                {"from": "Applied", "to": "Interview", "user_field": "recruiter"},
                {"from": "*", "to": "Offer", "groups": [int(ids["hr"])]},
            ],
            "required": {"Offer": ["name"]},
            "approvals": {"Offer": {"field": "approved_by", "count": 2, "group": int(ids["hr"])}},
        }
    ]
    # The saved process comes back in the form, with three blank rows to add moves.
    form = web.get(url + "?saved=1").text
    assert re.search(r'name="t0_from">.*?value="Applied" selected', form, re.S)
    assert 'name="t4_to"' in form and 'name="t5_to"' not in form
    assert "process" in web.get("/admin/catalogs/candidates/processes").text
    # Removing makes it a plain select again.
    r = web.post(url, data={"csrf": csrf, "remove": "1"})
    assert r.status_code == 303 and api.get("/processes").json()["items"] == []


def test_the_designer_shows_the_services_refusal_at_the_row(api, web):
    url, ids = designer_form(api)
    csrf = sign_in(web)
    r = web.post(url, data={"csrf": csrf, "rows": "1", "t0_from": "", "t0_to": "Offer"})
    # A row without its "from" is dropped: no move left, and the page says so.
    assert r.status_code == 422 and 'id="transitions-error"' in r.text
    # A reason about one move is shown at its row.
    r = web.post(url, data={"csrf": csrf, "rows": "1", "t0_from": "Nowhere", "t0_to": "Offer"})
    assert r.status_code == 422
    assert re.search(r'<tr class="invalid">.*?id="t0_from"', r.text, re.S)
    assert re.search(r'<tr class="row-error">.*?Nowhere', r.text, re.S)
    r = web.post(
        url,
        data={"csrf": csrf, "rows": "1", "t0_from": "Applied", "t0_to": "Offer",
              "ap1_field": "approved_by", "ap1_count": "0"},
    )  # fmt: skip
    assert r.status_code == 422
    assert re.search(r'class="field approvals-rule invalid"', r.text)
    assert api.get("/processes").json()["items"] == []
    # Only administrators design processes.
    api.post("/users", {"email": "u@example.com", "name": "U", "password": PASSWORD})
    web.cookies.clear()
    sign_in(web, "u@example.com", PASSWORD)
    assert web.get(url).status_code == 403
