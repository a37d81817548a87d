"""Files removed from a record (docs/decisions/0020): kept while the record's history can put
them back, readable under the record's rights as they are now, collected when nothing can."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from support.files import Api, docs, png_bytes, second_user, stored_files, uploaded

from kartoteka import workers
from kartoteka.files import service as files
from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow


def _row(instance: Any, file_id: int) -> Any:
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(schema.files).where(schema.files.c.id == file_id)).first()


def _age(instance: Any, file_id: int, days: float) -> None:
    """Pretend the file was let go of (and uploaded) `days` ago."""
    ws = instance.workspace(instance.settings.default_workspace)
    t = schema.files
    then = utcnow() - timedelta(days=days)
    with ws.engine.begin() as conn:
        values = {"created_at": then}
        if conn.execute(sa.select(t.c.detached_at).where(t.c.id == file_id)).scalar():
            values["detached_at"] = then
        conn.execute(sa.update(t).where(t.c.id == file_id).values(values))


def _ws(instance: Any) -> Any:
    return instance.workspace(instance.settings.default_workspace)


def test_a_removed_file_stays_the_records_and_history_can_put_it_back(api: Api, instance) -> None:
    docs(api)
    old, new = uploaded(api, png_bytes()), uploaded(api, b"v2", "v2.txt", "text/plain")
    rec = api.record("docs", {"name": "Shared", "attachment": [old["id"]]})
    r = api.patch(f"/catalogs/docs/records/{rec['id']}", {"values": {"attachment": [new["id"]]}})
    assert r.status_code == 200, r.text
    row = _row(instance, old["id"])
    assert row.record_id == rec["id"] and row.detached_at is not None
    assert _row(instance, new["id"]).detached_at is None
    # The history names the old file; writing that old value back restores it.
    history = api.get(f"/catalogs/docs/records/{rec['id']}/history").json()["items"]
    assert any(h["changes"].get("attachment", {}).get("old") == [old["id"]] for h in history)
    r = api.patch(f"/catalogs/docs/records/{rec['id']}", {"values": {"attachment": [old["id"]]}})
    assert r.status_code == 200, r.text
    assert [f["id"] for f in r.json()["values"]["attachment"]] == [old["id"]]
    assert _row(instance, old["id"]).detached_at is None
    assert _row(instance, new["id"]).detached_at is not None
    # Another record may not take a file its record let go of.
    r = api.post("/catalogs/docs/records", {"values": {"name": "B", "attachment": [new["id"]]}})
    assert r.status_code == 422 and "attachment" in r.json()["fields"]


def test_a_removed_file_is_read_under_the_records_rights_as_they_are_now(api: Api, instance):
    docs(api)
    f = uploaded(api, b"minutes", "minutes.txt", "text/plain")
    rec = api.record("docs", {"name": "Shared", "attachment": [f["id"]]})
    api.patch(f"/catalogs/docs/records/{rec['id']}", {"values": {"attachment": []}})
    reader = second_user(api, {"view": {"name": {"eq": "Shared"}}})
    # A reader of the record sees its history, so the file it names too.
    assert reader.client.get(f["url"]).content == b"minutes"
    # Once the record leaves the reader's rule, the file does as well.
    api.patch(f"/catalogs/docs/records/{rec['id']}", {"values": {"name": "Private"}})
    r = reader.client.get(f["url"])
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"
    reader.client.close()


def test_a_deleted_records_files_are_no_longer_their_uploaders(api: Api, instance) -> None:
    docs(api)
    author = second_user(api, {"view": True, "create": True, "edit": True, "delete": True})
    f = uploaded(author, b"draft", "draft.txt", "text/plain")
    rec = author.record("docs", {"name": "Draft", "attachment": [f["id"]]})
    assert author.delete(f"/catalogs/docs/records/{rec['id']}").status_code == 204
    assert _row(instance, f["id"]).detached_at is not None
    assert author.client.get(f["url"]).status_code == 404
    r = author.post(
        "/catalogs/docs/records", {"values": {"name": "Again", "attachment": [f["id"]]}}
    )
    assert r.status_code == 422 and "attachment" in r.json()["fields"]
    assert api.client.get(f["url"]).status_code == 200  # an administrator still can
    author.client.close()


def test_collection_keeps_what_history_can_restore_and_deletes_the_rest(api: Api, instance):
    docs(api)
    api.catalog("Notes", [{"name": "Name", "type": "text"}, {"name": "Scan", "type": "file"}])
    held, removed, of_deleted, never, of_field, of_catalog = (
        uploaded(api, png_bytes((40, 40)), f"{n}.png")
        for n in ("held", "removed", "deleted", "never", "field", "catalog")
    )
    rec = api.record("docs", {"name": "A", "attachment": [held["id"], removed["id"]]})
    api.patch(f"/catalogs/docs/records/{rec['id']}", {"values": {"attachment": [held["id"]]}})
    gone = api.record("docs", {"name": "B", "attachment": [of_deleted["id"]]})
    api.delete(f"/catalogs/docs/records/{gone['id']}")
    api.catalog("Scans", [{"name": "Name", "type": "text"}, {"name": "Page", "type": "file"}])
    api.record("notes", {"name": "N", "scan": [of_field["id"]]})
    api.record("scans", {"name": "S", "page": [of_catalog["id"]]})
    assert api.delete("/catalogs/notes/fields/scan").status_code == 204
    assert api.delete("/catalogs/scans").status_code == 204
    ws = _ws(instance)
    # Within the grace period nothing goes, not even the never attached upload.
    assert files.delete_orphans(ws) == 0
    for f in (held, removed, of_deleted, never, of_field, of_catalog):
        _age(instance, f["id"], 2)
    before = len(stored_files(api))
    assert files.delete_orphans(ws) == 4
    assert len(stored_files(api)) == before - 4
    for f in (of_deleted, never, of_field, of_catalog):
        assert _row(instance, f["id"]) is None
    # Held, and removed from a living record whose history names it: both kept.
    assert api.client.get(held["url"]).status_code == 200
    assert api.client.get(removed["url"]).status_code == 200


def test_the_workers_maintenance_collects_files(api: Api, instance) -> None:
    docs(api)
    f = uploaded(api, b"x", "x.txt", "text/plain")
    rec = api.record("docs", {"name": "A", "attachment": [f["id"]]})
    api.delete(f"/catalogs/docs/records/{rec['id']}")
    workers.maintain(instance, [instance.settings.default_workspace])
    assert _row(instance, f["id"]) is not None  # a day's grace
    _age(instance, f["id"], 2)
    workers.maintain(instance, [instance.settings.default_workspace])
    assert _row(instance, f["id"]) is None
