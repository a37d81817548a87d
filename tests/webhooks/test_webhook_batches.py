"""Notify webhooks with `batch_size`: several events per signed message, retried together."""

from __future__ import annotations

import json
from datetime import timedelta

from support.webhooks import deals, deliveries, hook, verified, work


def test_events_travel_in_batches_and_verify(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/b"), batch_size=3)
    assert wh["batch_size"] == 3
    api.records("deals", [{"name": f"D{i}"} for i in range(7)])
    assert work(instance) == 7
    # Messages go out concurrently: put them in sequence order before comparing.
    got = sorted(receiver.at("/b"), key=lambda r: json.loads(r["body"])["events"][0]["sequence"])
    assert len(got) == 3
    bodies = [verified(wh["secret"], r) for r in got]  # the reference verifier
    assert [b["type"] for b in bodies] == ["batch"] * 3
    assert [b["count"] for b in bodies] == [3, 3, 1]
    seqs = [e["sequence"] for b in bodies for e in b["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 7
    assert [e["values"]["name"] for b in bodies for e in b["events"]] == [f"D{i}" for i in range(7)]
    ids = [r["headers"]["webhook-id"] for r in got]
    assert ids[0] == f"batch_{seqs[0]}-{seqs[2]}_{wh['id']}" and len(set(ids)) == 3
    # Every event carries its loop-protection block; shared, it is repeated on top.
    assert bodies[0]["cause"] == {"webhooks": [wh["id"]], "depth": 1}
    assert "kartoteka-cause" in got[0]["headers"]
    assert {r.status for r in deliveries(instance, wh["id"])} == {"done"}


def test_a_failed_batch_is_retried_whole_and_logged_per_event(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/flaky"), batch_size=10)
    receiver.scripts["/flaky"] = [(503, None, {})]
    api.records("deals", [{"name": f"D{i}"} for i in range(4)])
    assert work(instance) == 4
    rows = deliveries(instance, wh["id"])
    assert {(r.status, r.attempts, r.last_status) for r in rows} == {("pending", 1, 503)}
    assert work(instance, timedelta(minutes=1)) == 4
    first, second = receiver.at("/flaky")
    assert json.loads(first["body"]) == json.loads(second["body"])
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert {r.status for r in deliveries(instance, wh["id"])} == {"done"}
    log = api.get(f"/webhooks/{wh['id']}/deliveries").json()["items"]
    assert len(log) == 4 and all(
        [a["response_status"] for a in d["log"]] == [503, 200] for d in log
    )


def test_batch_size_is_validated(api):
    deals(api)
    for bad in (0, 101, "3", True, 2.5):
        r = api.post("/webhooks", {"url": "http://127.0.0.1:9/x", "catalog": "deals",
                                   "batch_size": bad})  # fmt: skip
        assert (r.status_code, r.json()["error"]) == (422, "VALIDATION"), bad
        assert "batch_size" in r.json()["fields"]
    r = api.post(
        "/webhooks",
        {"url": "http://127.0.0.1:9/x", "catalog": "deals", "kind": "request", "batch_size": 2},
    )
    assert r.status_code == 422 and "notify" in r.json()["fields"]["batch_size"]
    wh = hook(api, "http://127.0.0.1:9/x")
    assert wh["batch_size"] == 1
    r = api.patch(f"/webhooks/{wh['id']}", {"batch_size": 50})
    assert (r.status_code, r.json()["batch_size"]) == (200, 50)
