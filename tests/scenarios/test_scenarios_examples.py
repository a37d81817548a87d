"""The ready scenarios in examples/scenarios/ install with one command and do their job."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from support.scenarios import fixed_clock, runs, work
from typer.testing import CliRunner

from kartoteka.cli import app as cli

__all__ = ["fixed_clock"]

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "scenarios").glob("*.json"))


def crm(api: Any) -> None:
    """The catalogs the examples are written for (docs/scenarios.md lists them)."""
    api.catalog(
        "Clients",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {"name": "Email", "api_name": "email", "type": "email"},
            {
                "name": "Plan",
                "api_name": "plan",
                "type": "select",
                "options": {"choices": ["Trial", "Paid"]},
            },
            {"name": "Logins", "api_name": "logins", "type": "number"},
            {"name": "Manager", "api_name": "manager", "type": "user"},
            {"name": "Birthday", "api_name": "birthday", "type": "date"},
            {"name": "Total", "api_name": "total", "type": "number"},
            {"name": "Deals", "api_name": "deals_count", "type": "number"},
        ],
        api_name="clients",
    )
    client_link = {"type": "link", "options": {"catalog": "clients"}}
    api.catalog(
        "Deals",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {"name": "Client", "api_name": "client", **client_link},
            {"name": "Amount", "api_name": "amount", "type": "number"},
            {
                "name": "Stage",
                "api_name": "stage",
                "type": "select",
                "options": {"choices": ["New", "Won", "Lost"]},
            },
            {"name": "Owner", "api_name": "owner", "type": "user"},
        ],
        api_name="deals",
    )
    deal_link = {"type": "link", "options": {"catalog": "deals"}}
    api.catalog(
        "Invoices",
        [
            {"name": "Deal", "api_name": "deal", **deal_link},
            {"name": "Amount", "api_name": "amount", "type": "number"},
            {
                "name": "Status",
                "api_name": "status",
                "type": "select",
                "options": {"choices": ["Draft", "Sent", "Paid"]},
            },
        ],
        api_name="invoices",
    )
    api.catalog(
        "Tasks",
        [
            {"name": "Title", "api_name": "title", "type": "text"},
            {"name": "Deal", "api_name": "deal", **deal_link},
            {"name": "Due", "api_name": "due", "type": "date"},
            {"name": "Assignee", "api_name": "assignee", "type": "user"},
        ],
        api_name="tasks",
    )
    api.catalog(
        "Licenses",
        [
            {"name": "Client", "api_name": "client", **client_link},
            {"name": "Product", "api_name": "product", "type": "text"},
            {"name": "Expires", "api_name": "expires", "type": "date"},
        ],
        api_name="licenses",
    )
    api.catalog(
        "Tickets",
        [
            {"name": "Subject", "api_name": "subject", "type": "text"},
            {"name": "Client", "api_name": "client", **client_link},
            {
                "name": "Priority",
                "api_name": "priority",
                "type": "select",
                "options": {"choices": ["Low", "Normal", "High"]},
            },
        ],
        api_name="tickets",
    )


def install(instance: Any) -> str:
    settings = instance.settings
    base = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        base += ["--database-url", settings.database_url]
    args = [*base, "scenarios", "install", "-w", settings.default_workspace, *map(str, EXAMPLES)]
    result = CliRunner().invoke(cli, args, env={"KARTOTEKA_LOG_FORMAT": "none"})
    assert result.exit_code == 0, result.output
    return result.output


def test_examples_install_and_work(api, instance, smtp, fixed_clock, tmp_path):
    controller, inbox = smtp
    crm(api)
    api.put(
        "/settings/smtp", {"host": "127.0.0.1", "port": controller.port, "from": "crm@example.com"}
    )
    output = install(instance)
    assert output.count("Installed scenario") == len(EXAMPLES) == 5
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",\n "trigger": }')
    settings = instance.settings
    base = ["--data-dir", str(settings.data_dir)] + (
        ["--database-url", settings.database_url] if settings.database_url else []
    )
    result = CliRunner().invoke(cli, [*base, "scenarios", "install", str(bad)])
    assert result.exit_code == 1 and "bad.json: line 2" in result.output
    by_name = {s["name"]: s for s in api.get("/scenarios").json()["items"]}

    # A trial client who never logs in, and one who does.
    idle = api.record(
        "clients",
        {
            "name": "Idle",
            "email": "idle@example.com",
            "plan": "Trial",
            "manager": 1,
            "birthday": "1985-03-05",
        },
    )
    busy = api.record("clients", {"name": "Busy", "email": "busy@example.com", "plan": "Trial"})
    work(instance)
    api.patch(f"/catalogs/clients/records/{busy['id']}", {"values": {"logins": 12}})
    # Deals: created for a client (totals), then won (invoice and task).
    deal = api.record("deals", {"name": "Big", "client": [idle["id"]], "amount": 300, "owner": 1})
    api.record("deals", {"name": "Small", "client": [idle["id"]], "amount": 20, "stage": "Won"})
    work(instance)
    assert api.get(f"/catalogs/clients/records/{idle['id']}").json()["values"]["total"] == 20
    api.patch(f"/catalogs/deals/records/{deal['id']}", {"values": {"stage": "Won"}})
    work(instance)
    values = api.get(f"/catalogs/clients/records/{idle['id']}").json()["values"]
    assert (values["total"], values["deals_count"]) == (320, 2)
    [invoice] = api.get("/catalogs/invoices/records").json()["items"]
    assert invoice["values"]["amount"] == 300 and invoice["values"]["status"]["label"] == "Draft"
    [task] = api.get("/catalogs/tasks/records").json()["items"]
    assert task["values"]["title"] == f"Send invoice #{invoice['id']} for Big"
    assert task["values"]["assignee"]["id"] == 1
    # A licence expiring in 20 days: the ticket comes 14 days before, at 09:00.
    api.record("licenses", {"client": [idle["id"]], "product": "Pro", "expires": "2026-03-22"})

    fixed_clock.set(datetime(2026, 3, 5, 9, 30))  # Idle's birthday
    work(instance)
    assert [m.rcpt_tos for m in inbox.messages] == [["idle@example.com"]]
    assert "Happy birthday, Idle!" in inbox.messages[0].content.decode()

    fixed_clock.set(datetime(2026, 3, 8, 9, 30))  # 14 days before the licence expires
    work(instance)
    [ticket] = api.get("/catalogs/tickets/records").json()["items"]
    assert ticket["values"]["subject"] == "Licence Pro expires on 2026-03-22"
    assert ticket["values"]["priority"]["label"] == "High"

    fixed_clock.set(datetime(2026, 3, 9, 8, 1))  # a week after the trials began
    work(instance)
    follow_ups = [m for m in inbox.messages if "How is your trial going" in m.content.decode()]
    assert [m.rcpt_tos for m in follow_ups] == [["idle@example.com"]]
    notices = api.get("/notices").json()["items"]
    assert [n["title"] for n in notices] == ["Inactive trial: Idle"]
    comments = api.get(f"/catalogs/clients/records/{busy['id']}/comments").json()["items"]
    assert [c["text"] for c in comments] == ["Active trial: 12 logins in the first week."]
    for sc in by_name.values():
        assert {r["status"] for r in runs(api, sc["id"])} <= {"done"}, sc["name"]
    assert fixed_clock.now() - datetime(2026, 3, 2, 8) < timedelta(days=8)
