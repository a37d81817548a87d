"""The Prometheus metrics of a Kartoteka process, and the one-line calls that feed them.

Services call the small functions below (`webhook_attempt`, `import_finished`...); they
know nothing about HTTP or about how the metrics are served. With several processes
(uvicorn `--workers N`, separate `kartoteka worker`s) set `PROMETHEUS_MULTIPROC_DIR`
before start: prometheus-client then keeps every process's values in files there and
one scrape of any process sums them (docs/operations.md, "Metrics").
"""

from __future__ import annotations

import atexit
import threading
import time
from bisect import bisect_left

from prometheus_client import Counter, Gauge, Histogram

#: Seconds; from a cached GET (~1 ms) to a slow import upload or export.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Seconds a webhook receiver took to answer (the timeout is 10 s by default).
RECEIVER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "kartoteka_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "kartoteka_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMIT_REFUSALS = Counter(
    "kartoteka_rate_limit_refusals",
    "Requests refused with 429 by the request limits, by limit (address or account).",
    ["limit"],
)
LOGIN_THROTTLED = Counter(
    "kartoteka_login_throttled",
    "Login attempts refused without checking the password (failed-login slow-down).",
)
WEBHOOK_ATTEMPTS = Counter(
    "kartoteka_webhook_attempts",
    "Webhook calls by kind (notify, request) and outcome "
    "(delivered, http_error, network_error, refused).",
    ["kind", "outcome"],
)
WEBHOOK_RECEIVER_SECONDS = Histogram(
    "kartoteka_webhook_receiver_seconds",
    "Time a webhook receiver took to answer (answered calls only).",
    ["kind"],
    buckets=RECEIVER_BUCKETS,
)
IMPORT_JOBS = Counter("kartoteka_import_jobs", "Import jobs finished, by final status.", ["status"])
IMPORT_ROWS = Counter(
    "kartoteka_import_rows",
    "Rows handled by finished import jobs, by result (created, updated, unchanged, errors).",
    ["result"],
)
LIVE_CONNECTIONS = Gauge(
    "kartoteka_live_connections",
    "Open live-feed (server-sent events) connections.",
    multiprocess_mode="livesum",
)


def webhook_attempt(kind: str, outcome: str, receiver_seconds: float | None) -> None:
    """Count one webhook call; `receiver_seconds` when the receiver answered."""
    WEBHOOK_ATTEMPTS.labels(kind, outcome).inc()
    if receiver_seconds is not None:
        WEBHOOK_RECEIVER_SECONDS.labels(kind).observe(receiver_seconds)


def import_finished(status: str, rows: dict[str, int]) -> None:
    """Count a finished import job and its rows by result."""
    IMPORT_JOBS.labels(status).inc()
    for result, count in rows.items():
        if count:
            IMPORT_ROWS.labels(result).inc(count)


def login_throttled() -> None:
    """Count a login refused by the failed-login slow-down."""
    LOGIN_THROTTLED.inc()


def live_opened() -> None:
    """A live-feed connection opened."""
    LIVE_CONNECTIONS.inc()


def live_closed() -> None:
    """A live-feed connection closed."""
    LIVE_CONNECTIONS.dec()


class RequestTally:
    """Request counts and durations gathered in plain memory, handed to prometheus-client in bulk.

    Counting every request straight into `HTTP_REQUESTS`/`HTTP_DURATION` costs 15-25 us
    per request in multiprocess mode (a lock and a shared-memory write per counter,
    sum and bucket). Here a request is one dict lookup and three additions under an
    uncontended lock; `flush` moves the totals into the metrics once a second (a
    daemon thread), at every scrape of this process, and at exit, so a scrape sees
    this process's requests at once and other workers' within a second.

    `flush` adds n observations to a bucket in one call through the histogram child's
    `_sum` and `_buckets` values (prometheus-client has no public bulk observe; the
    pinned version's layout is checked by tests/observability: a tallied histogram must
    expose exactly what `observe` one by one gives).
    """

    FLUSH_SECONDS = 1.0

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], list[float]] = {}
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._width = len(LATENCY_BUCKETS) + 1  # the last bucket is +Inf

    def add(self, method: str, route: str, status: str, seconds: float) -> None:
        """Count one request that took `seconds`."""
        bucket = 2 + bisect_left(LATENCY_BUCKETS, seconds)  # the first bound >= seconds
        key = (method, route, status)
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = [0.0] * (2 + self._width)
            row[0] += 1
            row[1] += seconds
            row[bucket] += 1
        if self._flusher is None:
            self._start()

    def flush(self) -> None:
        """Move everything counted since the last flush into the Prometheus metrics."""
        with self._lock:
            rows, self._rows = self._rows, {}
        for labels, row in rows.items():
            HTTP_REQUESTS.labels(*labels).inc(row[0])
            child = HTTP_DURATION.labels(*labels)
            child._sum.inc(row[1])
            for index, count in enumerate(row[2:]):
                if count:
                    child._buckets[index].inc(count)

    def _start(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(
                target=self._flush_forever, name="kartoteka-metrics", daemon=True
            )
        self._flusher.start()
        atexit.register(self.flush)

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.FLUSH_SECONDS)
            self.flush()


#: The request metrics of this process, fed by the observability middleware.
REQUESTS = RequestTally()
