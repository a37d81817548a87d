"""The garbage collector is spaced out while an import runs and put back after it."""

from __future__ import annotations

import gc
import threading

from support.imports import csv_bytes, run_import

from kartoteka.importer import collector, runner


def test_an_import_runs_with_spaced_out_collection_and_restores_it(api, monkeypatch):
    api.catalog("Сделки", [{"name": "Номер", "api_name": "number", "type": "text"}],
                api_name="deals")  # fmt: skip
    seen = []
    convert = runner.Runner._convert

    def spy(self, chunk):
        seen.append(gc.get_threshold())
        return convert(self, chunk)

    monkeypatch.setattr(runner.Runner, "_convert", spy)
    before = gc.get_threshold()
    job = run_import(api, "deals", csv_bytes([["Номер"], ["A"], ["B"]]), {})
    assert (job["status"], job["created"]) == ("done", 2), job
    assert seen == [collector.IMPORT_THRESHOLDS]
    assert gc.get_threshold() == before


def test_imports_side_by_side_share_the_spacing_until_the_last_ends():
    before = gc.get_threshold()
    first_in, second_out = threading.Event(), threading.Event()
    during: list[tuple[int, int, int]] = []

    def first() -> None:
        with collector.spaced_out():
            first_in.set()
            second_out.wait(5)
            during.append(gc.get_threshold())

    t = threading.Thread(target=first)
    t.start()
    first_in.wait(5)
    with collector.spaced_out():
        assert gc.get_threshold() == collector.IMPORT_THRESHOLDS
    second_out.set()
    t.join(5)
    assert during == [collector.IMPORT_THRESHOLDS]
    assert gc.get_threshold() == before


def test_collection_switched_off_stays_off(monkeypatch):
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with collector.spaced_out():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)
