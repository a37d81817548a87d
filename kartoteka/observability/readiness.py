"""`/readyz`: may this process take traffic? Database, migrations, Redis, a live worker.

`/healthz` says the process is up; `/readyz` says it can do its job. Each check gives
`ok` or a reason; any failure makes the answer 503, so a load balancer or Kubernetes
takes the process out of rotation until it passes again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from kartoteka.storage.engine import current_revision, head_revision, utcnow
from kartoteka.storage.redis_pool import redis_client

from .heartbeat import STALE_SECONDS, latest_beat


def check_database(instance: Any) -> str | None:
    """The control database answers a query."""
    with instance.dbs.control.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return None


def check_migrations(instance: Any) -> str | None:
    """The default workspace's schema is at the code's Alembic head."""
    name = instance.settings.default_workspace
    location = instance.location(name)
    if location is None:
        return f"the default workspace {name!r} does not exist (run `kartoteka init`)"
    engine = instance.dbs.engine_for_location(name, location)
    current, head = current_revision(engine), head_revision()
    if current != head:
        return f"workspace {name!r} is at revision {current}, the code at {head}"
    return None


def check_redis(instance: Any) -> str | None:
    """Redis answers PING (only when KARTOTEKA_REDIS_URL is set)."""
    redis_client(instance.settings.redis_url).ping()
    return None


def check_worker(instance: Any) -> str | None:
    """Some worker's heartbeat is younger than STALE_SECONDS."""
    beat = latest_beat(instance.dbs.control)
    if beat is None:
        return "no worker has ever run (start `kartoteka worker` or serve without --no-worker)"
    age = utcnow() - beat
    if age > timedelta(seconds=STALE_SECONDS):
        return f"the newest worker heartbeat is {int(age.total_seconds())} s old"
    return None


def checks(instance: Any) -> dict[str, Callable[[Any], str | None]]:
    """The checks that apply to this instance's configuration."""
    found: dict[str, Callable[[Any], str | None]] = {
        "database": check_database,
        "migrations": check_migrations,
    }
    if instance.settings.redis_url:
        found["redis"] = check_redis
    found["worker"] = check_worker
    return found


def readiness(instance: Any) -> tuple[bool, dict[str, str]]:
    """(ready, {check: "ok" or the reason it failed})."""
    results: dict[str, str] = {}
    for name, check in checks(instance).items():
        try:
            problem = check(instance)
        except Exception as exc:  # any failure of a dependency is a "not ready", never a 500
            problem = f"{type(exc).__name__}: {exc}"[:300]
        results[name] = problem or "ok"
    return all(v == "ok" for v in results.values()), results
