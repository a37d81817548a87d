"""Standard Webhooks signatures: `whsec_` secrets and `v1,` HMAC-SHA256 headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

import orjson

SECRET_PREFIX = "whsec_"
#: Loop protection (docs/webhooks.md): receivers echo this header on the API calls a
#: message makes them do; the depth header is for their information.
CAUSE_HEADER = "kartoteka-cause"
DEPTH_HEADER = "kartoteka-depth"
CAUSE_VERSION = "v1"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_...` secret stands for."""
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one message."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def cause_token(secret: str, chain: Sequence[int]) -> str:
    """The `kartoteka-cause` value for a message of the last webhook of `chain`.

    `v1.<webhook ids, oldest first, joined by '-'>.<128-bit HMAC>`, keyed with that
    webhook's secret: only its receivers (and administrators) can produce it, so
    nobody can hide their writes from a webhook by claiming its deliveries caused them.
    """
    text = "-".join(str(int(i)) for i in chain)
    to_sign = f"kartoteka-cause.{CAUSE_VERSION}.{text}".encode()
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()[:16]
    mac = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return f"{CAUSE_VERSION}.{text}.{mac}"


def cause_headers(secret: str, body: bytes) -> dict[str, str]:
    """Loop-protection headers restating, signed, the body's `cause` block (none without one)."""
    if b'"cause"' not in body:
        return {}
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    cause = payload.get("cause") if isinstance(payload, dict) else None
    chain = cause.get("webhooks") if isinstance(cause, dict) else None
    if not isinstance(chain, list) or not chain or not all(type(i) is int for i in chain):
        return {}
    return {CAUSE_HEADER: cause_token(secret, chain), DEPTH_HEADER: str(len(chain))}


def headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers, the JSON content type and the cause headers."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
        **cause_headers(secret, body),
    }
