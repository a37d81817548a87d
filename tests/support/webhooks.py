"""Webhook test helpers: signature checks, a catalog and a hook, deliveries, a worker pass.

The loopback receiver itself is `support.receiver.Receiver` (re-exported here).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow
from kartoteka.workers import run_once
from support.receiver import Receiver, Reply

__all__ = ["Receiver", "Reply", "deals", "deliveries", "hook", "verified", "work"]


def verified(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    """The payload, after the reference library checked the Standard Webhooks signature."""
    return Webhook(secret).verify(request["body"], request["headers"])


def deals(api) -> dict[str, Any]:
    return api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Amount", "type": "number"},
            {"name": "Note", "type": "text"},
        ],
    )


def hook(api, url: str, **extra: Any) -> dict[str, Any]:
    r = api.post("/webhooks", {"url": url, "catalog": "deals", **extra})
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(instance, webhook_id: int) -> list[Any]:
    d = schema.webhook_deliveries
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.connect() as conn:
        return conn.execute(
            sa.select(d).where(d.c.webhook_id == webhook_id).order_by(d.c.event_seq)
        ).all()


def work(instance, later: timedelta | None = None) -> int:
    now = utcnow() + later if later else None
    return run_once(instance, instance.settings.default_workspace, now=now)
