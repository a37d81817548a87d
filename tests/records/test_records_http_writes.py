"""Record writes over HTTP: typed errors in the body, versions, ETag and If-Match."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic import command
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from kartoteka import messages
from kartoteka.storage.engine import alembic_config, upgrade_workspace


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


def _counter(api) -> int:
    api.catalog("Counters", [{"name": "N", "type": "number"}])
    return api.record("counters", {"n": 0})["id"]


def test_versions_etag_and_if_match(api):
    rid = _counter(api)
    url = f"/catalogs/counters/records/{rid}"
    r = api.get(url)
    assert r.json()["version"] == 1 and r.headers["ETag"] == '"1"'
    r = api.patch(url, {"values": {"n": 1}}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.headers["ETag"] == '"2"'
    # A stale version: 412 with the record as it is now, and nothing written.
    r = api.patch(url, {"values": {"n": 5}}, headers={"If-Match": '"1"'})
    body = r.json()
    assert r.status_code == 412 and body["error"] == "PRECONDITION_FAILED"
    assert body["current"]["version"] == 2 and body["current"]["values"]["n"] == 1
    assert r.headers["ETag"] == '"2"'
    r = api.patch(url, {"values": {"n": 5}, "version": 1})
    assert r.status_code == 412
    r = api.patch(url, {"values": {"n": 1}}, headers={"If-Match": "nonsense"})
    assert r.status_code == 422 and r.json()["fields"] == {"If-Match": messages.EN["version"]}
    # Without If-Match the last write wins; a write changing nothing keeps the version.
    assert api.patch(url, {"values": {"n": 1}}).json()["version"] == 2
    assert api.patch(url, {"values": {"n": 2}}, headers={"If-Match": "*"}).json()["version"] == 3
    history = api.get(f"{url}/history").json()["items"]
    assert [h["action"] for h in history] == ["create", "update", "update"]
    # Batch items carry versions too; a stale one names its item.
    r = api.post(
        "/catalogs/counters/records/batch",
        {"update": [{"id": rid, "values": {"n": 9}, "version": 2}]},
    )
    assert r.status_code == 412 and (r.json()["where"], r.json()["index"]) == ("update", 0)
    r = api.post("/catalogs/counters/records/batch", {"delete": [{"id": rid, "version": 2}]})
    assert r.status_code == 412
    assert api.delete(url, headers={"If-Match": '"2"'}).status_code == 412
    assert api.delete(url, headers={"If-Match": '"3"'}).status_code == 204


def test_concurrent_read_modify_write_loses_nothing_with_if_match(api):
    rid = _counter(api)
    url = f"/catalogs/counters/records/{rid}"
    clients, increments = 20, 5

    def client() -> int:
        conflicts = 0
        for _ in range(increments):
            while True:
                r = api.get(url)
                n = r.json()["values"]["n"]
                w = api.patch(
                    url, {"values": {"n": n + 1}}, headers={"If-Match": r.headers["ETag"]}
                )
                if w.status_code == 200:
                    break
                assert w.status_code == 412, w.text
                conflicts += 1
        return conflicts

    with ThreadPoolExecutor(clients) as pool:
        conflicts = sum(pool.map(lambda _: client(), range(clients)))
    record = api.get(url).json()
    assert record["values"]["n"] == clients * increments
    assert record["version"] == 1 + clients * increments
    assert conflicts >= 0  # how many retries it took depends on the scheduling


def test_older_catalog_tables_get_a_version_column(api, instance):
    api.catalog("Old", [{"name": "Name", "type": "text"}])
    [rid] = api.records("old", [{"name": "a"}])
    ws = instance.workspace(instance.settings.default_workspace)
    table = ws.meta().catalog("old").table.name
    with ws.engine.begin() as conn:
        with Operations(MigrationContext.configure(conn)).batch_alter_table(table) as batch:
            batch.drop_column("version")
        config = alembic_config(conn)
        before = ScriptDirectory.from_config(config).get_revision("0012").down_revision
        command.stamp(config, before)
    upgrade_workspace(ws.engine)
    with ws.engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT id, version FROM {table}").all() == [(rid, 1)]
    assert api.get(f"/catalogs/old/records/{rid}").json()["version"] == 1
