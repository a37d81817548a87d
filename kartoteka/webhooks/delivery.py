"""Sending one signed webhook message and deciding what happens after the answer."""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from kartoteka.config import Settings

from . import signing
from .addresses import private_address_problem

#: Seconds before attempt 1, 2, 3...: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_TIMEOUT = 10.0
EXCERPT_BYTES = 2048
MAX_RETRY_AFTER = 24 * 3600
JITTER = 0.1


def retry_schedule(settings: Settings) -> tuple[float, ...]:
    """The configured retry schedule (`webhook_retry_schedule`, seconds per attempt)."""
    return tuple(getattr(settings, "webhook_retry_schedule", None) or DEFAULT_SCHEDULE)


def delivery_timeout(settings: Settings) -> float:
    """Seconds a notify receiver gets to answer (`webhook_timeout`)."""
    return float(getattr(settings, "webhook_timeout", None) or DEFAULT_TIMEOUT)


def make_client() -> httpx.Client:
    """An HTTP client for webhooks: no redirects (they could lead to private hosts).

    TCP_NODELAY because httpcore writes headers and body separately, and Nagle's
    algorithm would hold the body back for a delayed ACK on every message.
    """
    transport = httpx.HTTPTransport(
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        limits=httpx.Limits(max_connections=64),
    )
    return httpx.Client(
        transport=transport,
        follow_redirects=False,
        headers={"user-agent": "Kartoteka-Webhooks/1"},
    )


@dataclass
class Outcome:
    """What one attempt gave: HTTP status (None when none came back), excerpt, error, timing."""

    status: int | None
    body: str
    error: str | None
    duration_ms: int
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """410: the receiver asks us to stop calling."""
        return self.status == 410


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date), capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    base = now or datetime.now(when.tzinfo)
    return max(0.0, min((when - base).total_seconds(), MAX_RETRY_AFTER))


def post_signed(
    client: httpx.Client,
    url: str,
    secret: str,
    msg_id: str,
    body: bytes,
    timeout: float,
    allow_private: bool,
) -> Outcome:
    """POST one signed message; never raises for network trouble (it becomes the outcome)."""
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    if not allow_private:
        problem = private_address_problem(url)
        if problem:
            return Outcome(None, "", f"refused: {problem}", took())
    try:
        response = client.post(
            url,
            content=body,
            headers=signing.headers(secret, msg_id, body),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )
    except httpx.TimeoutException:
        return Outcome(None, "", f"timed out after {timeout:g} s", took())
    except httpx.HTTPError as exc:
        return Outcome(None, "", f"{type(exc).__name__}: {exc}"[:500], took())
    excerpt = response.content[:EXCERPT_BYTES].decode("utf-8", "replace")
    return Outcome(
        response.status_code,
        excerpt,
        None,
        took(),
        parse_retry_after(response.headers.get("retry-after")),
    )


def next_attempt(
    attempts_done: int, schedule: tuple[float, ...], now: datetime, retry_after: float | None
) -> datetime | None:
    """When to try again after `attempts_done` failed attempts (None: give up).

    Backoff follows the schedule with +-10% jitter so receivers coming back up are
    not hit by every queued message in the same second; `Retry-After` wins when given.
    """
    if attempts_done >= len(schedule):
        return None
    if retry_after is not None:
        return now + timedelta(seconds=retry_after)
    delay = float(schedule[attempts_done])
    delay *= 1 + random.uniform(-JITTER, JITTER)
    return now + timedelta(seconds=max(0.0, delay))


def describe_failure(outcome: Outcome) -> str:
    """A one-line reason for the delivery log."""
    if outcome.error:
        return outcome.error
    return f"HTTP {outcome.status}"
