"""The rights designer and "see as" (HTTP): rules, field rules, shares, the preview."""

from __future__ import annotations

import re
from typing import Any

import orjson
from support.web import sign_in

REGION_RULE = {"region": {"eq": "$user.region"}}


def _insurer(api: Any) -> dict[str, Any]:
    """Clients in three regions, a regional group, and Anna (North) in it."""
    api.catalog(
        "Clients",
        [
            {"name": "Name", "type": "text"},
            {
                "name": "Region",
                "type": "select",
                "options": {"choices": [{"label": "North"}, {"label": "South"}]},
            },
            {"name": "Phone", "type": "phone"},
            {"name": "Sum insured", "type": "money"},
        ],
    )
    rows = [
        {
            "name": f"Client {n:02d}",
            "region": "North" if n % 3 else "South",
            "phone": f"+7 912 555-{n:04d}",
            "sum_insured": 1000 * n,
        }
        for n in range(1, 13)
    ]
    ids = api.records("clients", rows)
    group = api.post("/groups", {"name": "Regional"}).json()["id"]
    anna = api.post(
        "/users",
        {
            "email": "anna@example.com",
            "name": "Anna",
            "password": "anna-password-1",
            "groups": [group],
            "profile": {"region": "North"},
        },
    ).json()
    return {"group": group, "anna": anna, "ids": ids}


def _designer_form(csrf: str, group: int, **overrides: str) -> dict[str, str]:
    p = f"groups.{group}"
    form = {
        "csrf": csrf,
        f"{p}.view.mode": "rule",
        f"{p}.view.rule": orjson.dumps(REGION_RULE).decode(),
        f"{p}.edit.mode": "none",
        f"{p}.delete.mode": "none",
        f"{p}.create": "1",
        f"{p}.fields.sum_insured": "hidden",
        f"{p}.fields.phone": "masked",
    }
    form.update(overrides)
    return form


def _table(html: str) -> list[list[str]]:
    """Rows of the see-as table as cell texts (id first)."""
    body = html.split("data-see-as>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr data-id=\"\d+\">(.*?)</tr>", body, re.S)
    return [[c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def test_region_rule_with_hidden_and_masked_fields_and_see_as(api, web, client):
    world = _insurer(api)
    csrf = sign_in(web)
    page = web.get("/admin/rights/clients")
    assert page.status_code == 200 and "Regional" in page.text and 'id="rule-config"' in page.text
    r = web.post("/admin/rights/clients", data=_designer_form(csrf, world["group"]))
    assert r.status_code == 303, r.text
    saved = api.get("/catalogs/clients/rights").json()["groups"][str(world["group"])]
    assert saved["view"] == REGION_RULE and saved["create"] is True and saved["edit"] is False
    assert saved["fields"] == {"sum_insured": "hidden", "phone": "masked"}
    # The designer shows the saved rule back.
    again = web.get("/admin/rights/clients").text
    assert "$user.region" in again and 'value="masked" selected' in again

    seen = web.get("/admin/rights/clients/see-as", params={"user": world["anna"]["id"]})
    assert seen.status_code == 200
    table = _table(seen.text)
    assert "Sum insured" not in seen.text.split("data-see-as>")[1].split("</thead>")[0]
    assert "hidden from them: Sum insured" in seen.text
    # Anna's own read through the API: the same records, the same values.
    login = {"email": "anna@example.com", "password": "anna-password-1"}
    token = client.post("/api/v1/auth/login", json=login).json()["token"]
    own = client.get(
        "/api/v1/catalogs/clients/records", headers={"Authorization": f"Bearer {token}"}
    ).json()["items"]
    assert [int(row[0]) for row in table] == [r["id"] for r in own]
    assert len(own) == 8 and all(r["values"]["region"]["label"] == "North" for r in own)
    assert all("sum_insured" not in r["values"] for r in own)
    assert [row[3] for row in table] == [r["values"]["phone"] for r in own]
    assert all("***" in row[3] for row in table)
    assert "8 records visible" in seen.text
    [entry] = api.get("/security/log", params={"event": "see_as"}).json()["items"]
    assert entry["detail"] == {"target_user": world["anna"]["id"], "catalog": "clients"}


def test_see_as_follows_shares_views_and_search(api, web):
    world = _insurer(api)
    csrf = sign_in(web)
    web.post("/admin/rights/clients", data=_designer_form(csrf, world["group"]))
    south = world["ids"][2]  # Client 03 is in the South
    shared = web.post(
        "/admin/rights/clients/shares",
        data={"csrf": csrf, "record": str(south), "user": str(world["anna"]["id"])},
    )
    assert shared.status_code == 303
    seen = web.get("/admin/rights/clients/see-as", params={"user": world["anna"]["id"]})
    assert str(south) in [row[0] for row in _table(seen.text)]
    found = web.get(
        "/admin/rights/clients/see-as",
        params={"user": world["anna"]["id"], "search": "Client 03"},
    )
    assert [row[0] for row in _table(found.text)] == [str(south)]
    page = web.get("/admin/rights/clients")
    assert f"#{south}" in page.text
    gone = web.post(
        "/admin/rights/clients/unshare",
        data={"csrf": csrf, "record": str(south), "user": str(world["anna"]["id"])},
    )
    assert gone.status_code == 303
    seen = web.get("/admin/rights/clients/see-as", params={"user": world["anna"]["id"]})
    assert str(south) not in [row[0] for row in _table(seen.text)]
    bad = web.post("/admin/rights/clients/shares", data={"csrf": csrf, "record": "x", "user": "1"})
    assert bad.status_code == 422 and 'id="err-share-record"' in bad.text


def test_see_as_a_user_without_access_or_deactivated(api, web):
    world = _insurer(api)
    other = api.post(
        "/users", {"email": "b@example.com", "name": "Boris", "password": "boris-password-1"}
    ).json()
    sign_in(web)
    none = web.get("/admin/rights/clients/see-as", params={"user": other["id"]})
    assert none.status_code == 200 and "has no access to this catalog" in none.text
    api.patch(f"/users/{world['anna']['id']}", {"active": False})
    off = web.get("/admin/rights/clients/see-as", params={"user": world["anna"]["id"]})
    assert off.status_code == 200 and "is deactivated and sees nothing" in off.text
    assert web.get("/admin/rights/clients/see-as", params={"user": "99999"}).status_code == 404


def test_bad_rules_are_refused_next_to_their_input_and_nothing_is_saved(api, web):
    world = _insurer(api)
    gid = world["group"]
    csrf = sign_in(web)
    r = web.post(
        "/admin/rights/clients",
        data=_designer_form(csrf, gid, **{f"groups.{gid}.view.rule": "{not json"}),
    )
    assert r.status_code == 422
    assert f'id="err-groups-{gid}-view"' in r.text and "not valid JSON" in r.text
    assert "{not json" in r.text  # the text is kept to fix
    unknown = orjson.dumps({"nope": {"eq": 1}}).decode()
    r = web.post(
        "/admin/rights/clients",
        data=_designer_form(csrf, gid, **{f"groups.{gid}.view.rule": unknown}),
    )
    assert r.status_code == 422 and f'id="err-groups-{gid}-view"' in r.text
    name_rule = orjson.dumps({"name": {"eq": "$user.name"}}).decode()
    r = web.post(
        "/admin/rights/clients",
        data=_designer_form(csrf, gid, **{f"groups.{gid}.view.rule": name_rule}),
    )
    assert r.status_code == 422 and f'id="err-groups-{gid}-view"' in r.text
    r = web.post(
        "/admin/rights/clients",
        data=_designer_form(csrf, gid, **{f"groups.{gid}.view.mode": "view"}),
    )
    assert r.status_code == 422 and "Choose a saved view" in r.text
    assert api.get("/catalogs/clients/rights").json()["groups"] == {}


def test_saved_view_as_rule_and_taking_rights_away(api, web):
    world = _insurer(api)
    gid = world["group"]
    view = api.post(
        "/catalogs/clients/views",
        {"name": "Northern", "type": "table", "filter": {"region": {"eq": "North"}}},
    )
    assert view.status_code == 201, view.text
    csrf = sign_in(web)
    form = _designer_form(
        csrf,
        gid,
        **{f"groups.{gid}.view.mode": "view", f"groups.{gid}.view.view": str(view.json()["id"])},
    )
    assert web.post("/admin/rights/clients", data=form).status_code == 303
    saved = api.get("/catalogs/clients/rights").json()["groups"][str(gid)]
    assert saved["view"] == {"$view": view.json()["id"]}
    nothing = {
        "csrf": csrf,
        f"groups.{gid}.view.mode": "none",
        f"groups.{gid}.edit.mode": "none",
        f"groups.{gid}.delete.mode": "none",
    }
    assert web.post("/admin/rights/clients", data=nothing).status_code == 303
    assert api.get("/catalogs/clients/rights").json()["groups"] == {}


def test_rights_pages_are_for_administrators_only(api, web):
    world = _insurer(api)
    sign_in(web, "anna@example.com", "anna-password-1")
    for url in ("/admin/rights", "/admin/rights/clients", "/admin/rights/clients/see-as"):
        assert web.get(url).status_code == 403, url
    assert web.get(f"/admin/rights/clients/see-as?user={world['anna']['id']}").status_code == 403
