"""Imports as 1C and spreadsheets make them: cp1251 `;` files with dd.mm.yyyy dates and
decimal commas, links by INN (created when missing), several sheets, TSV, multi-value
links, the error file, quiet imports, and the search index catching up."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

import pytest
from support.imports import count, csv_bytes, records, run_import, upload, workbook
from support.webhooks import deliveries, work

from kartoteka.importer import readers
from kartoteka.scenarios import triggers
from kartoteka.webhooks import outbox


def clients_and_deals(api) -> None:
    api.catalog(
        "Клиенты",
        [
            {"name": "Наименование", "api_name": "name", "type": "text"},
            {"name": "ИНН", "api_name": "inn", "type": "text", "unique": True},
        ],
        api_name="clients",
    )
    api.catalog(
        "Сделки",
        [
            {"name": "Номер", "api_name": "number", "type": "text", "unique": True},
            {"name": "Клиент", "api_name": "client", "type": "link",
             "options": {"catalog": "clients", "multiple": True}},
            {"name": "Сумма", "api_name": "amount", "type": "money"},
            {"name": "Дата", "api_name": "day", "type": "date"},
            {"name": "Создана", "api_name": "made", "type": "datetime"},
            {"name": "Стадия", "api_name": "stage", "type": "select",
             "options": {"choices": [{"label": "Новая"}, {"label": "Оплачена"}]}},
        ],
        api_name="deals",
    )  # fmt: skip


CLIENTS_1C = [
    ["Наименование", "ИНН"],
    ["ООО «Ромашка»", "7701000001"],
    ["ИП Ёлкин", "7701000002"],
]
DEALS_1C = [
    ["Номер", "Клиент", "Сумма", "Дата", "Создана", "Стадия"],
    ["СД-1", "7701000001", "1 234,50", "05.03.2024", "05.03.2024 10:30", "Новая"],
    ["СД-2", "7701000002", "99,90", "31.12.2023", "31.12.2023 23:59:59", "Оплачена"],
    ["СД-3", "7701000003", "10", "01.02.2024", "01.02.2024", "Новая"],  # unknown INN
    ["СД-4", "7701000001", "12,5", "31.02.2024", "", "Новая"],  # no such day
    ["СД-5", "7701000001", "сто", "01.01.2024", "", "Новая"],  # not a number
]
OPTIONS_1C = {
    "mode": "upsert",
    "key": ["number"],
    "link_keys": {"client": "inn"},
    "date_format": "дд.мм.гггг",
    "decimal_comma": True,
}


def test_a_1c_export_in_cp1251_with_dates_commas_and_links_by_inn(api):
    clients_and_deals(api)
    job = run_import(api, "clients", csv_bytes(CLIENTS_1C, ";", "cp1251"),
                     {"mode": "upsert", "key": ["inn"]})  # fmt: skip
    assert (job["status"], job["created"]) == ("done", 2), job
    job = run_import(api, "deals", csv_bytes(DEALS_1C, ";", "cp1251"), OPTIONS_1C)
    assert (job["status"], job["created"], job["errors"]) == ("done", 2, 3), job
    by_line = {e["line"]: e for e in job["error_sample"]}
    assert "7701000003" in by_line[4]["message"] and by_line[4]["column"] == "Клиент"
    assert by_line[5]["column"] == "Дата" and "дд.мм.гггг" in by_line[5]["message"]
    assert by_line[6]["column"] == "Сумма" and by_line[6]["value"] == "сто"
    deals = {r["values"]["number"]: r["values"] for r in records(api, "deals")}
    assert deals["СД-1"]["amount"] == "1234.50" and deals["СД-1"]["day"] == "2024-03-05"
    assert deals["СД-1"]["made"].startswith("2024-03-05T10:30:00")
    assert deals["СД-2"]["made"].startswith("2023-12-31T23:59:59")
    assert [c["id"] for c in deals["СД-1"]["client"]] == [records(api, "clients")[0]["id"]]
    # The same file again changes nothing: every written row is unchanged.
    again = run_import(api, "deals", csv_bytes(DEALS_1C, ";", "cp1251"), OPTIONS_1C)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2), again


def test_the_error_file_has_each_refused_row_and_why(api):
    clients_and_deals(api)
    run_import(api, "clients", csv_bytes(CLIENTS_1C, ";", "cp1251"), {"mode": "create"})
    job = run_import(api, "deals", csv_bytes(DEALS_1C, ";", "cp1251"), OPTIONS_1C)
    assert job["error_rows"] == 3
    r = api.get(f"/imports/{job['id']}/errors")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "errors" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [*DEALS_1C[0], "line", "column", "error"]
    assert [row[:6] for row in rows[1:]] == [DEALS_1C[3], DEALS_1C[4], DEALS_1C[5]]
    assert [row[6] for row in rows[1:]] == ["4", "5", "6"]
    assert "7701000003" in rows[1][8] and "сто" not in rows[1][8]
    assert api.get("/imports/999999/errors").status_code == 404


def test_missing_linked_records_are_created_by_their_key(api):
    clients_and_deals(api)
    options = {**OPTIONS_1C, "create_missing": ["client"]}
    job = run_import(api, "deals", csv_bytes(DEALS_1C[:4], ";", "cp1251"), options)
    assert (job["status"], job["created"], job["errors"]) == ("done", 3, 0), job
    inns = sorted(r["values"]["inn"] for r in records(api, "clients"))
    assert inns == ["7701000001", "7701000002", "7701000003"]  # each created once
    bad = upload(api, "deals", b"x", {"create_missing": ["client"]})
    assert bad.status_code == 422 and "options.create_missing" in bad.json()["fields"]


def test_multi_value_links_from_a_delimited_cell(api):
    clients_and_deals(api)
    run_import(api, "clients", csv_bytes(CLIENTS_1C), {})
    rows = [["Номер", "Клиент"], ["M-1", "7701000001 | 7701000002"], ["M-2", "7701000002"]]
    options = {"link_keys": {"client": "inn"}, "list_separator": "|"}
    job = run_import(api, "deals", csv_bytes(rows), options)
    assert (job["status"], job["created"]) == ("done", 2), job
    ids = [r["id"] for r in records(api, "clients")]
    got = {r["values"]["number"]: [c["id"] for c in r["values"]["client"]]
           for r in records(api, "deals")}  # fmt: skip
    assert got == {"M-1": ids, "M-2": ids[1:]}


def test_a_sheet_of_a_workbook_is_chosen_by_name_or_number(api):
    clients_and_deals(api)
    book = workbook(
        {
            "Инструкция": [["Заполните лист «Клиенты»"]],
            "Клиенты": [["Наименование", "ИНН"], ["Альфа", 7701000001], ["Бета", "7701000002"]],
            "Прочее": [["ИНН"], ["7709999999"]],
        }
    )
    job = run_import(api, "clients", book, {"sheet": "клиенты"}, filename="c.xlsx")
    assert (job["status"], job["created"]) == ("done", 2), job
    job = run_import(api, "clients", book, {"sheet": 3, "mode": "upsert", "key": ["inn"]},
                     filename="c.xlsx")  # fmt: skip
    assert (job["status"], job["created"]) == ("done", 1), job
    assert sorted(r["values"]["inn"] for r in records(api, "clients")) == [
        "7701000001", "7701000002", "7709999999",
    ]  # fmt: skip
    missing = upload(api, "clients", book, {"sheet": "Сделки"}, filename="c.xlsx")
    assert missing.status_code == 422
    assert "Инструкция, Клиенты, Прочее" in missing.json()["fields"]["file"]
    too_far = upload(api, "clients", book, {"sheet": 4}, filename="c.xlsx")
    assert too_far.status_code == 422 and "3 sheets" in too_far.json()["fields"]["file"]
    on_csv = upload(api, "clients", csv_bytes(CLIENTS_1C), {"sheet": 1})
    assert on_csv.status_code == 422 and "XLSX" in on_csv.json()["fields"]["file"]


def test_a_tsv_file_is_tab_separated(api):
    clients_and_deals(api)
    # A comma in a cell: the sniffer might take commas; the .tsv name says tabs.
    content = "Наименование\tИНН\nРога, копыта и Ко\t7701000001\n".encode()
    job = run_import(api, "clients", content, {}, filename="clients.tsv")
    assert (job["status"], job["created"]) == ("done", 1), job
    assert records(api, "clients")[0]["values"]["name"] == "Рога, копыта и Ко"


@pytest.mark.parametrize(
    ("pattern", "strptime"),
    [
        ("dd.mm.yyyy", "%d.%m.%Y"),
        ("ДД.ММ.ГГГГ", "%d.%m.%Y"),
        ("гггг-мм-дд чч:мм:сс", "%Y-%m-%d %H:%M:%S"),
        ("dd/mm/yy hh:mm", "%d/%m/%y %H:%M"),
        ("%d.%m.%Y", "%d.%m.%Y"),
    ],
)
def test_date_patterns_as_users_type_them(pattern, strptime):
    assert readers.pattern_format(pattern) == strptime


def test_date_cells_parse_like_strptime():
    fmt = readers.pattern_format("дд.мм.гггг")
    assert readers.parse_date_text(" 5.3.2024 ", fmt, False) == "2024-03-05"
    assert readers.parse_date_text("05.03.2024 7:05", fmt, True) == "2024-03-05T07:05:00"
    assert readers.parse_date_text("05.03.24", readers.pattern_format("dd.mm.yy"), False) == (
        "2024-03-05"
    )
    assert readers.parse_date_text("05.03.70", "%d.%m.%y", False) == "1970-03-05"
    assert readers.parse_date_text("Mar 05 2024", "%b %d %Y", False) == "2024-03-05"
    for bad in ("2024-03-05", "29.02.2023", "05.03.2024 24:00", "05.03.2024x"):
        with pytest.raises(ValueError):
            readers.parse_date_text(bad, fmt, True)


def test_bad_new_options_are_named(api):
    clients_and_deals(api)
    for options, name in (
        ({"date_format": "qq"}, "date_format"),
        ({"date_format": "mm.yyyy"}, "date_format"),
        ({"sheet": 0}, "sheet"),
        ({"sheet": True}, "sheet"),
        ({"list_separator": "      "}, "list_separator"),
        ({"skip_webhooks": "yes"}, "skip_webhooks"),
    ):
        r = upload(api, "clients", csv_bytes(CLIENTS_1C), options)
        assert r.status_code == 422, (options, r.text)
        assert f"options.{name}" in r.json()["fields"], r.json()


def test_a_quiet_import_sends_one_import_completed_instead_of_each_row(api, instance, receiver):
    clients_and_deals(api)
    r = api.post("/webhooks", {"url": receiver.url("/n"), "catalog": "clients",
                               "events": ["record.created", "import.completed"]})  # fmt: skip
    assert r.status_code == 201, r.text
    hook_id = r.json()["id"]
    loud = run_import(api, "clients", csv_bytes(CLIENTS_1C[:2]), {})
    quiet = run_import(api, "clients", csv_bytes([CLIENTS_1C[0], CLIENTS_1C[2]]),
                       {"skip_webhooks": True, "skip_scenarios": True})  # fmt: skip
    assert loud["created"] == quiet["created"] == 1
    while work(instance):
        pass
    sent = sorted((json.loads(r["body"]) for r in receiver.at("/n")), key=lambda b: b["sequence"])
    assert [b["type"] for b in sent] == [
        "record.created", "import.completed", "import.completed",
    ], sent  # fmt: skip
    assert sent[-1]["import"]["job"] == quiet["id"] and sent[-1]["import"]["created"] == 1
    assert sent[0]["values"]["inn"] == "7701000001"
    assert len(deliveries(instance, hook_id)) == 3


def test_quiet_rows_start_no_scenario_and_send_no_webhook():
    marks = {"job": 1, "webhooks": False, "scenarios": False}
    quiet = SimpleNamespace(
        type="record.created", catalog_id=1, seq=5, start_seq=0, payload={"import": marks}
    )
    loud_marks = {"job": 1, "webhooks": True, "scenarios": True}
    loud = SimpleNamespace(**{**vars(quiet), "payload": {"import": loud_marks}})
    scenario = SimpleNamespace(catalog_id=1, start_seq=0)
    trigger = {"type": "record.created"}
    assert not triggers._wants(scenario, trigger, quiet)
    assert triggers._wants(scenario, trigger, loud)
    hook = SimpleNamespace(catalog_id=1, events=["record.created"], start_seq=0, fields=None)
    assert not outbox._wants(hook, quiet)
    assert outbox._wants(hook, loud)


def test_imported_records_are_found_by_search(api, instance):
    clients_and_deals(api)
    api.record("clients", {"name": "Первый", "inn": "7700000000"})
    assert api.get("/catalogs/clients/records", params={"search": "первый"}).json()["items"]
    job = run_import(api, "clients", csv_bytes(CLIENTS_1C), {})
    assert job["created"] == 2
    found = api.get("/catalogs/clients/records", params={"search": "ромашка"}).json()["items"]
    assert [r["values"]["inn"] for r in found] == ["7701000001"]
    assert count(api, "clients") == 3


def test_row_errors_come_in_the_readers_language_with_their_codes(api):
    """The wizard shows the job's errors: a Russian reader reads them in Russian."""
    clients_and_deals(api)
    run_import(api, "clients", csv_bytes(CLIENTS_1C, ";", "cp1251"), {"mode": "create"})
    job = run_import(api, "deals", csv_bytes(DEALS_1C, ";", "cp1251"), OPTIONS_1C)
    english = {e["line"]: e for e in job["error_sample"]}
    russian_job = api.get(f"/imports/{job['id']}", headers={"Accept-Language": "ru"}).json()
    russian = {e["line"]: e for e in russian_job["error_sample"]}
    amount = russian[6]
    assert amount["column"] == "Сумма" and amount["code"] and amount["code"] != "invalid"
    assert amount["message"] != english[6]["message"]
    assert any("а" <= ch <= "я" for ch in amount["message"].lower()), amount
    assert english[6]["message"].isascii()  # English without an Accept-Language
