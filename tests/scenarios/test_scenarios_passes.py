"""A worker pass moves its runs together: one records batch for many runs' writes."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from support.scenarios import deals_and_clients, fixed_clock, runs, scenario, work, workspace

from kartoteka.context import Actor
from kartoteka.records import service as records_service
from kartoteka.scenarios import claiming, conditions, engine, passes, records_port, triggers
from kartoteka.storage import schema

__all__ = ["fixed_clock"]


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(catalog, items) of every `records.batch` the scenarios make (still writing)."""
    seen: list[tuple[str, int]] = []
    real = records_service.batch

    def spy(actor: Any, catalog: Any, request: Any) -> Any:
        seen.append((str(catalog), request.size))
        return real(actor, catalog, request)

    monkeypatch.setattr(records_port.records, "batch", spy)
    return seen


def on_new_deal(api: Any, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return scenario(
        api,
        {
            "name": "New deal",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": steps,
        },
    )


def scenario_events(instance: Any, catalog: str) -> list[tuple[int, dict[str, Any]]]:
    """(record id, scenario marker) of the scenario-made update events of a catalog."""
    e = schema.events
    with workspace(instance).engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.c.record_id, e.c.payload)
            .where(e.c.type == "record.updated")
            .order_by(e.c.seq)
        ).all()
    return [
        (r.record_id, r.payload["scenario"])
        for r in rows
        if r.payload.get("catalog", {}).get("api_name") == catalog and "scenario" in r.payload
    ]


def test_runs_of_a_pass_write_in_one_batch_each_with_its_own_run_key(
    api, instance, fixed_clock, batches
):
    deals_and_clients(api)
    sc = on_new_deal(api, [{"type": "update_record", "values": {"note": "seen {{ record.name }}"}}])
    deals = [api.record("deals", {"name": f"D{i}", "amount": i}) for i in range(5)]
    assert work(instance) == 5
    notes = {
        r["id"]: r["values"]["note"] for r in api.get("/catalogs/deals/records").json()["items"]
    }
    assert notes == {d["id"]: f"seen {d['values']['name']}" for d in deals}
    assert [size for catalog, size in batches] == [5]  # not five batches of one
    by_record = {r["record"]["id"]: r["id"] for r in runs(api, sc["id"])}
    marks = scenario_events(instance, "deals")
    assert sorted(record for record, _ in marks) == sorted(d["id"] for d in deals)
    for record_id, marker in marks:
        # The event says which run and step wrote it: a worker taking a run over finds it.
        assert (marker["id"], marker["run"], marker["step"]) == (sc["id"], by_record[record_id], 1)


def test_a_refused_write_fails_only_its_own_run(api, instance, fixed_clock, batches):
    deals_and_clients(api)
    sc = on_new_deal(
        api,
        [
            {"type": "update_record", "values": {"amount": "{{ record.name }}"}},
            {"type": "update_record", "values": {"note": "after"}},
        ],
    )
    good = [api.record("deals", {"name": str(10 + i)}) for i in range(3)]
    bad = api.record("deals", {"name": "not a number"})
    assert work(instance) == 4
    status = {r["record"]["id"]: (r["status"], r["error"]) for r in runs(api, sc["id"])}
    assert all(status[d["id"]] == ("done", None) for d in good)
    assert status[bad["id"]][0] == "failed" and "update_record" in status[bad["id"]][1]
    values = {r["id"]: r["values"] for r in api.get("/catalogs/deals/records").json()["items"]}
    assert [values[d["id"]]["amount"] for d in good] == [10, 11, 12]
    assert values[bad["id"]].get("note") is None
    # The batch of four was refused whole, then written one by one; the second step of
    # the three good runs went as one batch again.
    assert [size for _, size in batches] == [4, 1, 1, 1, 1, 3]


def test_runs_changing_one_record_in_one_pass_each_write_it(api, instance, fixed_clock, batches):
    deals_and_clients(api)
    client = api.record("clients", {"name": "Acme"})
    sc = on_new_deal(
        api,
        [
            {
                "type": "update_record",
                "catalog": "clients",
                "record": str(client["id"]),
                "values": {"total": "{{ record.amount }}"},
            }
        ],
    )
    for amount in (5, 7, 9):
        api.record("deals", {"name": f"D{amount}", "amount": amount})
    assert work(instance) == 3
    assert {r["status"] for r in runs(api, sc["id"])} == {"done"}
    # A batch names a record once, so the three writes went one after the other.
    assert [size for _, size in batches] == [1, 1, 1]
    marks = scenario_events(instance, "clients")
    assert len(marks) == 3 and len({m["run"] for _, m in marks}) == 3
    got = api.get(f"/catalogs/clients/records/{client['id']}").json()["values"]["total"]
    assert got in (5, 7, 9)


def test_get_records_reads_many_as_get_record_shows_each(api, instance):
    deals_and_clients(api)
    deals = [api.record("deals", {"name": f"D{i}", "amount": i, "stage": "Won"}) for i in range(3)]
    actor = Actor.system(workspace(instance))
    ids = [d["id"] for d in deals]
    got = records_service.get_records(actor, "deals", [*ids, 10**9])
    assert got == {i: records_service.get_record(actor, "deals", i) for i in ids}
    assert records_service.get_records(actor, "deals", []) == {}


def test_a_condition_is_checked_for_all_runs_of_a_pass_in_one_query(
    api, instance, fixed_clock, monkeypatch
):
    deals_and_clients(api)
    calls = {"each": 0, "all": 0}
    each, together = conditions.record_matches, conditions.matching_ids

    def one(*args: Any) -> bool:
        calls["each"] += 1
        return each(*args)

    def many(*args: Any) -> set[int]:
        calls["all"] += 1
        return together(*args)

    monkeypatch.setattr(conditions, "record_matches", one)
    monkeypatch.setattr(conditions, "matching_ids", many)
    on_new_deal(
        api,
        [
            {
                "type": "condition",
                "filter": {"amount": {"gt": 10}},
                "then": [{"type": "update_record", "values": {"note": "big"}}],
                "else": [{"type": "update_record", "values": {"note": "small"}}],
            }
        ],
    )
    amounts = [5, 50, 8, 80, 11]
    deals = [api.record("deals", {"name": f"D{a}", "amount": a}) for a in amounts]
    assert work(instance) == 5
    items = api.get("/catalogs/deals/records").json()["items"]
    notes = {r["id"]: r["values"]["note"] for r in items}
    assert [notes[d["id"]] for d in deals] == ["small", "big", "small", "big", "big"]
    assert calls == {"each": 0, "all": 1}


def test_a_run_taken_over_mid_pass_keeps_the_new_owners_progress(
    api, instance, fixed_clock, monkeypatch
):
    deals_and_clients(api)
    sc = on_new_deal(api, [{"type": "update_record", "values": {"note": "seen"}}])
    deals = [api.record("deals", {"name": f"D{i}"}) for i in range(3)]
    ws = workspace(instance)
    triggers.consume_events(ws, fixed_clock.now())
    claimed = [run_id for run_id, _ in claiming.claim_runs(ws, "w1", fixed_clock.now())]
    r = schema.scenario_runs
    real = records_port.write_many

    def slow_write(writes: list[Any]) -> list[Any]:
        # While w1 writes, its lease on the first run lapsed and w2 took the run over.
        with ws.engine.begin() as conn:
            conn.execute(sa.update(r).where(r.c.id == claimed[0]).values(owner="w2"))
        return real(writes)

    monkeypatch.setattr(records_port, "write_many", slow_write)
    services = engine.Services(allow_private=True)
    passes.move_together(ws, "w1", services, claimed)
    services.close()
    with ws.engine.connect() as conn:
        rows = {x.id: (x.status, x.owner) for x in conn.execute(sa.select(r))}
        steps = conn.execute(sa.select(schema.scenario_steps.c.run_id)).scalars().all()
    assert rows[claimed[0]] == ("running", "w2")  # w1 wrote nothing of it
    assert all(rows[i] == ("done", None) for i in claimed[1:])
    assert sorted(steps) == sorted(claimed[1:])
    assert len(runs(api, sc["id"])) == len(deals)
