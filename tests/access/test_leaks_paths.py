"""Side paths of masked and hidden fields: structured values, related records, pickers."""

from __future__ import annotations

from typing import Any

PASSWORD = "long-password-1"


def world(api) -> dict[str, Any]:
    api.catalog("Clients", [{"name": "Name", "type": "text"}])
    api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Stage", "type": "select", "options": {"choices": ["Won", "Lost"]}},
            {"name": "Client", "type": "link", "options": {"catalog": "clients"}},
            {"name": "Owner", "type": "link", "options": {"catalog": "clients"}},
        ],
    )
    (client,) = api.records("clients", [{"name": "Acme Corporation"}])
    (deal,) = api.records(
        "deals", [{"name": "D1", "stage": "Won", "client": client, "owner": client}]
    )
    group = api.post("/groups", {"name": "g"}).json()["id"]
    rights = {str(group): {"view": True, "fields": {"stage": "masked", "client": "masked"}}}
    assert api.put("/catalogs/deals/rights", {"groups": rights}).status_code == 200
    rights = {str(group): {"view": True}}
    assert api.put("/catalogs/clients/rights", {"groups": rights}).status_code == 200
    api.post(
        "/users", {"email": "u@x.example", "name": "U", "password": PASSWORD, "groups": [group]}
    )
    token = api.client.post(
        api.url("/auth/login"), json={"email": "u@x.example", "password": PASSWORD}
    ).json()["token"]
    api.client.cookies.clear()
    return {"client": client, "deal": deal, "h": {"Authorization": f"Bearer {token}"}, "g": group}


def test_masked_structured_values_show_no_label_id_or_title(api):
    w = world(api)
    got = api.get(f"/catalogs/deals/records/{w['deal']}", headers=w["h"]).json()["values"]
    assert got["stage"] == "***" and got["client"] == "*" * 14 + "on", got
    assert got["owner"] == [{"id": w["client"], "title": "Acme Corporation"}]
    api.patch(f"/catalogs/deals/records/{w['deal']}", {"values": {"stage": "Lost"}})
    (entry,) = [
        e
        for e in api.get(f"/catalogs/deals/records/{w['deal']}/history", headers=w["h"]).json()[
            "items"
        ]
        if e["action"] == "update"
    ]
    assert entry["changes"]["stage"] == {"old": "***", "new": "****"}, entry


def test_related_records_and_pickers_respect_the_link_fields_rule(api):
    w = world(api)
    r = api.get(f"/catalogs/clients/records/{w['client']}/related", headers=w["h"])
    assert [g["field"]["api_name"] for g in r.json()["items"]] == ["owner"], r.text
    rights = {str(w["g"]): {"view": True, "fields": {"client": "hidden"}}}
    assert api.put("/catalogs/deals/rights", {"groups": rights}).status_code == 200
    r = api.get("/catalogs/deals/fields/client/choices", headers=w["h"])
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND", r.text
    assert api.get("/catalogs/deals/fields/owner/choices", headers=w["h"]).status_code == 200


def test_csv_cells_starting_a_formula_become_text():
    from kartoteka.exporter.service import csv_safe

    for text in ["=1+1", "+1", "-1+2", "@A1", "\tx", "\rx", "-", "=-12"]:
        assert csv_safe(text) == "'" + text
    for text in ["", "a=b", "-12.50", "12", "-7", "ok"]:
        assert csv_safe(text) == text


def test_the_web_card_shows_masked_values_and_history_masked(api, app):
    from fastapi.testclient import TestClient

    w = world(api)
    api.patch(f"/catalogs/deals/records/{w['deal']}", {"values": {"stage": "Lost", "client": []}})
    rights_view = api.post(
        "/catalogs/deals/views",
        {"name": "Rule", "filter": {"name": {"eq": "D1"}}, "options": {"rights_view": True}},
    ).json()["id"]
    with TestClient(app, follow_redirects=False) as web:
        r = web.post("/login", data={"email": "u@x.example", "password": PASSWORD, "next": "/"})
        assert r.status_code == 303, r.text
        card = web.get(f"/c/deals/r/{w['deal']}")
        # A rights view is someone's access rule: not the reader's to open.
        assert web.get(f"/c/deals?view={rights_view}").status_code == 404
        assert web.get("/c/deals").status_code == 200
    assert card.status_code == 200
    assert "Acme Corporation" in card.text  # the owner link is not masked
    start = card.text.index('id="history"')
    history = card.text[start : card.text.index("</section>", start)]
    assert "Won" not in history and "Lost" not in history, history
    assert history.count("Acme") == 1  # the owner's title; the masked client shows a mask
    assert "<del>***</del> → <ins>****</ins>" in history
    assert "****" in card.text[:start] and "Lost" not in card.text[:start]  # the masked stage
