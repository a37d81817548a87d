"""The live feed after a merge: the event names the records merged away, so open grids
drop their rows — but only those the reader could see (no ids leak through it)."""

from __future__ import annotations

from kartoteka.auth import service as auth
from kartoteka.context import Actor
from kartoteka.webhooks import live

PASSWORD = "long-password-1"


def test_merge_event_names_the_records_merged_away_that_the_reader_could_see(api, instance):
    api.catalog(
        "Clients",
        [{"name": "Name", "api_name": "name", "type": "text"},
         {"name": "Region", "api_name": "region", "type": "text"}],
    )  # fmt: skip
    north = api.post("/groups", {"name": "north"}).json()["id"]
    r = api.put(
        "/catalogs/clients/rights", {"groups": {str(north): {"view": {"region": {"eq": "N"}}}}}
    )
    assert r.status_code == 200, r.text
    r = api.post(
        "/users", {"email": "n@example.com", "name": "N", "password": PASSWORD, "groups": [north]}
    )
    uid = r.json()["id"]
    keep = api.record("clients", {"name": "Keep", "region": "N"})
    seen = api.record("clients", {"name": "Seen", "region": "N"})
    hidden = api.record("clients", {"name": "Hidden", "region": "S"})
    ws = instance.workspace(instance.settings.default_workspace)
    before = live.current_seq(ws)
    r = api.post(
        "/catalogs/clients/duplicates/merge",
        {"into": keep["id"], "records": [seen["id"], hidden["id"]]},
    )
    assert r.status_code == 200, r.text

    admin_events, _ = live.visible_events(Actor.system(ws), before)
    merged = [e for e in admin_events if e["type"] == "record.merged"]
    assert [e["merged"] for e in merged] == [[seen["id"], hidden["id"]]]

    reader = auth.actor_for_user(ws, uid)
    reader_events, _ = live.visible_events(reader, before)
    merged = [e for e in reader_events if e["type"] == "record.merged"]
    assert [e["merged"] for e in merged] == [[seen["id"]]]  # `hidden` was never theirs to see
