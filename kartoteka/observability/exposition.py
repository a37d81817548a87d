"""What a scrape returns, on the app's `/metrics` or on a separate metrics port.

One process: the default registry (every metric of metrics.py) plus the scrape-time
collectors. Several processes (PROMETHEUS_MULTIPROC_DIR set): the files every process
writes there, summed by prometheus-client's MultiProcessCollector, plus the same
scrape-time collectors (database facts, the same whichever process answers).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from . import metrics
from .collectors import OutboxLagCollector, sample_pools, start_pool_sampler

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
log = logging.getLogger("kartoteka.observability")


def multiprocess() -> bool:
    """True when prometheus-client keeps metrics in files shared by several processes."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _ProcessMetrics(Collector):
    """This process's metrics (or every process's, in multiprocess mode) after a pool sample."""

    def __init__(self, instance: Any) -> None:
        self.instance = instance
        self.shared: CollectorRegistry | None = None
        if multiprocess():
            self.shared = CollectorRegistry()
            MultiProcessCollector(self.shared)

    def collect(self) -> Iterator[Metric]:
        """Flush this process's request tally, sample the pools, yield the registered metrics."""
        metrics.REQUESTS.flush()
        sample_pools(self.instance)
        yield from (self.shared or REGISTRY).collect()


def scrape_registry(instance: Any) -> CollectorRegistry:
    """A registry whose exposition is everything an operator scrapes from this instance."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessMetrics(instance))
    registry.register(OutboxLagCollector(instance))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of `registry`."""
    return generate_latest(registry)


def token_accepted(expected: str | None, authorization: str | None) -> bool:
    """The `Authorization: Bearer <token>` header matches the configured metrics token."""
    if not expected or not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)


def start_metrics_port(instance: Any, address: str, port: int) -> bool:
    """Serve the metrics on their own port; False when another process holds it already.

    With several uvicorn workers in multiprocess mode the first one to bind serves the
    sum of all; the others carry on without a port of their own.
    """
    if multiprocess():
        start_pool_sampler(instance, threading.Event())
    try:
        start_http_server(port, addr=address, registry=scrape_registry(instance))
    except OSError as exc:
        log.info("metrics port %s:%s not opened here: %s", address, port, exc)
        return False
    return True
