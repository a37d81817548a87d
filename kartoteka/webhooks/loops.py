"""Loop protection: which webhook deliveries led to a write, and what that write may trigger.

Every message a webhook sends carries a `cause` block in its body (the chain of
webhook ids that led to it, this webhook last) and, signed, the same chain in the
`kartoteka-cause` header. A receiver that echoes the header on the API calls the
message makes it do gets those writes stamped with the chain (`Actor.cause`, then
`events.cause` and `events.depth`). From then on:

- a webhook never hears an event whose chain holds it (its own deliveries caused it,
  directly or through other webhooks), so any cycle of echoing receivers stops;
- an event whose chain is `webhook_max_depth` long or longer notifies nobody, which
  bounds chains through distinct webhooks and their fan-out.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

import sqlalchemy as sa

from kartoteka.context import Workspace
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from .signing import CAUSE_VERSION, cause_token

DEFAULT_MAX_DEPTH = 5
#: A longer chain in a header is refused outright (it cannot come from us).
MAX_CHAIN = 64
log = logging.getLogger("kartoteka.webhooks.loops")


def max_depth(settings: Any) -> int:
    """The configured depth limit (`webhook_max_depth`, at least 1)."""
    return max(1, int(getattr(settings, "webhook_max_depth", None) or DEFAULT_MAX_DEPTH))


def chain_text(chain: tuple[int, ...]) -> str | None:
    """How a chain is stored in `events.cause` ('7-12'; None when empty)."""
    return "-".join(str(i) for i in chain) or None


def parse_chain(text: str | None) -> tuple[int, ...]:
    """Inverse of `chain_text`; anything malformed is an empty chain."""
    if not text:
        return ()
    parts = text.split("-")
    if len(parts) > MAX_CHAIN or not all(p.isdecimal() and len(p) < 12 for p in parts):
        return ()
    return tuple(int(p) for p in parts)


def message_cause(chain: tuple[int, ...], webhook_id: int) -> dict[str, Any]:
    """The `cause` block of a message webhook `webhook_id` sends for a change with `chain`."""
    webhooks = [*chain, webhook_id]
    return {"webhooks": webhooks, "depth": len(webhooks)}


def verify_cause(ws: Workspace, token: str) -> tuple[int, ...]:
    """The chain a `kartoteka-cause` header stands for; () when it does not verify.

    An unverifiable header is ignored rather than refused: the write goes on as a
    direct one, and a forged header can never suppress another webhook's deliveries.
    """
    version, _, rest = token.strip().partition(".")
    text, _, _mac = rest.rpartition(".")
    chain = parse_chain(text)
    if version != CAUSE_VERSION or not chain or len(set(chain)) != len(chain):
        return ()
    w = schema.webhooks
    with read_connection(ws.engine) as conn:
        secret = conn.execute(sa.select(w.c.secret).where(w.c.id == chain[-1])).scalar()
    if secret is None or not hmac.compare_digest(cause_token(secret, chain), token.strip()):
        log.info("ignored an unverifiable kartoteka-cause header in workspace %s", ws.name)
        return ()
    return chain


def skip_code(
    webhook_id: int, chain: tuple[int, ...], depth: int, limit: int
) -> tuple[str, dict[str, Any]] | None:
    """Why loop protection keeps an event with `chain` from webhook `webhook_id`, as a
    message code and its parameters (None: send)."""
    if webhook_id in chain:
        return "delivery_skipped_own", {}
    if depth >= limit:
        return "delivery_skipped_depth", {"depth": depth, "limit": limit}
    return None
