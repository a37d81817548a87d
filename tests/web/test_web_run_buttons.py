"""Manual scenarios as run buttons on the record card, for those allowed to run them, and
the run status their starter may follow (`GET /scenarios/{id}/runs/{run}/status`)."""

from __future__ import annotations

import re

from support.scenarios import scenario, work
from support.web import sign_in

PASSWORD = "long-password-1"


def world(api) -> dict:
    api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Note", "type": "text"},
        ],
    )
    api.catalog("Other", [{"name": "Name", "type": "text"}])
    deal = api.record("deals", {"name": "D"})["id"]
    step = {"type": "update_record", "values": {"note": "pressed by {{ trigger.user.id }}"}}
    button = scenario(
        api,
        {
            "name": "Send invoice",
            "trigger": {"type": "manual", "catalog": "deals"},
            "steps": [step],
        },
    )
    scenario(
        api,
        {
            "name": "Switched off",
            "active": False,
            "trigger": {"type": "manual", "catalog": "deals"},
            "steps": [step],
        },
    )
    scenario(
        api,
        {"name": "Elsewhere", "trigger": {"type": "manual", "catalog": "other"}, "steps": [step]},
    )
    scenario(
        api,
        {
            "name": "On update",
            "trigger": {"type": "record.updated", "catalog": "deals"},
            "steps": [step],
        },
    )
    editors = api.post("/groups", {"name": "editors"}).json()["id"]
    readers = api.post("/groups", {"name": "readers"}).json()["id"]
    rights = {str(editors): {"view": True, "edit": True}, str(readers): {"view": True}}
    api.put("/catalogs/deals/rights", {"groups": rights})
    for email, group in (("ed@example.com", editors), ("re@example.com", readers)):
        body = {"email": email, "name": email[:2], "password": PASSWORD, "groups": [group]}
        assert api.post("/users", body).status_code == 201
    return {"deal": deal, "button": button["id"]}


def buttons(html: str) -> list[str]:
    return re.findall(r'data-run-scenario="\d+" data-name="([^"]*)"', html)


def test_the_card_offers_the_catalogs_active_manual_scenarios_to_editors(api, web, instance):
    w = world(api)
    sign_in(web)
    card = web.get(f"/c/deals/r/{w['deal']}?lang=ru").text
    assert buttons(card) == ["Send invoice"]
    assert 'aria-label="Запустить сценарий"' in card
    assert buttons(web.get(f"/c/deals/r/{w['deal']}?panel=1").text) == ["Send invoice"]
    web.cookies.clear()
    sign_in(web, "ed@example.com", PASSWORD)
    assert buttons(web.get(f"/c/deals/r/{w['deal']}").text) == ["Send invoice"]
    web.cookies.clear()
    sign_in(web, "re@example.com", PASSWORD)
    card = web.get(f"/c/deals/r/{w['deal']}").text
    assert buttons(card) == [] and "data-run-buttons" not in card


def test_the_starter_follows_their_run_and_nobody_else_does(api, client, instance):
    w = world(api)
    ed = client.post(
        "/api/v1/auth/login", json={"email": "ed@example.com", "password": PASSWORD}
    ).json()["token"]
    re_ = client.post(
        "/api/v1/auth/login", json={"email": "re@example.com", "password": PASSWORD}
    ).json()["token"]
    client.cookies.clear()
    as_ed = {"Authorization": f"Bearer {ed}"}
    as_reader = {"Authorization": f"Bearer {re_}"}
    url = f"/api/v1/scenarios/{w['button']}"
    r = client.post(f"{url}/run", json={"record_id": w["deal"]}, headers=as_ed)
    assert r.status_code == 202, r.text
    run = r.json()["id"]
    status = client.get(f"{url}/runs/{run}/status", headers=as_ed)
    assert status.status_code == 200 and status.json()["status"] == "queued"
    work(instance)
    status = client.get(f"{url}/runs/{run}/status", headers=as_ed).json()
    assert status["status"] == "done" and status["error"] is None and status["finished_at"]
    # Another user (and another scenario's path) learn nothing about it.
    r = client.get(f"{url}/runs/{run}/status", headers=as_reader)
    assert (r.status_code, r.json()["error"]) == (404, "NOT_FOUND")
    r = client.get(f"/api/v1/scenarios/{w['button'] + 1}/runs/{run}/status", headers=as_ed)
    assert r.status_code == 404
    assert api.get(f"/scenarios/{w['button']}/runs/{run}/status").json()["status"] == "done"
