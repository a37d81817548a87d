"""Scenario timers (cron, date fields), the concurrency guard and pruning of history."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from support.scenarios import deals_and_clients, fixed_clock, runs, scenario, work, workspace

from kartoteka.scenarios import engine, maintenance, triggers
from kartoteka.storage import schema

__all__ = ["fixed_clock"]


def test_schedule_fires_in_the_workspace_time_zone_once_per_moment(api, instance, fixed_clock):
    api.patch("/settings", {"timezone": "Europe/Moscow"})  # UTC+3
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Every weekday 09:00",
            "trigger": {"type": "schedule", "cron": "0 9 * * 1-5"},
            "steps": [
                {
                    "type": "create_record",
                    "catalog": "deals",
                    "values": {"name": "{{ trigger.at }}"},
                }
            ],
        },
    )
    # 08:00 UTC on Monday is 11:00 in Moscow: the next moment is Tuesday 06:00 UTC.
    assert sc["next_fire_at"].startswith("2026-03-03T06:00")
    fixed_clock.set(datetime(2026, 3, 3, 5, 59))
    assert work(instance) == 0
    fixed_clock.set(datetime(2026, 3, 3, 6, 0, 30))
    assert work(instance) == 1
    assert work(instance) == 0  # not twice for one moment
    # Down over the weekend: the missed moments fire once, then the schedule goes on.
    fixed_clock.set(datetime(2026, 3, 9, 12, 0))
    assert work(instance) == 1
    got = api.get(f"/scenarios/{sc['id']}").json()
    assert got["next_fire_at"].startswith("2026-03-10T06:00")
    names = sorted(d["values"]["name"] for d in api.get("/catalogs/deals/records").json()["items"])
    assert names == ["2026-03-03T06:00:00Z", "2026-03-04T06:00:00Z"]


def test_date_trigger_days_before_and_yearly(api, instance, fixed_clock):
    deals_and_clients(api)
    api.catalog(
        "Licenses",
        [
            {"name": "Client", "api_name": "client", "type": "text"},
            {"name": "Expires", "api_name": "expires", "type": "date"},
        ],
        api_name="licenses",
    )
    expiring = scenario(
        api,
        {
            "name": "Licence expires in 3 days",
            "trigger": {
                "type": "date",
                "catalog": "licenses",
                "field": "expires",
                "offset": "-P3D",
                "at": "10:00",
            },
            "steps": [
                {
                    "type": "create_record",
                    "catalog": "deals",
                    "values": {"name": "renew {{ record.client }}"},
                }
            ],
        },
    )
    birthday = scenario(
        api,
        {
            "name": "Birthday",
            "trigger": {
                "type": "date",
                "catalog": "clients",
                "field": "birthday",
                "yearly": True,
                "at": "09:00",
            },
            "steps": [{"type": "update_record", "values": {"total": 1}}],
        },
    )
    api.record("licenses", {"client": "A", "expires": "2026-03-05"})  # fires 03-02 10:00
    api.record("licenses", {"client": "B", "expires": "2026-03-06"})  # fires 03-03 10:00
    api.record("licenses", {"client": "old", "expires": "2026-03-01"})  # already past
    ann = api.record("clients", {"name": "Ann", "birthday": "1990-03-02"})
    bob = api.record("clients", {"name": "Bob", "birthday": "1990-07-01"})
    fixed_clock.advance(timedelta(minutes=30))  # 08:30: nothing yet
    assert work(instance) == 0
    fixed_clock.advance(timedelta(hours=2))  # 10:30
    work(instance)
    assert len(runs(api, expiring["id"])) == 1 and len(runs(api, birthday["id"])) == 1
    assert api.get(f"/catalogs/clients/records/{ann['id']}").json()["values"]["total"] == 1
    fixed_clock.advance(timedelta(days=1))
    work(instance)
    fixed_clock.advance(timedelta(days=1))
    work(instance)
    names = sorted(d["values"]["name"] for d in api.get("/catalogs/deals/records").json()["items"])
    assert names == ["renew A", "renew B"]
    assert len(runs(api, birthday["id"])) == 1
    # A year later (no worker ran meanwhile): Bob's missed birthday fires once, late,
    # and Ann's comes round again.
    fixed_clock.set(datetime(2027, 3, 2, 9, 30))
    work(instance)
    fired = sorted((r["record"]["id"], r["trigger"]["at"]) for r in runs(api, birthday["id"]))
    assert fired == [
        (ann["id"], "2026-03-02T09:00:00Z"),
        (ann["id"], "2027-03-02T09:00:00Z"),
        (bob["id"], "2026-07-01T09:00:00Z"),
    ]


def test_concurrency_limit_holds_runs_back(api, instance, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "One at a time",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [{"type": "set", "vars": {"x": 1}}],
            "options": {"concurrency": 1},
        },
    )
    api.records("deals", [{"name": f"D{i}"} for i in range(3)])
    ws = workspace(instance)
    triggers.consume_events(ws, fixed_clock.now())
    first = engine.claim(ws, "w1", fixed_clock.now(), limit=10)
    assert len(first) == 1
    assert engine.claim(ws, "w2", fixed_clock.now(), limit=10) == []
    engine.execute(ws, first[0], "w1", engine.Services())
    second = engine.claim(ws, "w2", fixed_clock.now(), limit=10)
    assert len(second) == 1
    engine.execute(ws, second[0], "w2", engine.Services())
    work(instance)
    assert {r["status"] for r in runs(api, sc["id"])} == {"done"}


def test_history_is_pruned_by_age_and_by_count(api, instance, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Chatty",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [{"type": "set", "vars": {"x": 1}}],
        },
    )
    api.records("deals", [{"name": f"D{i}"} for i in range(5)])
    work(instance)
    ws = workspace(instance)
    ws.settings.scenario_runs_keep_max = 3
    assert maintenance.prune(ws) == {"scenario_runs_pruned": 2}
    assert len(runs(api, sc["id"])) == 3
    fixed_clock.advance(timedelta(days=15))
    assert maintenance.prune(ws) == {"scenario_runs_pruned": 3}
    with ws.engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(schema.scenario_steps)).scalar()
    assert left == 0
