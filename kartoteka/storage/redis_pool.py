"""One Redis client (connection pool) per URL and process, shared by its users.

The login throttle keeps its counters there and the readiness check pings it; both
ask here, so neither imports the other.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def redis_client(url: str) -> Any:
    """One Redis client (connection pool) per URL and process."""
    with _lock:
        client = _clients.get(url)
        if client is None:
            import redis  # lazy: optional, only with KARTOTEKA_REDIS_URL

            client = _clients[url] = redis.Redis.from_url(url)
        return client
