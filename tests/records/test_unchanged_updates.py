"""An update that changes nothing writes nothing and is checked no further: a batch of
unchanged records (a re-import of the same file) looks up no link targets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kartoteka.records import batches
from kartoteka.records.changes import Unchanged
from kartoteka.records.linked import load_links
from kartoteka.storage import kept


def test_unchanged_updates_look_up_no_link_targets(api, instance, settings, monkeypatch):
    api.catalog("Клиенты", [{"name": "ИНН", "api_name": "inn", "type": "text"}],
                api_name="clients")  # fmt: skip
    api.catalog("Сделки", [
        {"name": "Номер", "api_name": "number", "type": "text"},
        {"name": "Клиент", "api_name": "client", "type": "link",
         "options": {"catalog": "clients"}},
    ], api_name="deals")  # fmt: skip
    client = api.records("clients", [{"inn": "7701"}])[0]
    deals = api.records("deals", [{"number": f"D-{i}", "client": [client]} for i in range(3)])
    ws = instance.workspace(settings.default_workspace)
    clients_table = ws.meta().catalog("clients").table.name
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    # Reads run on the driver (`storage.kept`; on libpq, `storage.pgraw`) pass SQLAlchemy's
    # events by: note them too.
    run, run_raw = kept.KeptSelect._cursor, kept.KeptSelect._raw_rows

    def kept_seen(self, conn, value):  # type: ignore[no-untyped-def]
        statements.append(self.sql)
        return run(self, conn, value)

    def kept_raw_seen(self, conn, value):  # type: ignore[no-untyped-def]
        rows = run_raw(self, conn, value)
        if rows is not None:
            statements.append(self.sql)
        return rows

    monkeypatch.setattr(kept.KeptSelect, "_cursor", kept_seen)
    monkeypatch.setattr(kept.KeptSelect, "_raw_rows", kept_raw_seen)
    sa.event.listen(ws.engine, "before_cursor_execute", seen)
    try:
        same = [{"id": d, "values": {"number": f"D-{i}", "client": [client]}}
                for i, d in enumerate(deals)]  # fmt: skip
        r = api.post("/catalogs/deals/records/batch", {"update": same})
        assert r.status_code == 200, r.text
        assert (r.json()["updated"], r.json()["unchanged"]) == ([], deals)
        assert not [s for s in statements if clients_table in s], statements
        # The link field is asked for once, not once per update (PostgreSQL planned a
        # field_id IN list of 2,000 repeats as a scan).
        link_reads = [s for s in statements if "FROM links" in s]
        assert link_reads
        assert all(s.count("links.field_id =") == 1 for s in link_reads), link_reads
        statements.clear()
        changed = [{"id": deals[0], "values": {"number": "D-X", "client": [client]}}]
        r = api.post("/catalogs/deals/records/batch", {"update": changed})
        assert (r.status_code, r.json()["updated"]) == (200, [deals[0]]), r.text
        assert [s for s in statements if clients_table in s]  # a change is checked
    finally:
        sa.event.remove(ws.engine, "before_cursor_execute", seen)


def test_the_quick_unchanged_test_says_yes_only_when_every_value_is_equal(api, instance, settings):
    api.catalog("Клиенты", [{"name": "ИНН", "api_name": "inn", "type": "text"}],
                api_name="clients")  # fmt: skip
    api.catalog("Сделки", [
        {"name": "Номер", "api_name": "number", "type": "text"},
        {"name": "Количество", "api_name": "quantity", "type": "number"},
        {"name": "Клиент", "api_name": "client", "type": "link",
         "options": {"catalog": "clients"}},
    ], api_name="deals")  # fmt: skip
    a, b = api.records("clients", [{"inn": "7701"}, {"inn": "7702"}])
    [deal] = api.records("deals", [{"number": "D-1", "client": [a]}])
    ws = instance.workspace(settings.default_workspace)
    catalog = ws.meta().catalog("deals")
    f = catalog.by_api_name
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(catalog.table)).one()
        links = load_links(conn, [f["client"]], [deal])
    same = Unchanged(catalog)
    number, quantity, client = f["number"].id, f["quantity"].id, f["client"].id
    assert same(row, {number: "D-1", quantity: None, client: [a]}, links)
    assert same(row, {client: [a], number: "D-1"}, links)  # any fields, any order
    assert not same(row, {number: "D-2", client: [a]}, links)
    assert not same(row, {number: "D-1", client: [b]}, links)
    assert not same(row, {number: "D-1", client: [a, b]}, links)
    # Equal only as "empty" (None stored, "" given): left to the full comparison.
    assert not same(row, {number: "D-1", quantity: ""}, links)


def test_a_big_batch_locks_only_the_rows_it_changes_on_postgresql(api, instance, settings):
    ws = instance.workspace(settings.default_workspace)
    if ws.dialect != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE) are PostgreSQL's")
    api.catalog("Сделки", [{"name": "Номер", "api_name": "number", "type": "text"}],
                api_name="deals")  # fmt: skip
    count = batches.READ_BEFORE_LOCKING
    deals = api.records("deals", [{"number": f"D-{i}"} for i in range(count)])
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    same = [{"id": d, "values": {"number": f"D-{i}"}} for i, d in enumerate(deals)]
    sa.event.listen(ws.engine, "before_cursor_execute", seen)
    try:
        r = api.post("/catalogs/deals/records/batch", {"update": same})
        assert (r.status_code, r.json()["unchanged"]) == (200, deals), r.text
        assert not [s for s in statements if "FOR UPDATE" in s]
        same[0]["values"]["number"] = "D-X"
        r = api.post("/catalogs/deals/records/batch", {"update": same})
        assert (r.status_code, r.json()["updated"]) == (200, [deals[0]]), r.text
        assert len([s for s in statements if "FOR UPDATE" in s]) == 1
    finally:
        sa.event.remove(ws.engine, "before_cursor_execute", seen)
    assert api.get(f"/catalogs/deals/records/{deals[0]}").json()["values"]["number"] == "D-X"
