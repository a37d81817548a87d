"""Record writes over HTTP: typed errors in the body, versions, ETag and If-Match."""

from __future__ import annotations

from kartoteka import messages


def test_errors_carry_typed_errors_without_single_call_prefixes(api):
    api.catalog("Things", [{"name": "Name", "type": "text", "unique": True}])
    [a] = api.records("things", [{"name": "a"}])
    r = api.post(
        "/catalogs/things/records/batch",
        {"create": [{"values": {"name": "b"}}, {"values": {"name": "a"}}]},
    )
    body = r.json()
    assert r.status_code == 422 and body["message"] == "create[1]: name: value 'a' already exists"
    assert body["errors"] == [
        {
            "where": "create",
            "index": 1,
            "field": "name",
            "code": "unique_exists",
            "params": {"value": "a"},
            "message": "value 'a' already exists",
        }
    ]
    r = api.post("/catalogs/things/records", {"values": {"name": "a"}})
    assert r.status_code == 422 and r.json()["message"] == "name: value 'a' already exists"
    r = api.post("/catalogs/things/records/batch", {"upsert": {"key": ["nope"], "items": []}})
    assert r.status_code == 422 and r.json()["fields"] == {"upsert.key": messages.EN["upsert_key"]}
