"""Reading ahead (`importer.ahead`): a second process reads and converts the file while the
importer writes. The result must be exactly what the importer's own reading gives — the
same records, the same errors by line and column, the same error file — also when the
child stops half-way, when the file turns bad half-way, and when the importer dies."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from conftest_support import ADMIN_EMAIL
from support.imports import count, csv_bytes, records, run_import, workbook

from kartoteka.auth import service as auth
from kartoteka.importer import ahead, runner, service
from kartoteka.importer.plan import plan_import
from kartoteka.importer.readers import open_source
from kartoteka.users import service as users

HEADER = ["Номер", "Клиент", "Сумма", "Дата", "Создана", "Стадия", "Телефон"]
OPTIONS = {
    "mode": "upsert",
    "key": ["number"],
    "link_keys": {"client": "inn"},
    "date_format": "дд.мм.гггг",
    "decimal_comma": True,
    "delimiter": ";",
}


def catalogs(api, *names: str) -> None:
    """Clients by INN, and deal catalogs of the same shape under `names`."""
    api.catalog(
        "Клиенты",
        [
            {"name": "Наименование", "api_name": "name", "type": "text"},
            {"name": "ИНН", "api_name": "inn", "type": "text", "unique": True},
        ],
        api_name="clients",
    )
    for name in names:
        api.catalog(
            name,
            [
                {"name": "Номер", "api_name": "number", "type": "text", "unique": True},
                {"name": "Клиент", "api_name": "client", "type": "link",
                 "options": {"catalog": "clients"}},
                {"name": "Сумма", "api_name": "amount", "type": "money", "required": True},
                {"name": "Дата", "api_name": "day", "type": "date"},
                {"name": "Создана", "api_name": "made", "type": "datetime"},
                {"name": "Стадия", "api_name": "stage", "type": "select",
                 "options": {"choices": [{"label": "Новая"}, {"label": "Оплачена"}]}},
                {"name": "Телефон", "api_name": "phone", "type": "phone"},
            ],
            api_name=name,
        )  # fmt: skip
    clients = [["Наименование", "ИНН"]] + [[f"Клиент {i}", f"77{i:08d}"] for i in range(20)]
    job = run_import(api, "clients", csv_bytes(clients, ";"), {"mode": "upsert", "key": ["inn"]})
    assert job["created"] == 20, job


def deals(rows: int) -> list[list[str]]:
    """Deals with a bad cell every so often: an unknown INN, a day that does not exist,
    an amount that is not one, an empty required amount, a stage nobody has."""
    out = [HEADER]
    for i in range(rows):
        row = [
            f"СД-{i}", f"77{i % 20:08d}", f"{i} {i % 1000:03d},{i % 100:02d}",
            f"{1 + i % 28:02d}.{1 + i % 12:02d}.2024", f"{1 + i % 28:02d}.03.2024 10:{i % 60:02d}",
            ("Новая", "Оплачена")[i % 2], f"+7 912 {i % 1000:03d}-{i % 100:02d}-{i % 97:02d}",
        ]  # fmt: skip
        bad = i % 37
        if bad == 5:
            row[1] = "7799999999"
        elif bad == 11:
            row[3] = "31.02.2024"
        elif bad == 17:
            row[2] = "сто"
        elif bad == 23:
            row[2] = ""
        elif bad == 29:
            row[5] = "Закрыта"
        out.append(row)
    return out


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 50 rows and reading ahead for any file size and load: a test file of a few
    hundred rows goes through many chunks and the child."""
    monkeypatch.setattr(ahead, "_spare_cores", lambda: 1.0)
    monkeypatch.setattr(runner, "CHUNK_ROWS", 50)
    monkeypatch.setattr(service, "CHUNK_ROWS", 50)
    monkeypatch.setattr(ahead, "FROM_BYTES", 0)


@pytest.fixture
def children(monkeypatch) -> list[Any]:
    """Every ReadAhead started (its process can be looked at or killed)."""
    started: list[Any] = []
    real = ahead.ReadAhead.__init__

    def init(self, *args: Any) -> None:
        real(self, *args)
        started.append(self)

    monkeypatch.setattr(ahead.ReadAhead, "__init__", init)
    return started


def _admin(instance: Any) -> Any:
    ws = instance.workspace(instance.settings.default_workspace)
    return auth.actor_for_user(ws, users.find_user_id(ws, ADMIN_EMAIL), via="session")


def _reading_here(monkeypatch) -> None:
    monkeypatch.setattr(ahead, "FROM_BYTES", 1 << 60)


def _values(api, catalog: str) -> list[dict[str, Any]]:
    return [r["values"] for r in records(api, catalog)]


def _errors(api, job: dict[str, Any]) -> tuple[list[Any], bytes]:
    r = api.get(f"/imports/{job['id']}/errors")
    assert r.status_code == 200, r.text
    sample = [(e["line"], e["column"], e["value"], e["message"]) for e in job["error_sample"]]
    return sample, r.content


def test_reading_ahead_gives_what_reading_here_gives(api, small_chunks, children, monkeypatch):
    catalogs(api, "here", "ahead")
    children.clear()  # the clients' import
    content = csv_bytes(deals(400), ";", "cp1251")
    _reading_here(monkeypatch)
    here = run_import(api, "here", content, OPTIONS)
    assert children == []
    monkeypatch.setattr(ahead, "FROM_BYTES", 0)
    there = run_import(api, "ahead", content, OPTIONS)
    assert len(children) == 1 and children[0].process.returncode == 0
    keys = ("status", "total", "processed", "created", "updated", "errors")
    assert {k: there[k] for k in keys} == {k: here[k] for k in keys}
    bad = sum(1 for i in range(400) if i % 37 in (5, 11, 17, 23, 29))
    assert here["errors"] == bad and here["created"] == 400 - bad, here
    assert _errors(api, there) == _errors(api, here)
    assert _values(api, "ahead") == _values(api, "here")
    again = run_import(api, "ahead", content, OPTIONS)  # everything unchanged
    assert (again["unchanged"], again["errors"]) == (there["created"], there["errors"])


def test_a_child_that_dies_half_way_leaves_no_row_twice_and_none_lost(
    api, small_chunks, children, monkeypatch, caplog
):
    """The child is killed after the first chunks; the importer reads on from the line
    after the last chunk it has."""
    catalogs(api, "deals")
    children.clear()  # the clients' import
    # 3,000 rows in chunks of 100: the pipe holds a few chunks, not the rest of the file.
    monkeypatch.setattr(runner, "CHUNK_ROWS", 100)
    monkeypatch.setattr(service, "CHUNK_ROWS", 100)
    content = csv_bytes([r for r in deals(3000) if r[1] != "7799999999"], ";")
    real = runner.Runner._commit

    def commit(self, rows, last_line):
        real(self, rows, last_line)
        if self.ahead is not None and self.ahead.process.poll() is None and last_line > 500:
            self.ahead.process.send_signal(signal.SIGKILL)
            self.ahead.process.wait()

    monkeypatch.setattr(runner.Runner, "_commit", commit)
    # Mode create: a row read twice would be refused as a second "СД-n" (the number is
    # unique), a row lost would be missing from the count.
    options = {**OPTIONS, "mode": "create", "key": []}
    with caplog.at_level(logging.WARNING, "kartoteka.importer.ahead"):
        job = run_import(api, "deals", content, options)
    assert children and children[0].process.returncode == -signal.SIGKILL
    assert "reading on here from line" in caplog.text
    total = sum(1 for i in range(3000) if i % 37 != 5)  # the unknown INNs left out
    bad = sum(1 for i in range(3000) if i % 37 in (11, 17, 23, 29))
    assert (job["status"], job["total"], job["errors"]) == ("done", total, bad), job
    assert job["created"] == count(api, "deals") == job["total"] - bad


def test_a_file_that_turns_bad_half_way_fails_as_it_does_when_read_here(
    api, small_chunks, children, monkeypatch
):
    """Bytes that are not UTF-8 at line 1503: the job fails with the file's own message,
    read ahead or not."""
    catalogs(api, "here", "ahead")
    children.clear()  # the clients' import
    good = csv_bytes(deals(1500), ";")  # past the 64 KB sample the encoding is told from
    content = good + "СД-x;7700000001;1,00;01.01.2024;;Новая;\n".encode() + b"\xff\xfe;1\n"
    _reading_here(monkeypatch)
    here = run_import(api, "here", content, OPTIONS)
    monkeypatch.setattr(ahead, "FROM_BYTES", 0)
    there = run_import(api, "ahead", content, OPTIONS)
    assert children, "the child was not started"
    assert here["status"] == there["status"] == "failed", here
    assert there["message"] == here["message"] and "line" in here["message"], here
    assert count(api, "ahead") == count(api, "here") == 0  # found when counting the rows


def test_the_child_ends_by_itself_when_the_importer_is_gone(api, instance, tmp_path: Path):
    """kill -9 of the importer closes its end of the pipe: the child's next send fails
    and it exits (no orphan reading a million rows for nobody)."""
    catalogs(api, "deals")
    path = tmp_path / "deals.csv"
    path.write_bytes(csv_bytes(deals(3000), ";"))
    actor = _admin(instance)
    plan = plan_import(actor, "deals", path, OPTIONS)
    task = ahead.Task(
        open_source(path),
        [ahead._portable(c) for c in plan.columns],
        plan.options,
        ahead.CellReader(actor.timezone),
        0,
        50,
        10**6,
    )
    child = ahead.ReadAhead(task, plan.columns)
    assert child.count(lambda: -1) == 3000
    assert child.conn is not None
    child.conn.close()  # what the importer's death does to its end
    child.conn = None
    assert child.process.wait(timeout=30) == 0


def test_imports_not_worth_a_process_read_here(api, instance, tmp_path: Path, monkeypatch):
    api.catalog(
        "Задачи",
        [
            {"name": "Название", "api_name": "title", "type": "text"},
            {"name": "Исполнитель", "api_name": "owner", "type": "user"},
        ],
        api_name="tasks",
    )
    path = tmp_path / "tasks.csv"
    path.write_bytes(csv_bytes([["Название", "Исполнитель"], ["Позвонить", ""]]))
    actor = _admin(instance)
    by_user = plan_import(actor, "tasks", path, {"mode": "create"})
    only_title = plan_import(actor, "tasks", path, {"mapping": {"Название": "title"}})
    monkeypatch.setattr(ahead, "_spare_cores", lambda: 1.0)  # a quiet machine
    assert not ahead.wanted(actor, only_title)  # a small file
    monkeypatch.setattr(ahead, "FROM_BYTES", 0)
    assert ahead.wanted(actor, only_title)
    assert not ahead.wanted(actor, by_user)  # a user column looks users up
    monkeypatch.setattr(ahead, "_spare_cores", lambda: 0.5)
    assert not ahead.wanted(actor, only_title)  # no core to spare
    monkeypatch.setattr(ahead, "_spare_cores", lambda: 1.0)
    monkeypatch.setattr(actor.workspace.settings, "import_read_ahead", False)
    assert not ahead.wanted(actor, only_title)


def test_a_workbook_read_ahead_gives_what_reading_here_gives(
    api, small_chunks, children, monkeypatch
):
    """XLSX cells come typed (dates, numbers) and are sent as the text they read as."""
    catalogs(api, "here", "ahead")
    children.clear()
    rows = deals(200)
    sheet = [rows[0]] + [[r[0], r[1], r[2], r[3], r[4], r[5], r[6]] for r in rows[1:]]
    content = workbook({"Пусто": [["x"]], "Сделки": sheet}, active=1)
    options = {k: v for k, v in OPTIONS.items() if k != "delimiter"}
    _reading_here(monkeypatch)
    monkeypatch.setattr(ahead, "FROM_XLSX_BYTES", 1 << 60)
    here = run_import(api, "here", content, options, "deals.xlsx")
    assert children == []
    monkeypatch.setattr(ahead, "FROM_XLSX_BYTES", 0)
    there = run_import(api, "ahead", content, options, "deals.xlsx")
    assert len(children) == 1 and children[0].process.returncode == 0
    assert (there["created"], there["errors"]) == (here["created"], here["errors"]) != (0, 0)
    assert _errors(api, there) == _errors(api, here)
    assert _values(api, "ahead") == _values(api, "here")


def test_dates_and_moments_travel_as_text_and_come_back_equal():
    """Pickle rebuilds each date through its class; ISO text is copied, then read back."""
    from datetime import UTC, date, datetime, timedelta, timezone

    moments = [datetime(2024, 3, 5, 10, 30, 0, 123), None, datetime(1, 1, 1), datetime.max]
    days = [date(2024, 2, 29), None, date.min, date.max]
    for column in (moments, days):
        packed = ahead._pack(column)
        assert type(packed) is tuple and packed[0] == "iso"
        back = ahead._unpack(packed)
        assert back == column and [type(v) for v in back] == [type(v) for v in column]
    aware = [
        datetime(2024, 3, 5, tzinfo=UTC),
        datetime(2024, 3, 5, tzinfo=timezone(timedelta(hours=3))),
    ]
    mixed = [date(2024, 1, 1), datetime(2024, 1, 1)]
    for column in (aware, mixed, [1, 2], ["a", None]):
        assert ahead._pack(column) is column


def test_a_chunk_travels_as_one_text_unless_a_cell_holds_a_separator():
    chunk = [(2, ["СД-1", "", "a;b"]), (3, ["x"]), (5, ["", "", "y"])]
    packed = ahead._pack_rows(chunk)
    assert isinstance(packed, tuple) and ahead._unpack_rows(packed) == chunk
    for odd in ("a\x1fb", "a\x1eb"):
        spoiled = [*chunk, (6, ["z", odd])]
        assert ahead._pack_rows(spoiled) is spoiled
        assert ahead._unpack_rows(ahead._pack_rows(spoiled)) == spoiled


def test_the_idle_cores_are_read_off_the_machine():
    spare = ahead._spare_cores()
    assert 0.0 <= spare <= (os.cpu_count() or 1) + 0.01


def test_rows_sharing_a_memos_list_get_their_own_copies():
    keys = ["7701"]
    column = ahead._unpack([keys, keys, None])
    assert column == [["7701"], ["7701"], None]
    assert column[0] is not column[1] and column[0] is not keys
