"""Sending a test event: one signed message to a webhook's receiver, answered at once.

The message is not an event of the outbox (no sequence number, nothing queued, no
retry); it shows an administrator whether the URL, the network path and the
receiver's signature check work, with the receiver's answer.
"""

from __future__ import annotations

from typing import Any

import orjson

from kartoteka.context import Actor
from kartoteka.storage.engine import utcnow

from . import request_hooks, service
from .delivery import delivery_timeout

#: The `type` of a test message; receivers should answer 2xx and do nothing else.
TEST_TYPE = "webhook.test"


def test_body(actor: Actor, hook: dict[str, Any]) -> bytes:
    """The JSON body of a test message for `hook`."""
    catalog = actor.workspace.meta().catalog(hook["catalog_id"])
    return orjson.dumps(
        {
            "type": TEST_TYPE,
            "timestamp": utcnow().isoformat(timespec="seconds") + "Z",
            "webhook_id": hook["id"],
            "kind": hook["kind"],
            "catalog": {
                "id": hook["catalog_id"],
                "api_name": catalog.api_name if catalog is not None else None,
            },
            "user": {"id": actor.user_id},
            "test": True,
        }
    )


def send_test_event(actor: Actor, webhook_id: int) -> dict[str, Any]:
    """POST a signed test message to the webhook's URL now and report the receiver's answer.

    Works for inactive webhooks too: checking the receiver before switching it back on
    is what the button is for.
    """
    hook = service.signing_target(actor, webhook_id)
    body = test_body(actor, hook)
    settings = actor.workspace.settings
    outcome = request_hooks.post_to_hook(hook, body, delivery_timeout(settings), settings)
    return {
        "webhook_id": webhook_id,
        "ok": outcome.ok,
        "request_body": body.decode(),
        "response_status": outcome.status,
        "response_body": outcome.body,
        "error": outcome.error,
        "failure": outcome.failure,
        "duration_ms": outcome.duration_ms,
    }
