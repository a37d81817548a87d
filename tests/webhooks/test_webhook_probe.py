"""Rotating a webhook's secret and "send a test event" (the administration UI's buttons)."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import WebhookVerificationError
from support.webhooks import deals, deliveries, hook, verified


def test_rotate_secret_shows_the_new_one_once_and_signs_with_it(api, instance, receiver):
    deals(api)
    created = hook(api, receiver.url("/hook"))
    r = api.post(f"/webhooks/{created['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    fresh = r.json()["secret"]
    assert fresh.startswith("whsec_") and fresh != created["secret"]
    assert "secret" not in api.get(f"/webhooks/{created['id']}").json()
    sent = api.post(f"/webhooks/{created['id']}/test").json()
    assert sent["ok"] is True
    request = receiver.at("/hook")[-1]
    assert verified(fresh, request)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        verified(created["secret"], request)


def test_test_event_reports_the_receivers_answer_and_queues_nothing(api, instance, receiver):
    deals(api)
    created = hook(api, receiver.url("/hook"), active=False)
    receiver.scripts["/hook"] = [(503, {"why": "down for maintenance"}, {})]
    r = api.post(f"/webhooks/{created['id']}/test")
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] is False and result["response_status"] == 503
    assert "down for maintenance" in result["response_body"]
    body = json.loads(result["request_body"])
    assert body == {**body, "type": "webhook.test", "test": True, "webhook_id": created["id"]}
    assert body["catalog"]["api_name"] == "deals"
    assert deliveries(instance, created["id"]) == []  # not an outbox event: nothing to retry


def test_test_event_to_a_dead_address_says_why(api, receiver):
    deals(api)
    url = receiver.url("/hook")
    created = hook(api, url)
    receiver.close()
    result = api.post(f"/webhooks/{created['id']}/test").json()
    assert result["ok"] is False and result["response_status"] is None
    assert result["error"]


def test_rotate_and_test_are_for_administrators_of_existing_webhooks(api, client):
    assert api.post("/webhooks/999/rotate-secret").json()["error"] == "NOT_FOUND"
    assert api.post("/webhooks/999/test").status_code == 404
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "user-pass-123"})
    token = client.post(
        "/api/v1/auth/login", json={"email": "u@example.com", "password": "user-pass-123"}
    ).json()["token"]
    r = client.post("/api/v1/webhooks/1/test", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
