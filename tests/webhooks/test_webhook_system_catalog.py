"""Webhooks are data (the `webhooks` system catalog) and loop protection, on a real receiver."""

from __future__ import annotations

import base64
import json
from typing import Any

import sqlalchemy as sa
from support.webhooks import deals, deliveries, hook, verified, work

from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow


def notes(api) -> dict[str, Any]:
    return api.catalog("Notes", [{"name": "Text", "type": "text"}])


def records(api, path: str = "/catalogs/webhooks/records", **params: Any) -> dict[str, Any]:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def events(instance) -> list[Any]:
    e = schema.events
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(e).order_by(e.c.seq)).all()


def echo(api, message: dict[str, Any]) -> dict[str, str]:
    """Headers a well-behaved receiver sends back: its credentials plus the cause header."""
    return {"kartoteka-cause": message["headers"]["kartoteka-cause"]}


def user_headers(api) -> dict[str, str]:
    r = api.post("/users", {"email": "u@example.com", "name": "U", "password": "long-password-1"})
    assert r.status_code == 201, r.text
    basic = base64.b64encode(b"u@example.com:long-password-1").decode()
    return {"Authorization": f"Basic {basic}"}


# ----- reading --------------------------------------------------------------------------------
def test_administrators_read_webhooks_as_records(api, receiver):
    deals(api)
    notify = hook(api, receiver.url("/n"), fields=["amount"])
    check = hook(api, receiver.url("/r"), kind="request", events=["record.before_delete"])
    [system] = [c for c in api.get("/catalogs").json()["items"] if c["api_name"] == "webhooks"]
    assert system["system"] is True and system["title_field"] == "url"
    assert {f["api_name"] for f in system["fields"]} >= {"url", "kind", "catalog", "events"}
    page = records(api, count="true")
    assert page["count"] == 2
    first = next(i for i in page["items"] if i["id"] == notify["id"])
    assert first["title"] == notify["url"]
    assert first["values"]["catalog"]["label"] == "deals"
    assert first["values"]["fields"] == ["amount"] and first["values"]["active"] is True
    assert first["values"]["events"] == ["record.created", "record.updated", "record.deleted"]
    # Filters, sorts and cursors are the records API's own.
    kind = json.dumps({"kind": {"eq": "request"}})
    assert [i["id"] for i in records(api, filter=kind)["items"]] == [check["id"]]
    evs = json.dumps({"events": {"contains": "before_delete"}, "catalog": {"eq": "deals"}})
    assert [i["id"] for i in records(api, filter=evs)["items"]] == [check["id"]]
    one = records(api, sort="-url", limit=1)
    rest = records(api, sort="-url", limit=1, cursor=one["next_cursor"])
    assert [one["items"][0]["id"], rest["items"][0]["id"]] == [check["id"], notify["id"]]
    assert rest["next_cursor"] is None
    got = api.get(f"/catalogs/webhooks/records/{check['id']}").json()
    assert got["values"]["kind"] == "request"
    history = api.get(f"/catalogs/webhooks/records/{check['id']}/history").json()["items"]
    assert [h["action"] for h in history] == ["create"]
    # The signing secret is never shown: not in lists, records, history nor the catalog.
    for text in (api.get("/catalogs/webhooks/records").text, json.dumps(history), str(system)):
        assert notify["secret"] not in text and check["secret"] not in text
        assert "secret" not in text


def test_non_administrators_cannot_see_the_webhooks_catalog(api, client, receiver):
    deals(api)
    hook(api, receiver.url("/n"))
    headers = user_headers(api)
    group = api.post("/groups", {"name": "All"}).json()["id"]
    users = api.get("/users").json()["items"]
    uid = next(u["id"] for u in users if u["email"] == "u@example.com")
    api.patch(f"/users/{uid}", {"groups": [group]})
    # Rights on it cannot even be granted: system catalogs are for administrators.
    r = api.put("/catalogs/webhooks/rights", {"groups": {str(group): {"view": True}}})
    assert (r.status_code, r.json()["error"]) == (403, "FORBIDDEN")
    assert api.get("/catalogs/webhooks/rights").status_code == 403
    listed = client.get("/api/v1/catalogs", headers=headers).json()["items"]
    assert "webhooks" not in {c["api_name"] for c in listed}
    for path in ("/catalogs/webhooks/records", "/catalogs/webhooks/records/1"):
        r = client.get("/api/v1" + path, headers=headers)
        assert (r.status_code, r.json()["error"]) == (403, "FORBIDDEN")


def test_a_token_scoped_to_other_catalogs_does_not_reach_webhooks(api, client, receiver):
    catalog = deals(api)
    hook(api, receiver.url("/n"))
    r = api.post("/auth/tokens", {"name": "deals only", "scopes": {"catalogs": [catalog["id"]]}})
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.get("/api/v1/catalogs/webhooks/records", headers=headers)
    assert (r.status_code, r.json()["error"]) == (403, "FORBIDDEN")


# ----- writing is refused ----------------------------------------------------------------------
def test_records_api_and_structure_changes_are_refused(api, receiver):
    deals(api)
    wh = hook(api, receiver.url("/n"))
    base = "/catalogs/webhooks/records"
    for method, path, body in [
        ("post", base, {"values": {"url": "http://example.com/"}}),
        ("patch", f"{base}/{wh['id']}", {"values": {"active": False}}),
        ("delete", f"{base}/{wh['id']}", None),
        ("post", f"{base}/batch", {"delete": [wh["id"]]}),
    ]:
        r = api.client.request(method.upper(), api.url(path), json=body)
        assert (r.status_code, r.json()["error"]) == (403, "FORBIDDEN"), path
        assert "/api/v1/webhooks" in r.json()["message"]
    assert api.get(f"/webhooks/{wh['id']}").json()["active"] is True
    for method, path, body in [
        ("patch", "/catalogs/webhooks", {"name": "Hooks"}),
        ("delete", "/catalogs/webhooks", None),
        ("post", "/catalogs/webhooks/fields", {"name": "Extra", "type": "text"}),
        ("patch", "/catalogs/webhooks/fields/url", {"name": "Link"}),
    ]:
        r = api.client.request(method.upper(), api.url(path), json=body)
        assert (r.status_code, r.json()["error"]) == (403, "FORBIDDEN"), path
    r = api.post("/catalogs", {"name": "Webhooks", "api_name": "webhooks"})
    assert (r.status_code, r.json()["error"]) == (409, "CONFLICT")
    r = api.post(
        "/catalogs/deals/fields",
        {"name": "Hook", "type": "link", "options": {"catalog": "webhooks"}},
    )
    assert r.status_code == 422
    # Request and action webhooks would never be called for webhook changes.
    r = api.post("/webhooks", {"url": receiver.url("/x"), "catalog": "webhooks", "kind": "request"})
    assert (r.status_code, r.json()["fields"]) == (422, {"kind": "only notify on this catalog"})


# ----- webhook changes are events ------------------------------------------------------------
def test_a_notify_webhook_on_webhooks_hears_webhooks_change(api, instance, receiver):
    deals(api)
    watcher = api.post("/webhooks", {"url": receiver.url("/w"), "catalog": "webhooks"}).json()
    created = hook(api, receiver.url("/one"), fields=["name"])
    api.record("deals", {"name": "between"})
    assert api.patch(f"/webhooks/{created['id']}", {"url": receiver.url("/two")}).status_code == 200
    assert api.patch(f"/webhooks/{created['id']}", {"url": receiver.url("/two")}).status_code == 200
    assert api.delete(f"/webhooks/{created['id']}").status_code == 204
    work(instance)
    got = [verified(watcher["secret"], r) for r in receiver.at("/w")]
    got.sort(key=lambda p: p["sequence"])
    # Its own creation is not news to it; an unchanged PATCH is no event.
    assert [p["type"] for p in got] == ["record.created", "record.updated", "record.deleted"]
    new, changed, gone = got
    assert new["catalog"]["api_name"] == "webhooks" and new["record_id"] == created["id"]
    assert new["values"]["url"] == receiver.url("/one")
    assert new["values"]["catalog"]["label"] == "deals" and new["values"]["fields"] == ["name"]
    assert changed["values"] == {"url": receiver.url("/two")}
    assert changed["previous"] == {"url": receiver.url("/one")}
    assert gone["previous"]["url"] == receiver.url("/two") and gone["values"]["url"] is None
    # One workspace sequence for records and webhooks: contiguous, no gaps.
    seqs = [e.seq for e in events(instance)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and len(seqs) == 5
    for request in receiver.at("/w"):
        assert created["secret"].encode() not in request["body"]
        assert b"secret" not in request["body"]


# ----- loop protection -------------------------------------------------------------------------
def test_notify_messages_carry_the_cause_headers(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/n"))
    api.record("deals", {"name": "A"})
    work(instance)
    [request] = receiver.at("/n")
    payload = verified(wh["secret"], request)
    assert payload["cause"] == {"webhooks": [wh["id"]], "depth": 1}
    assert request["headers"]["kartoteka-depth"] == "1"
    assert request["headers"]["kartoteka-cause"].startswith(f"v1.{wh['id']}.")


def test_a_receiver_writing_back_does_not_hear_its_own_echo(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/sync"))

    def write_back(message: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        request = receiver.at("/sync")[-1]
        r = api.client.patch(
            api.url(f"/catalogs/deals/records/{message['record_id']}"),
            json={"values": {"note": f"synced {message['sequence']}"}},
            headers=echo(api, request),
        )
        assert r.status_code == 200, r.text
        return 200, None, {}

    receiver.handlers["/sync"] = write_back
    api.record("deals", {"name": "A"})
    for _ in range(4):
        work(instance)
    assert len(receiver.at("/sync")) == 1
    statuses = [(d.status, d.last_error) for d in deliveries(instance, wh["id"])]
    assert statuses[0] == ("done", None)
    assert statuses[1][0] == "skipped" and "own deliveries" in statuses[1][1]
    last = events(instance)[-1]
    assert (last.cause, last.depth) == (str(wh["id"]), 1)
    log = api.get(f"/webhooks/{wh['id']}/deliveries").json()["items"]
    assert [d["status"] for d in log] == ["skipped", "done"]


def test_a_forged_cause_header_is_ignored(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/audit"))
    rec = api.record("deals", {"name": "A"})
    forged = {"kartoteka-cause": f"v1.{wh['id']}.AAAAAAAAAAAAAAAAAAAAAA"}
    r = api.patch(f"/catalogs/deals/records/{rec['id']}", {"values": {"note": "x"}}, headers=forged)
    assert r.status_code == 200
    work(instance)
    assert [d.status for d in deliveries(instance, wh["id"])] == ["done", "done"]
    assert events(instance)[-1].depth == 0


def _ping_pong(api, receiver) -> tuple[dict[str, Any], dict[str, Any]]:
    """Webhook A on deals makes its receiver write a note; B on notes writes a deal back."""
    deals(api)
    notes(api)
    a = hook(api, receiver.url("/a"))
    b = api.post("/webhooks", {"url": receiver.url("/b"), "catalog": "notes"}).json()

    def to_notes(message: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        api.client.post(
            api.url("/catalogs/notes/records"),
            json={"values": {"text": "from a deal"}},
            headers=echo(api, receiver.at("/a")[-1]),
        )
        return 200, None, {}

    def to_deals(message: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        api.client.post(
            api.url("/catalogs/deals/records"),
            json={"values": {"name": "from a note"}},
            headers=echo(api, receiver.at("/b")[-1]),
        )
        return 200, None, {}

    receiver.handlers["/a"] = to_notes
    receiver.handlers["/b"] = to_deals
    return a, b


def test_two_webhooks_ping_ponging_stop_when_the_chain_comes_back(api, instance, receiver):
    a, b = _ping_pong(api, receiver)
    api.record("deals", {"name": "start"})
    for _ in range(6):
        work(instance)
    assert (len(receiver.at("/a")), len(receiver.at("/b"))) == (1, 1)
    assert [d.status for d in deliveries(instance, a["id"])] == ["done", "skipped"]
    # (The first events are the two webhooks' creation.)
    assert [(e.cause, e.depth) for e in events(instance)[-3:]] == [
        (None, 0),
        (str(a["id"]), 1),
        (f"{a['id']}-{b['id']}", 2),
    ]
    second = json.loads(receiver.at("/b")[0]["body"])
    assert second["cause"] == {"webhooks": [a["id"], b["id"]], "depth": 2}


def test_the_depth_limit_stops_a_chain_of_distinct_webhooks(api, instance, receiver, settings):
    settings.webhook_max_depth = 1
    a, b = _ping_pong(api, receiver)
    api.record("deals", {"name": "start"})
    for _ in range(4):
        work(instance)
    assert (len(receiver.at("/a")), len(receiver.at("/b"))) == (1, 0)
    [row] = deliveries(instance, b["id"])
    assert row.status == "skipped" and "KARTOTEKA_WEBHOOK_MAX_DEPTH" in row.last_error


def test_a_request_webhook_writing_back_is_not_asked_again(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/check"), kind="request", events=["record.before_create"])
    calls: list[dict[str, Any]] = []

    def create_another(message: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        calls.append(message)
        if len(calls) > 3:  # without loop protection it would never end
            return 200, {"allow": False, "message": "recursing"}, {}
        r = api.client.post(
            api.url("/catalogs/deals/records"),
            json={"values": {"name": "made by the check"}},
            headers=echo(api, receiver.at("/check")[-1]),
        )
        assert r.status_code == 201, r.text
        return 200, {"allow": True}, {}

    receiver.handlers["/check"] = create_another
    assert api.post("/catalogs/deals/records", {"values": {"name": "typed"}}).status_code == 201
    assert len(calls) == 1 and calls[0]["cause"] == {"webhooks": [wh["id"]], "depth": 1}
    assert receiver.at("/check")[0]["headers"]["kartoteka-depth"] == "1"
    names = sorted(i["values"]["name"] for i in records(api, "/catalogs/deals/records")["items"])
    assert names == ["made by the check", "typed"]


def test_past_the_depth_limit_a_write_needing_a_request_webhook_is_refused(api, receiver, settings):
    settings.webhook_max_depth = 1
    deals(api)
    hook(api, receiver.url("/first"), kind="request", events=["record.before_create"])
    hook(api, receiver.url("/second"), kind="request", events=["record.before_create"])
    answers: list[Any] = []

    def write_back(message: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if message["values"]["name"] == "typed":
            r = api.client.post(
                api.url("/catalogs/deals/records"),
                json={"values": {"name": "made by the first check"}},
                headers=echo(api, receiver.at("/first")[-1]),
            )
            answers.append(r.json())
        return 200, {"allow": True}, {}

    receiver.handlers["/first"] = write_back
    assert api.post("/catalogs/deals/records", {"values": {"name": "typed"}}).status_code == 201
    # The echoed write would have needed the second check at depth 1: refused, not unchecked.
    [answer] = answers
    assert answer["error"] == "REJECTED" and "loop protection" in answer["message"]
    assert len(receiver.at("/second")) == 1


def test_migration_0007_renames_a_user_catalog_called_webhooks(instance):
    from alembic import command

    from kartoteka.storage.engine import (
        alembic_config,
        current_revision,
        head_revision,
        upgrade_workspace,
    )

    ws = instance.create_workspace(f"{instance.settings.default_workspace}old")
    c = schema.catalogs
    # Back to the schema before 0007 through the migrations' own downgrades, so the test
    # keeps working as later migrations are added.
    with ws.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006")
    with ws.engine.begin() as conn:
        conn.execute(
            sa.insert(c).values(
                name="My webhooks", api_name="webhooks", position=0, options={}, created_at=utcnow()
            )
        )
    upgrade_workspace(ws.engine)
    assert current_revision(ws.engine) == head_revision()
    with ws.engine.connect() as conn:
        rows = {r.api_name: r.options for r in conn.execute(sa.select(c))}
    assert rows == {"webhooks_2": {}, "webhooks": {"system": "webhooks"}}
