"""The record card offers editing only to those who may edit the record."""

from __future__ import annotations

from support.web import sign_in


def test_edit_is_offered_only_where_allowed(api, web):  # noqa: F811
    api.catalog("Things", [{"name": "Name", "type": "text"}])
    [mine, other] = api.records("things", [{"name": "mine"}, {"name": "other"}])
    group = api.post("/groups", {"name": "readers"}).json()["id"]
    api.post(
        "/users",
        {"email": "r@example.com", "name": "R", "password": "password-r-123", "groups": [group]},
    )
    rights = {"view": True, "edit": {"name": {"eq": "mine"}}}
    assert api.put("/catalogs/things/rights", {"groups": {str(group): rights}}).status_code == 200
    sign_in(web, "r@example.com", "password-r-123")
    assert "/edit" in web.get(f"/c/things/r/{mine}").text
    card = web.get(f"/c/things/r/{other}")
    assert card.status_code == 200 and f"/r/{other}/edit" not in card.text
    assert web.get(f"/c/things/r/{other}/edit").status_code == 403
    assert web.get(f"/c/things/r/{mine}/edit").status_code == 200


def test_system_catalog_records_are_not_editable_in_the_ui(api, web):  # noqa: F811
    r = api.post(
        "/webhooks",
        {"url": "http://127.0.0.1:9/h", "catalog": "webhooks", "kind": "notify"},
    )
    assert r.status_code == 201, r.text
    sign_in(web)
    card = web.get(f"/c/webhooks/r/{r.json()['id']}")
    assert card.status_code == 200 and "/edit" not in card.text
    assert web.get(f"/c/webhooks/r/{r.json()['id']}/edit").status_code == 403
