"""Sending one signed webhook message and deciding what happens after the answer.

Two senders share the signing, the SSRF check and the outcome rules: `post_signed`
(httpx, blocking; request and action webhooks, one call per save) and
`post_signed_async` (the asyncio client of `http1`, many in flight; notify deliveries,
driven by a `NotifyClient`).
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from kartoteka.config import Settings
from kartoteka.observability import context as request_context
from kartoteka.observability import metrics

from . import http1, signing
from .addresses import private_address_problem
from .proxy import Proxies

#: Seconds before attempt 1, 2, 3...: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_TIMEOUT = 10.0
EXCERPT_BYTES = 2048
MAX_RETRY_AFTER = 24 * 3600
JITTER = 0.1
#: How long one host's SSRF verdict (its DNS answer) is reused. Short, so a DNS change
#: to a private address is noticed within seconds; the lookup was a quarter of the
#: CPU time of a delivery to a local receiver.
ADDRESS_CACHE_SECONDS = 2.0
CONNECT_TIMEOUT = 5.0
_T = TypeVar("_T")


def retry_schedule(settings: Settings) -> tuple[float, ...]:
    """The configured retry schedule (`webhook_retry_schedule`, seconds per attempt)."""
    return tuple(getattr(settings, "webhook_retry_schedule", None) or DEFAULT_SCHEDULE)


def delivery_timeout(settings: Settings) -> float:
    """Seconds a notify receiver gets to answer (`webhook_timeout`)."""
    return float(getattr(settings, "webhook_timeout", None) or DEFAULT_TIMEOUT)


def make_client(proxy: str | None = None) -> httpx.Client:
    """An HTTP client for webhooks: no redirects (they could lead to private hosts).

    TCP_NODELAY because httpcore writes headers and body separately, and Nagle's
    algorithm would hold the body back for a delayed ACK on every message. `proxy`
    (an http:// URL) sends every call through it; the environment is not consulted
    here (`webhooks.proxy` decides per target, NO_PROXY included).
    """
    transport = httpx.HTTPTransport(
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        limits=httpx.Limits(max_connections=64),
        proxy=proxy,
    )
    return httpx.Client(
        transport=transport,
        follow_redirects=False,
        headers={"user-agent": "Kartoteka-Webhooks/1"},
    )


_proxied_clients: dict[str, httpx.Client] = {}
_proxied_lock = threading.Lock()


def _client_through(proxy: str) -> httpx.Client:
    """One shared client per proxy URL for the calls that go through it."""
    with _proxied_lock:
        client = _proxied_clients.get(proxy)
        if client is None:
            client = _proxied_clients[proxy] = make_client(proxy)
        return client


@dataclass
class Outcome:
    """What one attempt gave: HTTP status (None when none came back), excerpt, error, timing."""

    status: int | None
    body: str
    error: str | None
    duration_ms: int
    retry_after: float | None = None
    #: Why no answer came: "refused" (the address guard), "timeout" or "network".
    failure: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """410: the receiver asks us to stop calling."""
        return self.status == 410

    @classmethod
    def failed(cls, error: str, duration_ms: int, failure: str = "network") -> Outcome:
        """No answer: refused before sending, timed out, or a network error."""
        return cls(None, "", error[:500], duration_ms, failure=failure)

    @classmethod
    def answered(
        cls, status: int, body: bytes, retry_after: str | None, duration_ms: int
    ) -> Outcome:
        """An HTTP answer: its status, a body excerpt and its `Retry-After`."""
        excerpt = body[:EXCERPT_BYTES].decode("utf-8", "replace")
        return cls(status, excerpt, None, duration_ms, parse_retry_after(retry_after))


def outcome_label(outcome: Outcome) -> str:
    """The metrics label of an attempt: delivered, http_error, network_error or refused."""
    if outcome.ok:
        return "delivered"
    if outcome.status is not None:
        return "http_error"
    return "refused" if outcome.failure == "refused" else "network_error"


def count_attempt(kind: str, outcome: Outcome) -> None:
    """Feed one attempt to the webhook metrics (`kind`: notify or request)."""
    answered = outcome.duration_ms / 1000 if outcome.status is not None else None
    metrics.webhook_attempt(kind, outcome_label(outcome), answered)


def with_request_id(headers: dict[str, str], rid: str | None) -> dict[str, str]:
    """`headers` plus the `X-Request-ID` of the API request this call is made for, if any."""
    if rid is not None:
        headers[request_context.HEADER.lower()] = rid
    return headers


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


_address_verdicts: dict[tuple[str, int], tuple[float, str | None]] = {}
_address_lock = threading.Lock()


def _address_key(url: str) -> tuple[str, int] | None:
    try:
        origin, _ = http1.Origin.of(url)
    except (http1.HTTPError, ValueError):
        return None
    return origin.host, origin.port


def cached_address_problem(url: str) -> tuple[bool, str | None]:
    """(known, problem): the SSRF verdict on the URL's host if looked up in the last seconds."""
    key = _address_key(url)
    with _address_lock:
        hit = _address_verdicts.get(key) if key else None
    if hit is not None and hit[0] > time.monotonic():
        return True, hit[1]
    return False, None


def address_problem(url: str) -> str | None:
    """Why `url` may not be called (see `addresses`), the host's answer cached briefly."""
    known, problem = cached_address_problem(url)
    if known:
        return problem
    problem = private_address_problem(url)
    key = _address_key(url)
    if key is not None:
        with _address_lock:
            _address_verdicts[key] = (time.monotonic() + ADDRESS_CACHE_SECONDS, problem)
    return problem


def post_signed(
    client: httpx.Client,
    url: str,
    secret: str,
    msg_id: str,
    body: bytes,
    timeout: float,
    allow_private: bool,
    proxies: Proxies | None = None,
) -> Outcome:
    """POST one signed message; never raises for network trouble (it becomes the outcome).

    Goes through the proxy `proxies` names for the URL, if any (the address guard
    still judges the URL). Counted in the webhook metrics as kind `request`.
    """
    try:
        proxy = proxies.url_for(url) if proxies is not None else None
    except http1.HTTPError as exc:
        outcome = Outcome.failed(str(exc), 0)
    else:
        if proxy is not None:
            client = _client_through(proxy)
        outcome = _post_signed(client, url, secret, msg_id, body, timeout, allow_private)
    count_attempt("request", outcome)
    return outcome


def _post_signed(
    client: httpx.Client,
    url: str,
    secret: str,
    msg_id: str,
    body: bytes,
    timeout: float,
    allow_private: bool,
) -> Outcome:
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    if not allow_private:
        problem = address_problem(url)
        if problem:
            return Outcome.failed(f"refused: {problem}", took(), "refused")
    try:
        response = client.post(
            url,
            content=body,
            headers=with_request_id(
                signing.headers(secret, msg_id, body), request_context.request_id()
            ),
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        )
    except httpx.TimeoutException:
        return Outcome.failed(f"timed out after {timeout:g} s", took(), "timeout")
    except httpx.HTTPError as exc:
        return Outcome.failed(f"{type(exc).__name__}: {exc}", took())
    return Outcome.answered(
        response.status_code, response.content, response.headers.get("retry-after"), took()
    )


async def _async_address_problem(url: str) -> str | None:
    known, problem = cached_address_problem(url)
    if known:
        return problem
    # A DNS lookup blocks; off the loop it cannot hold up the messages in flight.
    return await asyncio.get_running_loop().run_in_executor(None, address_problem, url)


async def post_signed_async(
    pool: http1.Pool,
    url: str,
    secret: str,
    msg_id: str,
    body: bytes,
    timeout: float,
    allow_private: bool,
    start_by: float | None = None,
    proxies: Proxies | None = None,
    request_id: str | None = None,
) -> Outcome | None:
    """`post_signed` on the asyncio client: the same checks, headers and outcomes.

    None when the message's turn for a connection came after `start_by` (monotonic
    time) and nothing was sent.
    """
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    if not allow_private:
        problem = await _async_address_problem(url)
        if problem:
            return Outcome.failed(f"refused: {problem}", took(), "refused")

    def headers() -> dict[str, str]:
        nonlocal started
        started = time.perf_counter()  # the attempt's duration excludes the queue
        return with_request_id(signing.headers(secret, msg_id, body), request_id)

    connect = min(timeout, CONNECT_TIMEOUT)
    try:
        proxy = proxies.for_url(url) if proxies is not None else None
        response = await pool.post(
            url, headers, body, timeout, connect, EXCERPT_BYTES, start_by, proxy
        )
    except http1.NotStarted:
        return None
    except TimeoutError:
        return Outcome.failed(f"timed out after {timeout:g} s", took(), "timeout")
    except http1.HTTPError as exc:
        return Outcome.failed(f"{type(exc).__name__}: {exc}", took())
    return Outcome.answered(
        response.status, response.body, response.headers.get("retry-after"), took()
    )


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # lazy: optional speed-up, absent on some platforms
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class NotifyClient:
    """An event loop and a keep-alive connection pool for notify deliveries.

    Owned by one thread (a worker's), which drives it with `run`; the loop runs only
    inside `run`, and idle connections wait in the pool between calls. Blocking
    database work scheduled with `in_thread` runs on two helper threads.
    """

    def __init__(self, max_connections: int = http1.MAX_CONNECTIONS) -> None:
        self.loop = _new_loop()
        self.executor = ThreadPoolExecutor(2, thread_name_prefix="kt-webhook-db")
        self.loop.set_default_executor(self.executor)
        self.pool = http1.Pool(max_connections)

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine on the client's loop until it is done."""
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        """Close the connections, the loop and its threads."""
        if self.loop.is_closed():
            return
        self.run(self.pool.aclose())
        self.loop.close()
        self.executor.shutdown(wait=True)

    def __enter__(self) -> NotifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_notify_client() -> NotifyClient:
    """A `NotifyClient` with the default pool size."""
    return NotifyClient()


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
    """A one-line reason for the delivery log: the English protocol detail."""
    if outcome.error:
        return outcome.error
    return f"HTTP {outcome.status}"


def failure_code(outcome: Outcome) -> tuple[str, dict[str, Any]] | None:
    """Why an attempt failed, as a message code and its parameters (None: delivered).

    Stored beside `describe_failure`'s English detail, so the delivery log says why in
    the reader's language and keeps the protocol's own words as the detail.
    """
    if outcome.ok:
        return None
    if outcome.gone:
        return "delivery_gone", {}
    if outcome.status is not None:
        return "delivery_http_status", {"status": outcome.status}
    if outcome.failure in ("refused", "timeout"):
        return f"delivery_{outcome.failure}", {}
    return "delivery_network", {}
