"""Scenarios: definitions through the API, record triggers, steps, durable runs."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from support.scenarios import (
    deals_and_clients,
    fixed_clock,
    runs,
    scenario,
    work,
    workspace,
)
from support.users import user_headers

from kartoteka import workers
from kartoteka.scenarios.definition import TRIGGER_TYPES
from kartoteka.scenarios.steps import KINDS
from kartoteka.storage import schema

__all__ = ["fixed_clock"]


def won_scenario(api: Any, **extra: Any) -> dict[str, Any]:
    return scenario(
        api,
        {
            "name": "Deal won",
            "trigger": {
                "type": "record.updated",
                "catalog": "deals",
                "fields": ["stage"],
                "filter": {"stage": {"eq": "Won"}},
            },
            "steps": [
                {"type": "set", "id": "calc", "vars": {"bonus": {"expr": "record.amount * 0.1"}}},
                {
                    "type": "condition",
                    "filter": {"amount": {"gt": 100}, "$vars.bonus": {"gte": 10}},
                    "then": [
                        {
                            "type": "update_record",
                            "values": {
                                "note": "big win: {{ record.name }} +{{ vars.bonus }}"
                                " by {{ user.email }}, was {{ previous.stage.label }}"
                            },
                        }
                    ],
                    "else": [{"type": "update_record", "values": {"note": "small win"}}],
                },
            ],
            **extra,
        },
    )


def test_crud_versions_export_import_and_precise_errors(api, client):
    deals_and_clients(api)
    sc = won_scenario(api)
    assert sc["version"] == 1 and sc["active"] is True and sc["trigger"]["catalog"] == "deals"
    assert [s["id"] for s in api.get("/scenarios").json()["items"]] == [sc["id"]]
    # A rename keeps the version; new steps make version 2.
    r = api.patch(f"/scenarios/{sc['id']}", {"name": "Won deals"})
    assert r.status_code == 200 and r.json()["version"] == 1
    r = api.patch(f"/scenarios/{sc['id']}", {"steps": [{"type": "stop"}]})
    assert r.json()["version"] == 2
    versions = api.get(f"/scenarios/{sc['id']}/versions").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    exported = api.get(f"/scenarios/{sc['id']}/export").json()
    assert exported["kartoteka_scenario"] == 1 and exported["steps"] == [{"type": "stop"}]
    r = api.post("/scenarios/import", exported)
    assert r.status_code == 201 and r.json()["id"] != sc["id"]

    bad = {
        "name": "Bad",
        "trigger": {"type": "record.updated", "catalog": "deals", "fields": ["nope"]},
        "steps": [
            {"type": "condition", "filter": {"stage": {"eq": "Won"}}, "then": [{"type": "x"}]},
            {"type": "http", "url": "ftp://x", "method": "GO"},
            {"type": "set", "vars": {"a": "{{ oops( }}"}},
            {"type": "wait", "duration": "P1M"},
        ],
    }
    r = api.post("/scenarios", bad)
    assert (r.status_code, r.json()["error"]) == (422, "VALIDATION")
    fields = r.json()["fields"]
    assert fields["trigger.fields"] == "unknown field 'nope'"
    assert "steps[0].then[0].type" in fields
    assert "steps[1].url" in fields and "steps[1].method" in fields
    assert fields["steps[2].vars.a"].startswith("template error")
    assert "steps[3].duration" in fields
    r = api.post("/scenarios", {"name": "x", "trigger": {"type": "schedule", "cron": "61 * *"}})
    assert "trigger.cron" in r.json()["fields"] and "steps" in r.json()["fields"]

    r = client.get("/api/v1/scenarios", headers=user_headers(api))
    assert (r.status_code, r.json()["error"]) == (403, "FORBIDDEN")
    assert api.delete(f"/scenarios/{sc['id']}").status_code == 204
    assert api.get(f"/scenarios/{sc['id']}").status_code == 404


def test_stage_became_won_runs_condition_and_update(api, instance, fixed_clock):
    deals_and_clients(api)
    sc = won_scenario(api)
    big = api.record("deals", {"name": "Big", "amount": 500, "stage": "New"})
    small = api.record("deals", {"name": "Small", "amount": 50, "stage": "New"})
    api.patch(f"/catalogs/deals/records/{big['id']}", {"values": {"amount": 600}})
    assert work(instance) == 0  # stage did not change
    api.patch(f"/catalogs/deals/records/{big['id']}", {"values": {"stage": "Won"}})
    api.patch(f"/catalogs/deals/records/{small['id']}", {"values": {"stage": "Won"}})
    assert work(instance) == 2
    got = {r["id"]: r["values"]["note"] for r in api.get("/catalogs/deals/records").json()["items"]}
    note = "big win: Big +60.0 by admin@example.com, was New"
    assert got == {big["id"]: note, small["id"]: "small win"}
    # Won -> Won (a change of another field with stage in `fields`) is not "became".
    api.patch(f"/catalogs/deals/records/{big['id']}", {"values": {"stage": "Won", "amount": 1}})
    assert work(instance) == 0
    done = runs(api, sc["id"])
    assert [r["status"] for r in done] == ["done", "done"]
    trace = done[-1]["steps"]
    assert [s["kind"] for s in trace] == ["set", "condition", "update_record"]
    assert trace[0]["output"] == {"bonus": 60.0}
    assert trace[1]["output"] == {"matched": True}
    assert trace[2]["input"]["values"] == {"note": note}
    # A list without the steps: each run says its steps' time instead.
    brief = api.get(f"/scenarios/{sc['id']}/runs?steps=false").json()["items"]
    assert [r["id"] for r in brief] == [r["id"] for r in done]
    assert all("steps" not in r for r in brief)
    spent = {r["id"]: sum(s["duration_ms"] for s in r["steps"]) for r in done}
    assert {r["id"]: r["duration_ms"] for r in brief} == spent


def test_created_and_deleted_triggers_and_record_steps(api, instance, fixed_clock):
    deals_and_clients(api)
    scenario(
        api,
        {
            "name": "New client gets a deal",
            "trigger": {"type": "record.created", "catalog": "clients"},
            "steps": [
                {
                    "type": "create_record",
                    "catalog": "deals",
                    "values": {"name": "First deal of {{ record.name }}", "amount": 1},
                    "into": "deal",
                },
                {"type": "comment", "text": "deal {{ vars.deal.id }} created"},
                {
                    "type": "find_records",
                    "catalog": "deals",
                    "filter": {"name": {"startswith": "First deal"}},
                    "into": "found",
                },
                {
                    "type": "for_each",
                    "items": "{{ vars.found }}",
                    "as": "d",
                    "steps": [
                        {
                            "type": "update_record",
                            "catalog": "deals",
                            "record": "{{ d.id }}",
                            "values": {"amount": {"expr": "d.amount + d_index + 10"}},
                        }
                    ],
                },
            ],
        },
    )
    scenario(
        api,
        {
            "name": "Deleted client",
            "trigger": {"type": "record.deleted", "catalog": "clients"},
            "steps": [
                {
                    "type": "create_record",
                    "catalog": "deals",
                    "values": {"name": "gone: {{ trigger.record_id }}"},
                }
            ],
        },
    )
    client = api.record("clients", {"name": "Acme"})
    assert work(instance) == 1
    deals = api.get("/catalogs/deals/records").json()["items"]
    assert [(d["values"]["name"], d["values"]["amount"]) for d in deals] == [
        ("First deal of Acme", 11)
    ]
    comments = api.get(f"/catalogs/clients/records/{client['id']}/comments").json()["items"]
    assert [c["text"] for c in comments] == [f"deal {deals[0]['id']} created"]
    # A scenario's comment is searched with its record, like one added through the API.
    found = api.get("/catalogs/clients/records", params={"search": "created"}).json()["items"]
    assert [r["id"] for r in found] == [client["id"]]
    api.delete(f"/catalogs/clients/records/{client['id']}")
    assert work(instance) == 1
    names = [d["values"]["name"] for d in api.get("/catalogs/deals/records").json()["items"]]
    assert f"gone: {client['id']}" in names


def test_wait_is_a_durable_row_and_resumes_on_time(api, instance, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Follow-up",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [
                {"type": "wait", "duration": "P7D"},
                {"type": "update_record", "values": {"note": "followed up"}},
            ],
        },
    )
    deal = api.record("deals", {"name": "Trial"})
    work(instance)
    [run] = runs(api, sc["id"])
    assert run["status"] == "waiting" and run["due_at"].startswith("2026-03-09T08:00")
    fixed_clock.advance(timedelta(days=6, hours=23))
    assert work(instance) == 0
    # A "restart": new services, a new worker owner; the row alone carries the wait.
    fixed_clock.advance(timedelta(hours=1))
    assert work(instance) == 1
    got = api.get(f"/catalogs/deals/records/{deal['id']}").json()
    assert got["values"]["note"] == "followed up"
    assert runs(api, sc["id"])[0]["status"] == "done"


def test_wait_until_filter_is_woken_by_the_record_or_times_out(api, instance, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Until won",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [
                {
                    "type": "wait",
                    "until_filter": {"stage": {"eq": "Won"}},
                    "timeout": "P2D",
                    "on_timeout": [{"type": "update_record", "values": {"note": "timed out"}}],
                },
                {"type": "update_record", "values": {"note": "{{ record.note or 'won' }}"}},
            ],
        },
    )
    a = api.record("deals", {"name": "A"})
    b = api.record("deals", {"name": "B"})
    work(instance)
    assert {r["status"] for r in runs(api, sc["id"])} == {"waiting"}
    fixed_clock.advance(timedelta(hours=1))
    api.patch(f"/catalogs/deals/records/{a['id']}", {"values": {"stage": "Won"}})
    assert work(instance) == 1  # only A's wait was woken, and it matched
    fixed_clock.advance(timedelta(days=2))
    work(instance)
    notes = {
        r["id"]: r["values"]["note"] for r in api.get("/catalogs/deals/records").json()["items"]
    }
    assert notes == {a["id"]: "won", b["id"]: "timed out"}


def test_depth_limit_stops_a_scenario_that_triggers_itself(api, instance, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Counter",
            "trigger": {"type": "record.updated", "catalog": "deals", "fields": ["amount"]},
            "steps": [
                {"type": "update_record", "values": {"amount": {"expr": "record.amount + 1"}}}
            ],
            "options": {"max_depth": 3},
        },
    )
    deal = api.record("deals", {"name": "Loop", "amount": 0})
    api.patch(f"/catalogs/deals/records/{deal['id']}", {"values": {"amount": 1}})
    work(instance)
    statuses = [r["status"] for r in reversed(runs(api, sc["id"]))]
    assert statuses == ["done", "done", "done", "skipped"]
    skipped = runs(api, sc["id"])[0]
    assert "depth limit" in skipped["error"]
    assert (skipped["error_code"], skipped["error_params"]) == (
        "run_depth_limit",
        {"depth": 3, "limit": 3},
    )
    ru = api.client.get(
        api.url(f"/scenarios/{sc['id']}/runs/{skipped['id']}"), headers={"Accept-Language": "ru"}
    )
    assert ru.json()["error"].startswith("предел вложенности: изменение пришло из цепочки в 3")
    assert api.get(f"/catalogs/deals/records/{deal['id']}").json()["values"]["amount"] == 4


def test_failed_step_retries_then_fails_and_is_retried_from_that_step(api, instance, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Needs a client",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [
                {"type": "set", "vars": {"n": 1}},
                {
                    "type": "update_record",
                    "catalog": "clients",
                    "record": "{{ record.amount }}",
                    "values": {"name": "touched"},
                    "retry": {"attempts": 2, "delay": "PT1M"},
                },
            ],
        },
    )
    api.record("deals", {"name": "D", "amount": 999})
    work(instance)
    [run] = runs(api, sc["id"])
    assert run["status"] == "waiting"
    fixed_clock.advance(timedelta(minutes=1))
    work(instance)
    [run] = runs(api, sc["id"])
    assert run["status"] == "failed" and "not found" in run["error"]
    assert [(s["kind"], s["status"], s["attempt"]) for s in run["steps"]] == [
        ("set", "done", 1),
        ("update_record", "failed", 1),
        ("update_record", "failed", 2),
    ]
    client = api.record("clients", {"name": "c"})
    with workspace(instance).engine.begin() as conn:
        t = schema.scenario_runs
        state = conn.execute(sa.select(t.c.state).where(t.c.id == run["id"])).scalar_one()
        # Point the failing reference at a record that exists now (as an admin fixing data).
        state["vars"]["n"] = 2
        conn.execute(sa.update(t).where(t.c.id == run["id"]).values(state=state))
    api.patch(
        f"/catalogs/deals/records/{run['record']['id']}", {"values": {"amount": client["id"]}}
    )
    r = api.post(f"/scenarios/{sc['id']}/runs/{run['id']}/retry")
    assert r.status_code == 200 and r.json()["status"] == "queued"
    work(instance)
    again = api.get(f"/scenarios/{sc['id']}/runs/{run['id']}").json()
    assert again["status"] == "done"
    # It went on from the failed step: the `set` step did not run again.
    assert [s["kind"] for s in again["steps"]].count("set") == 1
    assert again["vars"]["n"] == 2
    assert (
        api.get(f"/catalogs/clients/records/{client['id']}").json()["values"]["name"] == "touched"
    )
    r = api.post(f"/scenarios/{sc['id']}/runs/{run['id']}/retry")
    assert (r.status_code, r.json()["error"]) == (409, "CONFLICT")


def test_every_step_kind_and_trigger_type_is_documented():
    text = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text()
    for kind in KINDS:
        assert f"### `{kind}`" in text, kind
    for trigger in TRIGGER_TYPES:
        assert f"| `{trigger}` |" in text, trigger


def test_the_worker_process_runs_scenarios_beside_the_deliveries(api, instance):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Live",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [{"type": "update_record", "values": {"note": "seen by the worker"}}],
        },
    )
    stop = workers.start_in_process(instance, only=[instance.settings.default_workspace])
    try:
        deal = api.record("deals", {"name": "D"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not runs(api, sc["id"]):
            time.sleep(0.05)
        while time.monotonic() < deadline and runs(api, sc["id"])[0]["status"] != "done":
            time.sleep(0.05)
    finally:
        stop()
    assert runs(api, sc["id"])[0]["status"] == "done"
    got = api.get(f"/catalogs/deals/records/{deal['id']}").json()["values"]["note"]
    assert got == "seen by the worker"


def test_a_cached_program_is_used_only_for_the_same_steps():
    """A workspace made again (or a restored backup, or a second instance in one
    process) reuses a scenario's name, id and version for other steps: the cache must
    not hand back the old program."""
    from kartoteka.scenarios.definition import program_of

    first = {"steps": [{"type": "stop", "status": "success"}]}
    other = {"steps": [{"type": "stop", "status": "error", "message": "no"}]}
    a = program_of("ws-cache-test", 1, 1, first)
    assert program_of("ws-cache-test", 1, 1, dict(first)) is a  # equal steps: the hit
    b = program_of("ws-cache-test", 1, 1, other)
    assert b != a and b == program_of("ws-cache-test", 1, 1, other)
