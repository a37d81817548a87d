"""Webhook upkeep: replay of a sequence range, disabling failing webhooks, notices, pruning."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from support.users import user_headers
from support.webhooks import deals, deliveries, hook, verified, work
from typer.testing import CliRunner

from kartoteka import messages
from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow
from kartoteka.webhooks import disabling, maintenance
from kartoteka.webhooks.replay import MAX_RANGE


def workspace(instance: Any) -> Any:
    return instance.workspace(instance.settings.default_workspace)


def last_seq(instance: Any) -> int:
    with workspace(instance).engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(schema.events.c.seq))).scalar_one())


def travel_back(instance: Any, days: float) -> None:
    """Make everything recorded so far `days` older (attempts are stamped with real time)."""
    back = timedelta(days=days)
    with workspace(instance).engine.begin() as conn:
        for table, columns in (
            (schema.delivery_attempts, ("at",)),
            (schema.webhook_deliveries, ("created_at", "updated_at")),
            (schema.webhooks, ("created_at", "updated_at")),
            (schema.events, ("at",)),
        ):
            [key] = table.primary_key.columns
            for row in conn.execute(sa.select(key, *(table.c[c] for c in columns))).all():
                moved = {c: row._mapping[c] - back for c in columns}
                conn.execute(sa.update(table).where(key == row[0]).values(moved))


def record_events(instance: Any) -> list[tuple[int, str]]:
    """(sequence, record name) of the record events still in the outbox."""
    e = schema.events
    with workspace(instance).engine.connect() as conn:
        rows = conn.execute(sa.select(e).where(e.c.type.like("record.%")).order_by(e.c.seq))
        return [(r.seq, r.payload["values"].get("name")) for r in rows if r.payload["values"]]


def seq_of(instance: Any, name: str) -> int:
    return next(seq for seq, got in record_events(instance) if got == name)


def replay(api: Any, webhook_id: int, **body: Any) -> Any:
    return api.post(f"/webhooks/{webhook_id}/replay", body)


# ----- replay of a range -----------------------------------------------------------------
def test_replay_requeues_delivered_and_creates_missing_with_the_filter(api, instance, receiver):
    deals(api)
    api.record("deals", {"name": "early big", "amount": 500})
    api.record("deals", {"name": "early small", "amount": 5})
    wh = hook(api, receiver.url("/r"), filter={"amount": {"gt": 100}})
    api.record("deals", {"name": "late big", "amount": 700})
    work(instance)
    assert [json.loads(r["body"])["values"]["name"] for r in receiver.at("/r")] == ["late big"]
    top = last_seq(instance)

    r = replay(api, wh["id"], from_sequence=1, to_sequence=top)
    assert r.status_code == 202, r.text
    assert r.json() == {
        "webhook_id": wh["id"],
        "from_sequence": 1,
        "to_sequence": top,
        "status": None,
        "missing": True,
        "requeued": 1,
        "created": 1,
        "pending": 0,
        "unchanged": 0,
        "skipped": top - 2,  # the small deal (filter) and events of other catalogs
        "unavailable": None,
    }
    assert work(instance) == 2
    again = [verified(wh["secret"], x)["values"]["name"] for x in receiver.at("/r")[1:]]
    assert sorted(again) == ["early big", "late big"]
    ids = [x["headers"]["webhook-id"] for x in receiver.at("/r")]
    assert ids.count(f"evt_{top}_{wh['id']}") == 2  # the replayed one keeps its webhook-id
    rows = [(row.event_seq, row.status, row.attempts) for row in deliveries(instance, wh["id"])]
    assert rows == [(seq_of(instance, "early big"), "done", 1), (top, "done", 2)]


def test_replay_of_failed_only(api, instance, receiver, settings):
    settings.webhook_retry_schedule = (0,)
    deals(api)
    wh = hook(api, receiver.url("/f"))
    receiver.scripts["/f"] = [(500, None, {})]
    api.record("deals", {"name": "A"})
    work(instance)
    api.record("deals", {"name": "B"})
    work(instance)
    assert [row.status for row in deliveries(instance, wh["id"])] == ["failed", "done"]
    top = last_seq(instance)
    r = replay(api, wh["id"], from_sequence=top - 1, to_sequence=top, status="failed")
    assert r.status_code == 202, r.text
    got = r.json()
    assert (got["requeued"], got["created"], got["unchanged"], got["missing"]) == (1, 0, 1, False)
    assert work(instance) == 1
    assert [row.status for row in deliveries(instance, wh["id"])] == ["done", "done"]
    assert json.loads(receiver.at("/f")[-1]["body"])["values"]["name"] == "A"


def test_replay_says_which_part_was_pruned(api, instance, receiver):
    deals(api)
    api.record("deals", {"name": "old 1"})
    api.record("deals", {"name": "old 2"})
    pruned_upto = last_seq(instance)
    travel_back(instance, 40)
    assert maintenance.run(workspace(instance))["events_pruned"] == pruned_upto
    assert record_events(instance) == []
    api.record("deals", {"name": "new"})
    wh = hook(api, receiver.url("/p"))
    r = replay(api, wh["id"], from_sequence=1, to_sequence=last_seq(instance))
    assert r.status_code == 202, r.text
    got = r.json()
    assert got["unavailable"] == {
        "from_sequence": 1,
        "to_sequence": pruned_upto,
        "count": pruned_upto,
    }
    assert (got["created"], got["requeued"]) == (1, 0)
    work(instance)
    assert [json.loads(x["body"])["values"]["name"] for x in receiver.at("/p")] == ["new"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_sequence": 3, "to_sequence": 2}, "to_sequence"),
        ({"from_sequence": 1, "to_sequence": MAX_RANGE + 1}, "to_sequence"),
        ({"from_sequence": 1, "to_sequence": 10**6}, "to_sequence"),
        ({"from_sequence": 0, "to_sequence": 1}, "from_sequence"),
        ({"from_sequence": True, "to_sequence": 1}, "from_sequence"),
        ({"to_sequence": 1}, "from_sequence"),
        ({"from_sequence": 1, "to_sequence": 1, "status": "pending"}, "status"),
        ({"from_sequence": 1, "to_sequence": 1, "missing": "yes"}, "missing"),
        ({"from_sequence": 1, "to_sequence": 1, "since": 1}, "since"),
    ],
)
def test_replay_rejects_bad_ranges(api, receiver, body, field):
    deals(api)
    api.records("deals", [{"name": str(i)} for i in range(3)])
    wh = hook(api, receiver.url("/x"))
    r = api.post(f"/webhooks/{wh['id']}/replay", body)
    assert (r.status_code, r.json()["error"]) == (422, "VALIDATION"), r.text
    assert field in r.json()["fields"]


def test_replay_is_for_administrators_and_active_notify_webhooks(api, client, receiver):
    deals(api)
    api.record("deals", {"name": "A"})
    wh = hook(api, receiver.url("/x"))
    body = {"from_sequence": 1, "to_sequence": 1}
    r = client.post(f"/api/v1/webhooks/{wh['id']}/replay", json=body, headers=user_headers(api))
    assert (r.status_code, r.json()["error"]) == (403, "FORBIDDEN")
    r = api.post("/webhooks/999999/replay", body)
    assert (r.status_code, r.json()["error"]) == (404, "NOT_FOUND")
    api.patch(f"/webhooks/{wh['id']}", {"active": False})
    r = api.post(f"/webhooks/{wh['id']}/replay", body)
    assert (r.status_code, r.json()["error"]) == (409, "CONFLICT")
    veto = hook(api, receiver.url("/v"), kind="request")
    r = api.post(f"/webhooks/{veto['id']}/replay", body)
    assert (r.status_code, r.json()["error"]) == (409, "CONFLICT")


# ----- disabling a failing webhook -------------------------------------------------------
def fail_twice_days_apart(api, instance, receiver, days: float, path: str = "/down") -> dict:
    """A webhook whose receiver fails now and again `days` later (all 500s)."""
    receiver.handlers[path] = lambda body: (500, {"error": "down"}, {})
    wh = hook(api, receiver.url(path))
    api.record("deals", {"name": "A"})
    work(instance)
    travel_back(instance, days)
    api.record("deals", {"name": "B"})
    work(instance)
    return wh


def test_failing_for_n_days_disables_and_tells_administrators(api, client, instance, receiver):
    deals(api)
    wh = fail_twice_days_apart(api, instance, receiver, 6)
    counts = maintenance.run(workspace(instance))
    assert counts["disabled"] == 1 and counts["complete"] is True
    got = api.get(f"/webhooks/{wh['id']}").json()
    assert got["active"] is False
    assert "no successful delivery for 5 days" in got["disabled_reason"]
    assert "HTTP 500" in got["disabled_reason"]
    # Stored as a code whose last error is the delivery log's own code, so that both read
    # in the administrator's language.
    params = got["disabled_reason_params"]
    assert got["disabled_reason_code"] == "webhook_disabled_failing"
    assert (params["days"], params["reason"], params["reason_code"]) == (
        5,
        "HTTP 500",
        "delivery_http_status",
    )
    assert params["since"].endswith(" UTC") and params["reason_params"] == {"status": 500}
    assert got["disabled_reason"] == messages.message(got["disabled_reason_code"], params)
    russian = disabling.disabled_reason_text(got, "ru")
    assert russian == (
        f"ни одной успешной отправки за 5 дн. (ошибки с {params['since']}); "
        "последняя ошибка: получатель не принял сообщение (HTTP 500)"
    )
    assert got["failing_since"] is not None and got["last_success_at"] is None

    page = api.get("/notices", params={"unread": "true"}).json()
    assert page["unread"] == 1
    [notice] = page["items"]
    assert (notice["kind"], notice["level"]) == ("webhook.disabled", "error")
    assert notice["data"]["webhook_id"] == wh["id"] and notice["read_at"] is None
    # The notice keeps the last error's code, so the bell words it in the reader's language.
    assert notice["data"]["last_error_code"] == "delivery_http_status"
    assert notice["data"]["last_error_params"] == {"status": 500}
    # Its title and text are in the client's Accept-Language (English when none fits).
    assert notice["title"] == f"Webhook {wh['id']} was switched off"
    assert "(last error: the receiver did not accept the message (HTTP 500))" in notice["message"]
    ru = {"Accept-Language": "ru-RU,ru;q=0.9"}
    [russian] = api.get("/notices", headers=ru).json()["items"]
    assert russian["title"] == f"Вебхук {wh['id']} отключён"
    assert "получатель не принял сообщение (HTTP 500)" in russian["message"]
    assert {**russian, "title": "", "message": ""} == {**notice, "title": "", "message": ""}
    r = api.post(f"/notices/{notice['id']}/read", headers=ru)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert r.json()["title"] == russian["title"]
    assert api.get("/notices", params={"unread": "true"}).json() == {
        "items": [],
        "unread": 0,
        "next_before": None,
    }
    assert len(api.get("/notices").json()["items"]) == 1
    assert api.post("/notices/read").json() == {"marked": 0}
    r = api.post("/notices/999999/read")
    assert (r.status_code, r.json()["error"]) == (404, "NOT_FOUND")
    # Other users see only notices addressed to them: not the administrators' ones.
    r = client.get("/api/v1/notices", headers=user_headers(api))
    assert (r.status_code, r.json()["items"], r.json()["unread"]) == (200, [], 0)
    log = api.get("/security/log").json()["items"]
    assert any(e["event"] == "webhook_disabled" for e in log)

    # Turning it back on starts the count again: the next pass leaves it on.
    assert api.patch(f"/webhooks/{wh['id']}", {"active": True}).status_code == 200
    assert maintenance.run(workspace(instance))["disabled"] == 0
    assert api.get(f"/webhooks/{wh['id']}").json()["active"] is True


def test_a_success_in_between_keeps_the_webhook(api, instance, receiver):
    deals(api)
    receiver.scripts["/flaky"] = [(500, None, {}), (200, None, {}), (500, None, {})]
    wh = hook(api, receiver.url("/flaky"))
    api.record("deals", {"name": "A"})
    work(instance)
    travel_back(instance, 6)
    api.record("deals", {"name": "B"})
    work(instance)
    api.record("deals", {"name": "C"})
    work(instance)
    assert maintenance.run(workspace(instance))["disabled"] == 0
    got = api.get(f"/webhooks/{wh['id']}").json()
    assert got["active"] is True and got["last_success_at"] is not None
    assert got["failing_since"] >= got["last_success_at"]  # the old failure is forgotten


def test_one_failure_long_ago_is_not_n_days_of_failing(api, instance, receiver, settings):
    settings.webhook_retry_schedule = (0,)
    deals(api)
    receiver.handlers["/once"] = lambda body: (500, None, {})
    wh = hook(api, receiver.url("/once"))
    api.record("deals", {"name": "A"})
    work(instance)
    travel_back(instance, 10)
    assert maintenance.run(workspace(instance))["disabled"] == 0
    settings.webhook_disable_after_days = 0
    fail_twice_days_apart(api, instance, receiver, 30, "/never")
    assert maintenance.run(workspace(instance))["disabled"] == 0
    assert api.get(f"/webhooks/{wh['id']}").json()["active"] is True


# ----- pruning ---------------------------------------------------------------------------
def counts_of(instance: Any) -> dict[str, int]:
    with workspace(instance).engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (schema.webhook_deliveries, schema.delivery_attempts)
        }


def names_left(instance: Any) -> list[str]:
    return [name for _, name in record_events(instance)]


def test_pruning_by_age_keeps_what_is_still_needed(api, instance, receiver, settings):
    settings.webhook_retry_schedule = (0,)
    deals(api)
    ok = hook(api, receiver.url("/ok"))
    bad = hook(api, receiver.url("/bad"))
    receiver.handlers["/bad"] = lambda body: (500, None, {})
    api.record("deals", {"name": "A"})
    work(instance)
    travel_back(instance, 20)  # A: 20 days old, delivered to /ok, failed at /bad
    api.record("deals", {"name": "B"})  # after the cursor: no worker has seen it yet
    assert counts_of(instance) == {"webhook_deliveries": 2, "delivery_attempts": 2}

    counts = maintenance.run(workspace(instance))
    assert (counts["deliveries_done_pruned"], counts["deliveries_failed_pruned"]) == (1, 0)
    assert counts["events_pruned"] == 0  # 30 days not over yet
    assert [r.status for r in deliveries(instance, bad["id"])] == ["failed"]
    assert deliveries(instance, ok["id"]) == []

    travel_back(instance, 20)  # A: 40 days old; B: 20 days old and not yet consumed
    counts = maintenance.run(workspace(instance))
    assert counts["deliveries_failed_pruned"] == 1
    assert counts_of(instance) == {"webhook_deliveries": 0, "delivery_attempts": 0}
    assert names_left(instance) == ["B"]
    travel_back(instance, 20)  # B: 40 days old, still past the cursor
    maintenance.run(workspace(instance))
    assert names_left(instance) == ["B"]
    work(instance)  # B is still delivered
    assert [json.loads(x["body"])["values"]["name"] for x in receiver.at("/ok")] == ["A", "B"]
    travel_back(instance, 40)
    counts = maintenance.run(workspace(instance))
    assert (counts["deliveries_done_pruned"], counts["deliveries_failed_pruned"]) == (1, 1)
    assert names_left(instance) == []


def test_skipped_deliveries_go_with_the_delivered_ones(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/loop"))
    old = utcnow() - timedelta(days=15)
    with workspace(instance).engine.begin() as conn:
        conn.execute(
            sa.insert(schema.webhook_deliveries).values(
                webhook_id=wh["id"],
                event_seq=1,
                webhook_msg_id=f"evt_1_{wh['id']}",
                payload="{}",
                status="skipped",
                attempts=0,
                created_at=old,
                updated_at=old,
            )
        )
    assert maintenance.run(workspace(instance))["deliveries_done_pruned"] == 1
    assert deliveries(instance, wh["id"]) == []


def test_pending_deliveries_hold_their_events(api, instance, receiver, settings):
    settings.webhook_retry_schedule = (0, 10**6)
    deals(api)
    receiver.handlers["/slow"] = lambda body: (503, None, {})
    wh = hook(api, receiver.url("/slow"))
    api.record("deals", {"name": "A"})
    work(instance)
    travel_back(instance, 60)
    maintenance.run(workspace(instance))
    assert names_left(instance) == ["A"]
    assert [r.status for r in deliveries(instance, wh["id"])] == ["pending"]


def test_copied_request_bodies_are_emptied_but_still_shown(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/ok"))
    api.record("deals", {"name": "A"})
    work(instance)
    counts = maintenance.run(workspace(instance), now=utcnow() + timedelta(hours=2))
    assert counts["attempt_bodies_emptied"] == 1
    with workspace(instance).engine.connect() as conn:
        stored = conn.execute(sa.select(schema.delivery_attempts.c.request_body)).scalars().all()
    assert stored == [""]
    [item] = api.get(f"/webhooks/{wh['id']}/deliveries").json()["items"]
    assert json.loads(item["log"][0]["request_body"])["values"] == {"name": "A"}
    assert maintenance.run(workspace(instance))["attempt_bodies_emptied"] == 0


def test_a_time_budget_stops_a_run_early(api, instance, monkeypatch):
    deals(api)
    api.records("deals", [{"name": str(i)} for i in range(5)])
    travel_back(instance, 40)
    monkeypatch.setattr(maintenance, "CHUNK", 2)
    counts = maintenance.run(workspace(instance), budget_seconds=0)
    assert counts["complete"] is False and counts["events_pruned"] == 0
    assert len(names_left(instance)) == 5
    assert maintenance.run(workspace(instance))["complete"] is True
    assert names_left(instance) == []


# ----- the command -----------------------------------------------------------------------
def test_maintenance_command_prunes_every_workspace(api, instance):
    from kartoteka.cli import app

    deals(api)
    api.records("deals", [{"name": str(i)} for i in range(3)])
    travel_back(instance, 40)
    settings = instance.settings
    args = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    name = settings.default_workspace
    env = {"KARTOTEKA_EVENTS_KEEP_DAYS": "30", "KARTOTEKA_DATABASE_URL": None}
    result = CliRunner().invoke(app, [*args, "maintenance", "-w", name], env=env)
    assert result.exit_code == 0, result.output
    assert f"{name}: disabled 0" in result.output and "events pruned" in result.output
    assert names_left(instance) == []
    result = CliRunner().invoke(app, [*args, "maintenance", "-w", "nosuchworkspace"], env=env)
    assert result.exit_code == 1 and "Error:" in result.output
