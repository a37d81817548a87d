"""Request limits per account and per client address, with the `limits` library.

Defaults come from Settings (`KARTOTEKA_RATE_LIMIT_ACCOUNT`/`_ADDRESS`); a workspace may
override them, and give single accounts their own limit, with the `rate_limits` setting:

    {"per_account": "100/30seconds", "per_address": "1000/30seconds",
     "accounts": {"<user id>": "1000/30seconds"}}

Counters live in this process (MemoryStorage) unless KARTOTEKA_REDIS_URL is set, in
which case every process shares them through Redis. The per-address limit is applied by
`RateLimitMiddleware` before routing; the per-account limit right after authentication
(`check_account`, called from `api.deps.actor`). Every API response carries
`X-RateLimit-Limit`, `-Remaining` and `-Reset` for the tighter of the two.
"""

from __future__ import annotations

import math
import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage

from kartoteka.catalogs import service as catalogs
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Forbidden, RateLimited, ValidationFailed, problem
from kartoteka.messages import from_headers, message

from . import log

SETTING = "rate_limits"
SETTING_KEYS = ("per_account", "per_address", "accounts")
STATE_KEY = "kt_rate_limits"
API_PATH = re.compile(r"^(?:/w/(?P<workspace>[^/]+))?/api/v1(?:/|$)")
LIMITS_PATH = re.compile(r"^(?:/w/[^/]+)?/api/v1/security/rate-limits/?$")
#: The longest window a limit may use: a longer one would lock an account out for days.
MAX_WINDOW_SECONDS = 24 * 3600


class Usage(NamedTuple):
    """One limit after a hit: its size, what is left, when the window resets.

    A tuple, not a frozen dataclass: two are made per API request, and a frozen
    dataclass sets each field through `object.__setattr__` (a fifth of `hit`'s cost).
    """

    limit: int
    remaining: int
    reset_at: float  # Unix time when the window starts over
    allowed: bool

    @property
    def reset(self) -> int:
        """The reset time in whole seconds (the X-RateLimit-Reset header)."""
        return math.ceil(self.reset_at)

    def retry_after(self) -> int:
        """Seconds until the window resets (at least 1)."""
        return max(1, math.ceil(self.reset_at - time.time()))


@dataclass(frozen=True)
class WorkspaceLimits:
    """The effective limits of one workspace."""

    per_account: RateLimitItem
    per_address: RateLimitItem
    accounts: dict[int, RateLimitItem] = field(default_factory=dict)

    def for_account(self, user_id: int) -> RateLimitItem:
        """The limit of one account (its own override or the workspace's)."""
        return self.accounts.get(user_id, self.per_account)


def parse_limit(text: Any, where: str) -> RateLimitItem:
    """Parse "100/30seconds" (or "100 per 30 seconds"); ValidationFailed names `where`."""
    try:
        if not isinstance(text, str):
            raise ValueError(text)
        item = parse(text)
    except ValueError:
        raise ValidationFailed.of("rate_limit_format", where) from None
    # "0/second" would lock every request out, and a window of a month would do the same
    # for whoever spent their allowance: both are refused, not stored.
    if item.amount < 1:
        raise ValidationFailed.of("rate_limit_zero", where)
    if item.get_expiry() > MAX_WINDOW_SECONDS:
        raise ValidationFailed.of("rate_limit_window", where)
    return item


def is_limits_change(method: str, path: str) -> bool:
    """Whether a request is `PUT .../security/rate-limits` (never limited for administrators)."""
    return method == "PUT" and LIMITS_PATH.match(path) is not None


def _usable(text: Any, fallback: str) -> RateLimitItem:
    """A stored limit, or the server default when it is missing or unusable (an old "0/s")."""
    try:
        return parse_limit(text, "limit") if text else parse(fallback)
    except ValidationFailed:
        return parse(fallback)


def check_setting(value: Any) -> dict[str, Any]:
    """Validate a `rate_limits` workspace setting; returns it normalised."""
    if not isinstance(value, dict):
        raise ValidationFailed.of("expected_object", "rate_limits")
    unknown = sorted(set(value) - set(SETTING_KEYS))
    if unknown:
        allowed = ", ".join(SETTING_KEYS)
        raise ValidationFailed.of("unknown_key_allowed", unknown[0], allowed=allowed)
    clean: dict[str, Any] = {}
    for key in ("per_account", "per_address"):
        if value.get(key) is not None:
            parse_limit(value[key], key)
            clean[key] = value[key]
    accounts = value.get("accounts") or {}
    if not isinstance(accounts, dict):
        raise ValidationFailed.of("rate_limit_accounts", "accounts")
    clean["accounts"] = {}
    for user_id, text in accounts.items():
        where = f"accounts.{user_id}"
        if not str(user_id).isdecimal():
            raise ValidationFailed.of("rate_limit_user_id", where)
        parse_limit(text, where)
        clean["accounts"][str(int(user_id))] = text
    return clean


def store_setting(actor: Actor, value: Any, address: str | None = None) -> dict[str, Any]:
    """Check and store a workspace's limits (administrators); the limits now in force."""
    if not actor.is_admin:
        raise Forbidden.of("limits_admin_only")
    clean = check_setting(value)
    catalogs.set_setting(actor, SETTING, clean)
    log.log_event(actor.workspace, "rate_limits_changed", actor=actor, address=address, **clean)
    return describe(actor.workspace)


def workspace_limits(ws: Workspace) -> WorkspaceLimits:
    """The limits in force for a workspace (settings defaults + its `rate_limits`)."""
    stored = ws.meta().settings.get(SETTING) or {}
    cached = ws.meta_holder.get("rate_limits")
    if cached is not None and cached[0] == stored:
        return cached[1]
    defaults = ws.settings
    stored_ok = stored if isinstance(stored, dict) else {}
    per_account = _usable(stored_ok.get("per_account"), defaults.rate_limit_account)
    limits = WorkspaceLimits(
        per_account=per_account,
        per_address=_usable(stored_ok.get("per_address"), defaults.rate_limit_address),
        accounts={
            int(k): _usable(v, defaults.rate_limit_account)
            for k, v in (stored_ok.get("accounts") or {}).items()
        },
    )
    ws.meta_holder["rate_limits"] = (stored, limits)
    return limits


def describe(ws: Workspace) -> dict[str, Any]:
    """The effective limits as strings (what GET /security/rate-limits returns)."""
    limits = workspace_limits(ws)
    return {
        "enabled": ws.settings.rate_limits_enabled,
        "per_account": _text(limits.per_account),
        "per_address": _text(limits.per_address),
        "accounts": {str(k): _text(v) for k, v in limits.accounts.items()},
    }


def _text(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return (
        f"{item.amount}/{item.multiples}{unit}s" if item.multiples > 1 else f"{item.amount}/{unit}"
    )


# ----- counters -----------------------------------------------------------------------
_storages: dict[tuple[str, str], Storage] = {}
_storage_lock = threading.Lock()


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory storage without a thread per burst of requests.

    The stock MemoryStorage starts a fresh `threading.Timer` on an increment whenever
    the previous 10 ms timer has fired, which under load is a new thread every few
    requests (measured: about a third of the rate limiter's cost). Expired counters are
    already dropped lazily by `get`; one daemon thread per storage sweeps the rest
    every second and ends when the storage is garbage-collected.
    """

    def __init__(self) -> None:
        super().__init__()
        ref = weakref.ref(self)
        threading.Thread(target=_sweep, args=(ref,), daemon=True, name="ratelimit-sweep").start()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - overrides a mangled name
        return None

    def count(self, key: str, expiry: float) -> tuple[int, float]:
        """One more hit on `key`'s fixed window: the count and when the window resets.

        What `incr` then `get_expiry` do, in one step under the key's lock (the lock
        `incr` takes), without the expiry check's second lookup and the error wrapping
        of two storage calls. The reset time is the one this hit saw, even when the
        sweeper drops the expired key at once.
        """
        with self.locks[key]:
            now = time.time()
            reset_at = self.expirations.get(key, 0.0)
            if reset_at <= now:
                reset_at = now + expiry
                self.storage[key] = 0
                self.expirations[key] = reset_at
            count = self.storage[key] + 1
            self.storage[key] = count
        return count, reset_at


def _sweep(ref: weakref.ReferenceType[SweptMemoryStorage]) -> None:
    while True:
        time.sleep(SWEEP_SECONDS)
        storage = ref()
        if storage is None:
            return
        storage._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        del storage


SWEEP_SECONDS = 1.0


def _storage(ws: Workspace) -> Storage:
    url = ws.settings.redis_url
    if not url:
        found = ws.meta_holder.get("rate_limit_storage")
        if found is None:
            found = ws.meta_holder.setdefault("rate_limit_storage", SweptMemoryStorage())
        return found
    key = (url, ws.settings.redis_prefix)
    with _storage_lock:
        if key not in _storages:
            _storages[key] = RedisStorage(url, key_prefix=f"{ws.settings.redis_prefix}:rl")
        return _storages[key]


def hit(ws: Workspace, item: RateLimitItem, kind: str, who: str) -> Usage:
    """Count one request of `who` against `item` (a fixed window).

    What `FixedWindowRateLimiter.hit` and `get_window_stats` do, with the count the
    increment returns instead of reading it again: one key and, in memory, one storage
    call (`SweptMemoryStorage.count`) instead of three key builds and three calls (a
    tenth of a GET's cost went to the two limits).
    """
    storage = _storage(ws)
    key = window_key(item, ws.name, kind, who)
    if isinstance(storage, SweptMemoryStorage):
        count, reset_at = storage.count(key, item.get_expiry())
    else:
        count = storage.incr(key, item.get_expiry())
        reset_at = storage.get_expiry(key)
    return Usage(item.amount, max(0, item.amount - count), reset_at, count <= item.amount)


def window_key(item: RateLimitItem, workspace: str, kind: str, who: str) -> str:
    """`item.key_for(workspace, kind, who)`, built in one format string (limits joins a
    list of each part passed through `safe_string`, which a string passes unchanged)."""
    granularity = item.GRANULARITY.name
    return f"{item.namespace}/{workspace}/{kind}/{who}/{item.amount}/{item.multiples}/{granularity}"


def _refuse(usage: Usage, code: str) -> RateLimited:
    return RateLimited(errors=[problem(code, limit=usage.limit)], retry_after=usage.retry_after())


def check_account(state: Any, actor: Actor) -> None:
    """Apply the per-account limit after authentication; raise RateLimited when over it."""
    ws = actor.workspace
    if not ws.settings.rate_limits_enabled or actor.user_id is None:
        return
    usage = hit(ws, workspace_limits(ws).for_account(actor.user_id), "account", str(actor.user_id))
    setattr(state, STATE_KEY + "_account", usage)
    if not usage.allowed:
        raise _refuse(usage, "rate_limited_account")


def check_address(state: Any, ws: Workspace, address: str | None) -> None:
    """The per-address limit, for the one path the middleware leaves to after authentication."""
    if not ws.settings.rate_limits_enabled:
        return
    usage = hit(ws, workspace_limits(ws).per_address, "address", address or "unknown")
    setattr(state, STATE_KEY + "_address", usage)
    if not usage.allowed:
        raise _refuse(usage, "rate_limited_address")


def headers_for(usages: list[Usage]) -> list[tuple[bytes, bytes]]:
    """X-RateLimit-* headers for the tightest of the limits applied."""
    if not usages:
        return []
    tight = min(usages, key=lambda u: (u.remaining, -u.reset_at))
    return [
        (b"x-ratelimit-limit", str(tight.limit).encode()),
        (b"x-ratelimit-remaining", str(tight.remaining).encode()),
        (b"x-ratelimit-reset", str(tight.reset).encode()),
    ]


# ----- ASGI middleware ----------------------------------------------------------------
class RateLimitMiddleware:
    """Per-address limit on every API request, and X-RateLimit-* headers on responses."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Count the request, refuse it with 429 when over the limit, else pass it on."""
        match = API_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        ws = self._workspace(scope, match) if match else None
        if ws is None or not ws.settings.rate_limits_enabled:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        # Changing the limits is counted after authentication instead (`check_address`),
        # so an administrator can always undo a limit that locks everyone out.
        if not is_limits_change(scope.get("method", ""), scope.get("path", "")):
            client = scope.get("client")
            address = client[0] if client else "unknown"
            usage = await self._hit(ws, address)
            state[STATE_KEY + "_address"] = usage
            if not usage.allowed:
                await self._reject(send, usage, from_headers(scope.get("headers", [])))
                return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                applied = [state.get(STATE_KEY + "_address"), state.get(STATE_KEY + "_account")]
                extra = headers_for([u for u in applied if u is not None])
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _workspace(scope: dict[str, Any], match: re.Match[str]) -> Workspace | None:
        instance = getattr(getattr(scope.get("app"), "state", None), "instance", None)
        if instance is None:
            return None
        name = match.group("workspace") or instance.settings.default_workspace
        try:
            return instance.workspace(name)
        except Exception:
            # Unknown workspace: routing answers 404 itself; nothing to count against.
            return None

    @staticmethod
    async def _hit(ws: Workspace, address: str) -> Usage:
        item = workspace_limits(ws).per_address
        if ws.settings.redis_url:
            import anyio.to_thread  # lazy: only with Redis, whose client blocks

            return await anyio.to_thread.run_sync(hit, ws, item, "address", address)
        return hit(ws, item, "address", address)

    @staticmethod
    async def _reject(send: Any, usage: Usage, lang: str) -> None:
        text = message("rate_limited_address", {"limit": usage.limit}, lang)
        body = orjson.dumps({"error": "RATE_LIMITED", "message": text})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(usage.retry_after()).encode()),
            *headers_for([usage]),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
