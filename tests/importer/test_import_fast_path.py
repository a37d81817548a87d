"""The batch write path's shortcuts change nothing a user can see: history and events of
an imported record equal an API write's, and a column that stops being remembered
(too many distinct texts) still converts every cell."""

from __future__ import annotations

import sqlalchemy as sa
from support.imports import csv_bytes, records, run_import

from kartoteka.importer import columns, runner
from kartoteka.storage import schema

FIELDS = [
    {"name": "Номер", "api_name": "number", "type": "text", "unique": True},
    {"name": "Сумма", "api_name": "amount", "type": "money"},
    {"name": "Дата", "api_name": "day", "type": "date"},
    {"name": "Создана", "api_name": "made", "type": "datetime"},
    {"name": "Оплачена", "api_name": "paid", "type": "checkbox"},
    {"name": "Стадия", "api_name": "stage", "type": "select",
     "options": {"choices": [{"label": "Новая"}, {"label": "Оплачена"}]}},
    {"name": "Клиент", "api_name": "client", "type": "link", "options": {"catalog": "clients"}},
]  # fmt: skip


def _catalogs(api) -> int:
    api.catalog("Клиенты", [{"name": "ИНН", "api_name": "inn", "type": "text", "unique": True}],
                api_name="clients")  # fmt: skip
    api.catalog("Сделки", FIELDS, api_name="deals")
    return api.records("clients", [{"inn": "7701"}])[0]


def _history(api, record_id: int) -> dict:
    entries = api.get(f"/catalogs/deals/records/{record_id}/history").json()
    entries = entries.get("items", entries) if isinstance(entries, dict) else entries
    return entries[0]["changes"]


def test_imported_history_and_events_equal_an_api_writes(api, instance, settings):
    client = _catalogs(api)
    made = api.record("deals", {"number": "API-1", "amount": "12.50", "day": "2024-03-05",
                                "made": "2024-03-05T10:30:00Z", "paid": True,
                                "stage": "Оплачена", "client": [client]})  # fmt: skip
    rows = [
        ["Номер", "Сумма", "Дата", "Создана", "Оплачена", "Стадия", "Клиент"],
        ["IMP-1", "12.50", "2024-03-05", "2024-03-05T10:30:00Z", "да", "Оплачена", "7701"],
    ]
    job = run_import(api, "deals", csv_bytes(rows), {"link_keys": {"client": "inn"}})
    assert (job["status"], job["created"]) == ("done", 1), job
    imported = next(r for r in records(api, "deals") if r["values"]["number"] == "IMP-1")
    by_api, by_import = _history(api, made["id"]), _history(api, imported["id"])
    assert by_api.pop("number") == {"old": None, "new": "API-1"}
    assert by_import.pop("number") == {"old": None, "new": "IMP-1"}
    assert by_import == by_api
    ev = schema.events
    with instance.workspace(settings.default_workspace).engine.connect() as conn:
        payloads = {
            r.record_id: r.payload
            for r in conn.execute(sa.select(ev.c.record_id, ev.c.payload).where(
                ev.c.type == "record.created", ev.c.record_id.in_([made["id"], imported["id"]]),
            ))
        }  # fmt: skip
    api_values = dict(payloads[made["id"]]["values"], number=None)
    import_values = dict(payloads[imported["id"]]["values"], number=None)
    assert import_values == api_values


def test_a_column_that_stops_being_remembered_still_converts_every_cell(api, monkeypatch):
    monkeypatch.setattr(columns, "MEMO_LIMIT", 3)
    _catalogs(api)
    stages = ["Новая", "Оплачена"]
    rows = [["Номер", "Дата", "Стадия"]] + [
        [f"N-{i}", f"2024-01-{i + 1:02d}", stages[i % 2]] for i in range(25)
    ]
    job = run_import(api, "deals", csv_bytes(rows), {})
    assert (job["status"], job["created"], job["errors"]) == ("done", 25, 0), job
    got = {r["values"]["number"]: r["values"] for r in records(api, "deals")}
    for i in range(25):
        values = got[f"N-{i}"]
        assert values["day"] == f"2024-01-{i + 1:02d}"
        assert values["stage"]["label"] == stages[i % 2]


def test_a_key_repeated_in_the_file_is_refused_with_its_first_line(api, monkeypatch):
    """Keys are remembered across chunks (a one-field key as its bare value, several
    fields as a tuple): the second row with a key is refused, naming the first's line."""
    monkeypatch.setattr(runner, "CHUNK_ROWS", 2)
    _catalogs(api)
    rows = [["Номер", "Сумма", "Дата"], ["A", "1", "2024-01-01"], ["B", "2", "2024-01-01"],
            ["C", "3", "2024-01-02"], ["A", "4", "2024-01-02"], ["Ёж-1", "5", "2024-01-03"],
            ["Еж-1", "6", "2024-01-03"], ["Ёж-1", "7", "2024-01-03"]]  # fmt: skip
    job = run_import(api, "deals", csv_bytes(rows), {"mode": "upsert", "key": ["number"]})
    assert (job["created"], job["errors"]) == (5, 2), job
    assert "line 2" in job["error_sample"][0]["message"], job["error_sample"]
    assert "line 6" in job["error_sample"][1]["message"], job["error_sample"]
    assert {r["values"]["number"]: r["values"]["amount"] for r in records(api, "deals")} == {
        "A": "1.00", "B": "2.00", "C": "3.00", "Ёж-1": "5.00", "Еж-1": "6.00"
    }  # fmt: skip
    again = [rows[0], ["X1", "5", "2024-01-01"], ["X2", "5", "2024-01-02"],
             ["X3", "5", "2024-01-01"]]  # fmt: skip
    job = run_import(api, "deals", csv_bytes(again), {"mode": "upsert", "key": ["amount", "day"]})
    assert (job["created"], job["errors"]) == (2, 1), job
    assert "line 2" in job["error_sample"][0]["message"], job["error_sample"]
