"""A catalog's look in the sidebar (options checked by the API as by the designer), the
order of catalogs and fields, and what a deletion would take with it."""

from __future__ import annotations

import pytest

from kartoteka.catalogs import layout
from kartoteka.catalogs.errors import BadFieldSpec
from kartoteka.context import Actor


def test_options_are_checked_and_merged(api):
    r = api.post("/catalogs", {"name": "Deals", "options": {"color": "teal", "icon": "star"}})
    assert r.status_code == 201 and r.json()["options"] == {"color": "teal", "icon": "star"}
    r = api.patch("/catalogs/deals", {"options": {"section": " Sales ", "extra": 1}})
    assert r.json()["options"] == {"color": "teal", "icon": "star", "section": "Sales", "extra": 1}
    r = api.patch("/catalogs/deals", {"options": {"icon": None, "section": ""}})
    assert r.json()["options"] == {"color": "teal", "extra": 1}
    for bad, key in [
        ({"color": "ultraviolet"}, "options.color"),
        ({"icon": "<svg>"}, "options.icon"),
        ({"section": "x" * 61}, "options.section"),
        ({"section": 5}, "options.section"),
        ({"default_view": "7"}, "options.default_view"),
    ]:
        r = api.patch("/catalogs/deals", {"options": bad})
        assert r.status_code == 422 and key in r.json()["fields"], bad
    r = api.post("/catalogs", {"name": "Bad", "options": {"color": "nope"}})
    assert r.status_code == 422 and api.get("/catalogs/bad").status_code == 404
    assert api.get("/catalogs/deals").json()["options"] == {"color": "teal", "extra": 1}


def test_reorder_catalogs_and_fields(api, instance):
    for name in ("A", "B", "C"):
        api.post(
            "/catalogs",
            {
                "name": name,
                "fields": [{"name": "x", "type": "text"}, {"name": "y", "type": "text"}],
            },
        )
    ws = instance.workspace(instance.settings.default_workspace)
    admin = Actor.system(ws)
    layout.reorder_catalogs(admin, ["c", "a"])
    assert [c.api_name for c in ws.meta().catalogs if c.system is None] == ["c", "a", "b"]
    with pytest.raises(BadFieldSpec):
        layout.reorder_catalogs(admin, ["c", "nope"])
    assert [c.api_name for c in ws.meta().catalogs if c.system is None] == ["c", "a", "b"]
    layout.reorder_fields(admin, ws.meta().catalog("a"), ["y"])
    assert [f.api_name for f in ws.meta().catalog("a").fields] == ["y", "x"]
    with pytest.raises(BadFieldSpec):
        layout.reorder_fields(admin, ws.meta().catalog("a"), ["y", 10**9])


def test_deletion_impact_counts_what_goes(api, instance):
    api.post("/catalogs", {"name": "Clients", "fields": [{"name": "Name", "type": "text"}]})
    api.post(
        "/catalogs",
        {
            "name": "Policies",
            "fields": [
                {"name": "No", "type": "text"},
                {
                    "name": "Client",
                    "type": "link",
                    "options": {"catalog": "clients", "multiple": True},
                },
            ],
        },
    )
    a = api.post("/catalogs/clients/records", {"values": {"name": "A"}}).json()["id"]
    b = api.post("/catalogs/clients/records", {"values": {"name": "B"}}).json()["id"]
    api.post("/catalogs/policies/records", {"values": {"no": "1", "client": [a, b]}})
    api.post("/catalogs/policies/records", {"values": {"no": "2"}})
    api.post(
        "/catalogs/policies/views",
        {"name": "By client", "type": "table", "filter": {"client": {"empty": False}}},
    )
    api.post("/catalogs/policies/views", {"name": "Sorted", "type": "table", "sort": "-no"})
    ws = instance.workspace(instance.settings.default_workspace)
    admin = Actor.system(ws)
    clients = ws.meta().catalog("clients")
    assert layout.deletion_impact(admin, clients) == {
        "records": 2,
        "links": 2,
        "views": [],
        "webhooks": 0,
        "link_fields": ["Policies: Client"],
    }
    policies = ws.meta().catalog("policies")
    got = layout.deletion_impact(admin, policies, policies.field("client"))
    assert got["records"] == 1 and got["links"] == 2 and got["views"] == ["By client"]
    got = layout.deletion_impact(admin, policies, policies.field("no"))
    assert got["records"] == 2 and got["links"] == 0 and got["views"] == ["Sorted"]
