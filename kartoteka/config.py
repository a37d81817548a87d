"""Settings read from the environment (CLI flags may override them).

Its errors stay English text (english-ok): they tell the operator starting the server
or the CLI which variable is wrong, before any user or workspace language exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _floats(value: str | None) -> tuple[float, ...]:
    """'0,5,300' -> (0.0, 5.0, 300.0); empty -> ()."""
    return tuple(float(x) for x in (value or "").split(",") if x.strip())


def _days(env: dict[str, str], name: str, default: int) -> int:
    """A whole number of days; `0` is meaningful (never), so only unset means the default."""
    value = (env.get(name) or "").strip()
    return int(value) if value else default


def _log_format(value: str | None) -> str:
    """`json`, `text`, `auto`, `none` or "" (both: leave logging alone); else refused."""
    chosen = (value or "").strip().lower()
    if chosen not in ("", "json", "text", "auto", "none"):
        raise ValueError(f"KARTOTEKA_LOG_FORMAT must be json, text, auto or none, not {value!r}")
    return chosen


WORKSPACES_UI = ("off", "manage", "backup")


#: A Redis prefix: letters, digits and `_ . : -`, so keys stay readable in `redis-cli`.
REDIS_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _redis_prefix(value: str | None) -> str:
    """`kartoteka` (also unset), else a prefix `REDIS_PREFIX` allows; refused at start."""
    chosen = (value or "kartoteka").strip()
    if not REDIS_PREFIX.match(chosen):
        raise ValueError(
            f"KARTOTEKA_REDIS_PREFIX must be 1 to 64 letters, digits or _ . : -, not {value!r}"
        )
    return chosen


def _workspaces_ui(value: str | None) -> str:
    """`off` (also unset), `manage` or `backup`; anything else is refused at start."""
    chosen = (value or "off").strip().lower()
    if chosen not in WORKSPACES_UI:
        raise ValueError(f"KARTOTEKA_WORKSPACES_UI must be off, manage or backup, not {value!r}")
    return chosen


@dataclass
class Settings:
    """Instance-wide configuration; one object per process."""

    data_dir: Path = field(default_factory=lambda: Path("./data"))
    database_url: str | None = None
    redis_url: str | None = None
    #: What this instance's Redis keys and live channel begin with, so two instances
    #: sharing one Redis never count each other's requests or hear each other's commits.
    redis_prefix: str = "kartoteka"
    admin_email: str | None = None
    admin_password: str | None = None
    webhook_allow_private: bool = False
    default_workspace: str = "default"
    auth_cache_seconds: float = 30.0
    session_days: int = 14
    max_upload_bytes: int = 50 * 1024 * 1024
    max_body_bytes: int = 20 * 1024 * 1024
    secure_cookies: bool = False
    run_worker: bool = True
    #: Seconds to wait before each delivery attempt of a notify webhook (empty: default).
    webhook_retry_schedule: tuple[float, ...] = ()
    #: Seconds a notify receiver gets to answer.
    webhook_timeout: float = 10.0
    #: Seconds a request (veto) receiver gets before its silence counts.
    webhook_request_timeout: float = 10.0
    #: Seconds beyond the timeout before a delivery claimed by a dead worker is retried.
    webhook_lease_margin: float = 60.0
    #: Days of failed attempts with no 2xx in between before a notify webhook is disabled
    #: (0: never).
    webhook_disable_after_days: int = 5
    #: Days to keep delivered (done) webhook deliveries and their attempts (0: forever).
    webhook_keep_days: int = 14
    #: Days to keep failed webhook deliveries and their attempts (0: forever).
    webhook_failed_keep_days: int = 30
    #: Days to keep outbox events that every consumer has passed (0: forever).
    events_keep_days: int = 30
    #: Longest chain of webhook deliveries whose echoed writes still notify webhooks
    #: (loop protection, docs/webhooks.md).
    webhook_max_depth: int = 5
    #: Longest chain of scenario runs caused by each other's writes (self-triggering).
    scenario_max_depth: int = 5
    #: HTTP calls of scenario runs one worker process makes at once.
    scenario_threads: int = 8
    #: Days to keep finished scenario runs and their steps (0: forever).
    scenario_runs_keep_days: int = 14
    #: Days to keep failed scenario runs (0: forever).
    scenario_failed_keep_days: int = 30
    #: Finished runs kept per scenario at most, newest first (0: no cap).
    scenario_runs_keep_max: int = 10_000
    # Protection (docs/security.md): request limits and the failed-login schedule.
    rate_limits_enabled: bool = True
    rate_limit_account: str = "100/30seconds"
    rate_limit_address: str = "1000/30seconds"
    login_delays: str = "3:3,5:30,8:240"
    login_delay_cap: int = 300
    login_shared_factor: int = 4
    # Operations (docs/operations.md): metrics, logs, outgoing proxy.
    #: Bearer token that opens `/metrics` on the app's port (unset: no `/metrics` there).
    metrics_token: str | None = None
    #: A separate port serving only the metrics, without a token (0: none).
    metrics_port: int = 0
    metrics_address: str = "127.0.0.1"
    #: `json`, `text` or `auto` (text on a terminal); empty: leave logging as the host set it.
    log_format: str = ""
    #: Proxy for outgoing webhook calls; overrides HTTPS_PROXY/HTTP_PROXY (NO_PROXY still applies).
    outgoing_proxy: str | None = None
    #: What the administrators of the default workspace may do with workspaces in the web
    #: interface: `off` (nothing), `manage` (list and create) or `backup` (also back up and
    #: restore).
    workspaces_ui: str = "off"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from `KARTOTEKA_*` environment variables."""
        env = dict(os.environ if env is None else env)
        return cls(
            data_dir=Path(env.get("KARTOTEKA_DATA_DIR") or "./data"),
            database_url=env.get("KARTOTEKA_DATABASE_URL") or None,
            redis_url=env.get("KARTOTEKA_REDIS_URL") or None,
            redis_prefix=_redis_prefix(env.get("KARTOTEKA_REDIS_PREFIX")),
            admin_email=env.get("KARTOTEKA_ADMIN_EMAIL") or None,
            admin_password=env.get("KARTOTEKA_ADMIN_PASSWORD") or None,
            webhook_allow_private=_bool(env.get("KARTOTEKA_WEBHOOK_ALLOW_PRIVATE")),
            default_workspace=env.get("KARTOTEKA_DEFAULT_WORKSPACE") or "default",
            auth_cache_seconds=float(env.get("KARTOTEKA_AUTH_CACHE_SECONDS") or 30),
            session_days=int(env.get("KARTOTEKA_SESSION_DAYS") or 14),
            max_upload_bytes=int(env.get("KARTOTEKA_MAX_UPLOAD_BYTES") or 50 * 1024 * 1024),
            max_body_bytes=int(env.get("KARTOTEKA_MAX_BODY_BYTES") or 20 * 1024 * 1024),
            secure_cookies=_bool(env.get("KARTOTEKA_SECURE_COOKIES")),
            run_worker=not _bool(env.get("KARTOTEKA_NO_WORKER")),
            webhook_retry_schedule=_floats(env.get("KARTOTEKA_WEBHOOK_RETRY_SCHEDULE")),
            webhook_timeout=float(env.get("KARTOTEKA_WEBHOOK_TIMEOUT") or 10),
            webhook_request_timeout=float(env.get("KARTOTEKA_WEBHOOK_REQUEST_TIMEOUT") or 10),
            webhook_lease_margin=float(env.get("KARTOTEKA_WEBHOOK_LEASE_MARGIN") or 60),
            webhook_disable_after_days=_days(env, "KARTOTEKA_WEBHOOK_DISABLE_AFTER_DAYS", 5),
            webhook_keep_days=_days(env, "KARTOTEKA_WEBHOOK_KEEP_DAYS", 14),
            webhook_failed_keep_days=_days(env, "KARTOTEKA_WEBHOOK_FAILED_KEEP_DAYS", 30),
            events_keep_days=_days(env, "KARTOTEKA_EVENTS_KEEP_DAYS", 30),
            webhook_max_depth=int(env.get("KARTOTEKA_WEBHOOK_MAX_DEPTH") or 5),
            scenario_max_depth=int(env.get("KARTOTEKA_SCENARIO_MAX_DEPTH") or 5),
            scenario_threads=max(1, int(env.get("KARTOTEKA_SCENARIO_THREADS") or 8)),
            scenario_runs_keep_days=_days(env, "KARTOTEKA_SCENARIO_RUNS_KEEP_DAYS", 14),
            scenario_failed_keep_days=_days(env, "KARTOTEKA_SCENARIO_FAILED_KEEP_DAYS", 30),
            scenario_runs_keep_max=_days(env, "KARTOTEKA_SCENARIO_RUNS_KEEP_MAX", 10_000),
            rate_limits_enabled=_bool(env.get("KARTOTEKA_RATE_LIMITS_ENABLED") or "1"),
            rate_limit_account=env.get("KARTOTEKA_RATE_LIMIT_ACCOUNT") or "100/30seconds",
            rate_limit_address=env.get("KARTOTEKA_RATE_LIMIT_ADDRESS") or "1000/30seconds",
            login_delays=env.get("KARTOTEKA_LOGIN_DELAYS") or "3:3,5:30,8:240",
            login_delay_cap=int(env.get("KARTOTEKA_LOGIN_DELAY_CAP") or 300),
            login_shared_factor=int(env.get("KARTOTEKA_LOGIN_SHARED_FACTOR") or 4),
            metrics_token=env.get("KARTOTEKA_METRICS_TOKEN") or None,
            metrics_port=int(env.get("KARTOTEKA_METRICS_PORT") or 0),
            metrics_address=env.get("KARTOTEKA_METRICS_ADDRESS") or "127.0.0.1",
            log_format=_log_format(env.get("KARTOTEKA_LOG_FORMAT")),
            outgoing_proxy=env.get("KARTOTEKA_OUTGOING_PROXY") or None,
            workspaces_ui=_workspaces_ui(env.get("KARTOTEKA_WORKSPACES_UI")),
        )

    @property
    def is_postgres(self) -> bool:
        """True when workspaces live in PostgreSQL schemas."""
        return (self.database_url or "").startswith("postgres")
