"""Scenario steps that reach outside: HTTP, e-mail, notices; calls, stops, test mode, starts."""

from __future__ import annotations

import json
import smtplib
from datetime import timedelta
from typing import Any

from support.scenarios import deals_and_clients, fixed_clock, runs, scenario, work
from support.users import user_headers

from kartoteka.scenarios import engine, mail

__all__ = ["fixed_clock"]


def test_http_step_sends_templates_keeps_the_answer_and_branches_on_failure(
    api, instance, receiver, fixed_clock
):
    deals_and_clients(api)
    receiver.scripts["/fail"] = [(500, {"no": 1}, {}), (503, None, {})]
    sc = scenario(
        api,
        {
            "name": "Invoice",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [
                {
                    "type": "http",
                    "id": "inv",
                    "method": "POST",
                    "url": receiver.url("/ok"),
                    "headers": {"x-deal": "{{ record.id }}"},
                    "json": {"deal": "{{ record.name }}", "amount": "{{ record.amount }}"},
                },
                {
                    "type": "http",
                    "method": "POST",
                    "url": receiver.url("/fail"),
                    "retry": {"attempts": 2, "delay": "PT10S"},
                    "on_error": [
                        {
                            "type": "update_record",
                            "values": {"note": "failed: {{ vars.error.message }}"},
                        }
                    ],
                },
                {"type": "set", "vars": {"answer": "{{ steps['inv'].response.allow }}"}},
            ],
        },
    )
    deal = api.record("deals", {"name": "D1", "amount": 5})
    work(instance)
    [first] = receiver.at("/ok")
    assert json.loads(first["body"]) == {"deal": "D1", "amount": 5}
    assert first["headers"]["x-deal"] == str(deal["id"])
    assert first["headers"]["idempotency-key"].startswith("kt-run-")
    assert runs(api, sc["id"])[0]["status"] == "waiting"  # the retry of /fail
    fixed_clock.advance(timedelta(seconds=10))
    work(instance)
    [run] = runs(api, sc["id"])
    assert run["status"] == "done" and run["vars"]["answer"] is True
    assert len(receiver.at("/fail")) == 2
    note = api.get(f"/catalogs/deals/records/{deal['id']}").json()["values"]["note"]
    assert note == "failed: HTTP 503"
    ok_step = run["steps"][0]
    assert ok_step["output"]["status"] == 200 and ok_step["output"]["response"] == {"allow": True}


def test_http_step_obeys_the_webhook_ssrf_rules(api, instance, receiver, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "To loopback",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [{"type": "http", "method": "POST", "url": receiver.url("/x")}],
        },
    )
    api.record("deals", {"name": "D"})
    work(instance, engine.Services(allow_private=False))
    [run] = runs(api, sc["id"])
    assert run["status"] == "failed" and "refused" in run["error"]
    assert receiver.at("/x") == []


def test_http_rate_limit_parks_runs_instead_of_exceeding_it(api, instance, receiver, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Limited",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [{"type": "http", "method": "POST", "url": receiver.url("/r")}],
            "options": {"http_per_second": 2},
        },
    )
    api.records("deals", [{"name": f"D{i}"} for i in range(5)])
    work(instance)
    assert len(receiver.at("/r")) == 1  # the clock stands still: one slot is now
    fixed_clock.advance(timedelta(seconds=0.5))
    work(instance)
    assert len(receiver.at("/r")) == 2
    fixed_clock.advance(timedelta(seconds=2))
    work(instance)
    assert len(receiver.at("/r")) == 5
    assert {r["status"] for r in runs(api, sc["id"])} == {"done"}


def test_email_step_sends_through_the_workspace_smtp(api, instance, smtp, fixed_clock):
    controller, inbox = smtp
    deals_and_clients(api)
    r = api.put(
        "/settings/smtp",
        {
            "host": "127.0.0.1",
            "port": controller.port,
            "from": "crm@example.com",
            "password": "secret",
        },
    )
    assert r.status_code == 200 and "password" not in r.json() and r.json()["has_password"]
    r = api.put("/settings/smtp", {"host": "", "port": 0})
    assert r.status_code == 422 and {"host", "port", "from"} <= set(r.json()["fields"])
    scenario(
        api,
        {
            "name": "Greeting",
            "trigger": {"type": "record.created", "catalog": "clients"},
            "steps": [
                {
                    "type": "email",
                    "to": "{{ record.email }}",
                    "subject": "Hello, {{ record.name }}",
                    "text": "Dear {{ record.name }}, welcome.",
                    "html": "<p>Dear {{ record.name }}</p>",
                }
            ],
        },
    )
    api.record("clients", {"name": "<Ann>", "email": "ann@example.com"})
    work(instance)
    [message] = inbox.messages
    assert message.rcpt_tos == ["ann@example.com"]
    body = message.content.decode()
    assert "Subject: Hello, <Ann>" in body and "Dear <Ann>, welcome." in body
    assert "&lt;Ann&gt;" in body  # HTML parts escape values
    assert "Message-ID: <kt-run-" in body


def test_notify_reaches_any_user_and_only_them(api, client, instance, fixed_clock):
    deals_and_clients(api)
    headers = user_headers(api)
    user_id = next(
        u["id"] for u in api.get("/users").json()["items"] if u["email"] == "u@example.com"
    )
    scenario(
        api,
        {
            "name": "Tell the manager",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [
                {
                    "type": "notify",
                    "users": [user_id],
                    "title": "New deal {{ record.name }}",
                    "message": "amount {{ record.amount }}",
                }
            ],
        },
    )
    api.record("deals", {"name": "Big", "amount": 9})
    work(instance)
    mine = client.get("/api/v1/notices", headers=headers).json()
    assert mine["unread"] == 1
    [notice] = mine["items"]
    assert (notice["title"], notice["message"], notice["user_id"]) == (
        "New deal Big",
        "amount 9",
        user_id,
    )
    # The administrator's list does not carry other users' notices.
    assert api.get("/notices").json()["items"] == []
    r = client.post(f"/api/v1/notices/{notice['id']}/read", headers=headers)
    assert r.status_code == 200 and r.json()["read_at"] is not None


def test_call_waits_for_the_called_scenario_and_stop_ends_with_error(api, instance, fixed_clock):
    deals_and_clients(api)
    child = scenario(
        api,
        {
            "name": "Child",
            "trigger": {"type": "manual"},
            "steps": [
                {"type": "wait", "duration": "PT1H"},
                {"type": "set", "vars": {"doubled": {"expr": "vars.n * 2"}}},
            ],
        },
    )
    parent = scenario(
        api,
        {
            "name": "Parent",
            "trigger": {"type": "manual"},
            "steps": [
                {
                    "type": "call",
                    "id": "c",
                    "scenario": child["id"],
                    "vars": {"n": 21},
                    "wait": True,
                },
                {
                    "type": "condition",
                    "filter": {"$steps.c.vars.doubled": 42},
                    "then": [
                        {
                            "type": "stop",
                            "status": "error",
                            "message": "got {{ steps['c'].vars.doubled }}",
                        }
                    ],
                },
                {"type": "set", "vars": {"unreached": True}},
            ],
        },
    )
    r = api.post(f"/scenarios/{parent['id']}/run", {})
    assert r.status_code == 202 and r.json()["status"] == "queued"
    work(instance)
    assert runs(api, parent["id"])[0]["status"] == "waiting"
    assert runs(api, child["id"])[0]["status"] == "waiting"
    fixed_clock.advance(timedelta(hours=1))
    work(instance)
    assert runs(api, child["id"])[0]["status"] == "done"
    [run] = runs(api, parent["id"])
    assert (run["status"], run["error"]) == ("failed", "got 42")
    assert "unreached" not in run["vars"]


def test_test_mode_records_http_and_email_and_returns_the_trace(api, instance, receiver):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Dry",
            "trigger": {"type": "manual", "catalog": "deals"},
            "steps": [
                {"type": "wait", "duration": "P7D"},
                {
                    "type": "http",
                    "method": "POST",
                    "url": receiver.url("/t"),
                    "json": {"n": "{{ record.name }}"},
                },
                {
                    "type": "email",
                    "to": "a@example.com",
                    "subject": "S",
                    "text": "T {{ record.name }}",
                },
            ],
        },
    )
    deal = api.record("deals", {"name": "Probe"})
    r = api.post(f"/scenarios/{sc['id']}/run", {"record_id": deal["id"], "test": True})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "done" and run["test"] is True
    assert [s["status"] for s in run["steps"]] == ["done", "recorded", "recorded"]
    assert run["steps"][1]["output"]["recorded"]["json"] == {"n": "Probe"}
    assert run["steps"][2]["output"]["recorded"]["text"] == "T Probe"
    assert receiver.at("/t") == []
    r = api.post(f"/scenarios/{sc['id']}/run", {"record_id": 999999, "test": True})
    assert r.status_code == 404
    r = api.post(f"/scenarios/{sc['id']}/run", {"record_id": "x"})
    assert (r.status_code, r.json()["fields"]) == (422, {"record_id": "must be a record id"})
    assert r.json()["errors"][0]["code"] == "scenario_record_id"


def test_incoming_call_needs_its_token_and_is_idempotent(api, client, instance, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Payment",
            "trigger": {"type": "webhook"},
            "steps": [
                {
                    "type": "create_record",
                    "catalog": "deals",
                    "values": {
                        "name": "paid {{ vars.body.order }}",
                        "amount": "{{ trigger.body.sum }}",
                    },
                }
            ],
        },
    )
    token = sc.pop("token")
    assert token.startswith("kts_") and "token" not in api.get(f"/scenarios/{sc['id']}").json()
    url = f"/api/v1/scenarios/{sc['id']}/trigger"
    r = client.post(url, json={"order": 7, "sum": 120})
    assert (r.status_code, r.json()["error"]) == (401, "UNAUTHENTICATED")
    r = client.post(url, json={"order": 7}, headers={"X-Scenario-Token": token + "x"})
    assert r.status_code == 401
    headers = {"X-Scenario-Token": token, "Idempotency-Key": "pay-7"}
    first = client.post(url, json={"order": 7, "sum": 120}, headers=headers)
    again = client.post(url, json={"order": 7, "sum": 120}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    work(instance)
    deals = api.get("/catalogs/deals/records").json()["items"]
    assert [(d["values"]["name"], d["values"]["amount"]) for d in deals] == [("paid 7", 120)]
    rotated = api.post(f"/scenarios/{sc['id']}/token").json()["token"]
    assert client.post(url, json={}, headers={"X-Scenario-Token": token}).status_code == 401
    assert client.post(f"{url}?token={rotated}", json={}).status_code == 202
    api.patch(f"/scenarios/{sc['id']}", {"active": False})
    r = client.post(url, json={}, headers={"X-Scenario-Token": rotated})
    assert (r.status_code, r.json()["error"]) == (409, "CONFLICT")


def test_manual_runs_by_users_who_may_edit_the_record(api, client, instance, fixed_clock):
    deals_and_clients(api)
    headers = user_headers(api)
    sc = scenario(
        api,
        {
            "name": "Button",
            "trigger": {"type": "manual", "catalog": "deals"},
            "steps": [
                {"type": "update_record", "values": {"note": "pressed by {{ trigger.user.id }}"}}
            ],
        },
    )
    deal = api.record("deals", {"name": "D"})
    r = client.post(
        f"/api/v1/scenarios/{sc['id']}/run", json={"record_id": deal["id"]}, headers=headers
    )
    assert (r.status_code, r.json()["error"]) == (403, "FORBIDDEN")  # no right on deals
    r = api.post(f"/scenarios/{sc['id']}/run", {"record_id": deal["id"], "vars": {"a": 1}})
    assert r.status_code == 202
    work(instance)
    assert (
        api.get(f"/catalogs/deals/records/{deal['id']}").json()["values"]["note"] == "pressed by 1"
    )


def test_a_pass_sends_its_runs_emails_over_one_connection(
    api, instance, smtp, fixed_clock, monkeypatch
):
    controller, inbox = smtp
    deals_and_clients(api)
    body = {"host": "127.0.0.1", "port": controller.port, "from": "crm@example.com"}
    assert api.put("/settings/smtp", body).status_code == 200
    scenario(
        api,
        {
            "name": "Greeting",
            "trigger": {"type": "record.created", "catalog": "clients"},
            "steps": [
                {"type": "email", "to": "{{ record.email }}", "subject": "Hi", "text": "Hello"}
            ],
        },
    )
    opened = []

    class Counted(smtplib.SMTP):
        def __init__(self, *args: Any, **kw: Any) -> None:
            opened.append(args)
            super().__init__(*args, **kw)

    monkeypatch.setattr(mail.smtplib, "SMTP", Counted)
    api.records("clients", [{"name": f"C{i}", "email": f"c{i}@example.com"} for i in range(3)])
    work(instance)
    assert sorted(m.rcpt_tos[0] for m in inbox.messages) == [f"c{i}@example.com" for i in range(3)]
    assert len(opened) == 1


class _FakeSMTP:
    """An SMTP client that refuses the second message, or drops the line there."""

    fail: Exception = smtplib.SMTPRecipientsRefused({"b@example.com": (550, b"no such user")})

    def __init__(self, *args: Any, **kw: Any) -> None:
        self.sent: list[Any] = []

    def __enter__(self) -> _FakeSMTP:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def send_message(self, message: Any) -> None:
        if message["To"] == "b@example.com":
            raise self.fail
        self.sent.append(message)

    def rset(self) -> None:
        return None


def test_a_refused_message_fails_alone_and_a_dropped_line_fails_the_rest(monkeypatch):
    settings = {"host": "mail.example.com", "port": 25, "from": "crm@example.com"}
    messages = []
    for to in ("a@example.com", "b@example.com", "c@example.com"):
        message = {"to": [to], "subject": "s", "text": "t"}
        messages.append(mail.build(settings, message, f"<{to}>"))
    monkeypatch.setattr(mail.smtplib, "SMTP", _FakeSMTP)
    failures = mail.send_many(settings, messages)
    assert failures[0] is None and failures[2] is None
    assert "SMTPRecipientsRefused" in str(failures[1])
    monkeypatch.setattr(_FakeSMTP, "fail", smtplib.SMTPServerDisconnected("gone"))
    failures = mail.send_many(settings, messages)
    assert failures[0] is None
    assert [str(f) for f in failures[1:]] == ["SMTPServerDisconnected: gone"] * 2


def test_a_called_scenarios_failure_reads_in_the_callers_language(api, instance, fixed_clock):
    deals_and_clients(api)
    child = scenario(
        api,
        {
            "name": "Child",
            "trigger": {"type": "manual"},
            "steps": [{"type": "stop", "status": "error"}],
        },
    )
    call = {"type": "call", "scenario": child["id"], "wait": True}
    parent = scenario(api, {"name": "Parent", "trigger": {"type": "manual"}, "steps": [call]})
    assert api.post(f"/scenarios/{parent['id']}/run", {}).status_code == 202
    work(instance)
    [run] = runs(api, parent["id"])
    assert run["status"] == "failed", run
    assert run["steps"][-1]["error"] == "the called scenario ended failed: stopped"
    ru = api.client.get(
        api.url(f"/scenarios/{parent['id']}/runs/{run['id']}"), headers={"Accept-Language": "ru"}
    ).json()
    ended = "вызванный сценарий завершился со статусом failed: остановлен сценарием"
    assert ru["steps"][-1]["error"] == ended
    assert ru["error"] == f"шаг steps[0] (call): {ended}"
