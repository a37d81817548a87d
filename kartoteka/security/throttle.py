"""Progressive delay after failed logins, per account and per client address.

Three counters guard every password check (see docs/security.md for the reasoning):

- `pair`: one account from one address, on the configured schedule (3 → 3 s, 5 → 30 s,
  8 → 4 min, then doubling up to the cap). A script hammering one account from one
  address meets this one; the owner logging in from elsewhere never does.
- `account`: one account from every address, with thresholds multiplied by
  `login_shared_factor`, so a botnet spreading guesses over many addresses is slowed too.
- `address`: one address against every account (credential stuffing), with the same
  higher thresholds because offices share an address behind NAT.

Addresses the account has already logged in from successfully skip the last two, so
an attack on an account cannot lock its owner out of their usual places.

An attempt is counted as a failure *before* the password is checked and forgiven on
success. Counting first makes the check-and-count atomic: a hundred parallel guesses
cannot all slip through between "not locked" and "failed". A locked attempt is refused
without checking the password and without extending the lock.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kartoteka.context import Workspace
from kartoteka.errors import RateLimited, problem
from kartoteka.observability import metrics
from kartoteka.storage.redis_pool import redis_client

FORGET_AFTER = 3600  # a counter without a new failure for an hour starts from zero
KNOWN_FOR = 90 * 86400  # an address stays "known" for an account for 90 days
MAX_STEPS = 64  # failures beyond this use the delay of the 64th (already at the cap)


@dataclass(frozen=True)
class Schedule:
    """Failures → delay in seconds; beyond the last step the delay doubles up to `cap`."""

    steps: tuple[tuple[int, int], ...]
    cap: int

    def delay(self, failures: int) -> int:
        """Seconds to wait after `failures` consecutive failures."""
        current, last_n = 0, 0
        for n, seconds in self.steps:
            if failures >= n:
                current, last_n = seconds, n
        if self.steps and failures > self.steps[-1][0] and current:
            current = current * 2 ** min(failures - last_n, 20)
        return min(current, self.cap)

    def scaled(self, factor: int) -> Schedule:
        """The same delays reached after `factor` times as many failures."""
        return Schedule(tuple((n * factor, s) for n, s in self.steps), self.cap)

    def table(self) -> list[int]:
        """Delays after 1..MAX_STEPS failures (what the Redis script indexes)."""
        return [self.delay(n) for n in range(1, MAX_STEPS + 1)]


def parse_schedule(text: str, cap: int) -> Schedule:
    """Parse `"3:3,5:30,8:240"` (failures:seconds, ascending); ValueError when malformed.

    The errors stay English (english-ok): the schedule is the operator's setting
    (`KARTOTEKA_LOGIN_DELAYS`), refused when the server starts.
    """
    steps: list[tuple[int, int]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        count, sep, seconds = part.partition(":")
        if not sep or not count.strip().isdigit() or not seconds.strip().isdigit():
            raise ValueError(f"login delay step {part!r}: expected failures:seconds")
        steps.append((int(count), int(seconds)))
    if any(b[0] <= a[0] for a, b in zip(steps, steps[1:], strict=False)) or any(
        n < 1 for n, _ in steps
    ):
        raise ValueError("login delay steps must have ascending failure counts of at least 1")
    if cap < 1:
        raise ValueError("the login delay cap must be at least 1 second")
    return Schedule(tuple(steps), cap)


class Store(Protocol):
    """Where counters live: this process (memory) or Redis (shared by processes)."""

    def reserve(
        self, keys: list[str], tables: list[list[int]], now: float
    ) -> tuple[float, list[int]]:
        """Atomically: the wait if any key is locked, else count one failure on each."""
        ...

    def forgive(self, clear: list[str], undo: list[str], now: float) -> None:
        """Delete `clear` and take back one failure from `undo`."""
        ...

    def remember(self, key: str, member: str) -> None:
        """Add `member` to the set `key`."""
        ...

    def knows(self, key: str, member: str) -> bool:
        """True when `member` is in the set `key`."""
        ...


class MemoryStore:
    """Counters in this process only (the default)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, tuple[int, float, float]] = {}  # n, locked_until, expires
        self._sets: dict[str, dict[str, float]] = {}

    def _get(self, key: str, now: float) -> tuple[int, float]:
        n, until, expires = self._counters.get(key, (0, 0.0, 0.0))
        return (n, until) if expires > now else (0, 0.0)

    def reserve(
        self, keys: list[str], tables: list[list[int]], now: float
    ) -> tuple[float, list[int]]:
        """Atomically: the wait if any key is locked, else count one failure on each."""
        with self._lock:
            wait = max((self._get(k, now)[1] - now for k in keys), default=0.0)
            if wait > 0:
                return wait, []
            counts = []
            for key, table in zip(keys, tables, strict=True):
                n = self._get(key, now)[0] + 1
                until = now + table[min(n, len(table)) - 1]
                self._counters[key] = (n, until, now + FORGET_AFTER)
                counts.append(n)
            if len(self._counters) > 100_000:
                self._counters = {k: v for k, v in self._counters.items() if v[2] > now}
            return 0.0, counts

    def forgive(self, clear: list[str], undo: list[str], now: float) -> None:
        """Delete `clear` and take back one failure from `undo`."""
        with self._lock:
            for key in clear:
                self._counters.pop(key, None)
            for key in undo:
                n, until = self._get(key, now)
                if n > 0:
                    self._counters[key] = (n - 1, until, now + FORGET_AFTER)

    def remember(self, key: str, member: str) -> None:
        """Add `member` to the set `key`."""
        with self._lock:
            self._sets.setdefault(key, {})[member] = time.time() + KNOWN_FOR

    def knows(self, key: str, member: str) -> bool:
        """True when `member` is in the set `key`."""
        with self._lock:
            return self._sets.get(key, {}).get(member, 0.0) > time.time()


# One round trip, atomic across processes: refuse if any counter is locked, otherwise
# count the attempt on every counter and arm each lock from its own delay table.
_RESERVE = """
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local wait = 0
for _, key in ipairs(KEYS) do
  local untl = tonumber(redis.call('HGET', key, 'until') or '0')
  if untl - now > wait then wait = untl - now end
end
if wait > 0 then return {tostring(wait)} end
local out = {'0'}
for i, key in ipairs(KEYS) do
  local n = redis.call('HINCRBY', key, 'n', 1)
  local tbl = cjson.decode(ARGV[2 + i])
  local d = tbl[math.min(n, #tbl)]
  redis.call('HSET', key, 'until', tostring(now + d))
  redis.call('EXPIRE', key, ttl)
  table.insert(out, tostring(n))
end
return out
"""


class RedisStore:
    """Counters in Redis, so every process behind the load balancer agrees."""

    def __init__(self, client: Any, prefix: str = "kartoteka:throttle:") -> None:
        self.client = client
        self.prefix = prefix
        self._reserve = client.register_script(_RESERVE)

    def reserve(
        self, keys: list[str], tables: list[list[int]], now: float
    ) -> tuple[float, list[int]]:
        """Atomically: the wait if any key is locked, else count one failure on each."""
        args = [repr(now), FORGET_AFTER, *(json.dumps(t) for t in tables)]
        out = self._reserve(keys=[self.prefix + k for k in keys], args=args)
        values = [v.decode() if isinstance(v, bytes) else str(v) for v in out]
        if len(values) == 1 and keys:
            return float(values[0]), []
        return 0.0, [int(v) for v in values[1:]]

    def forgive(self, clear: list[str], undo: list[str], now: float) -> None:
        """Delete `clear` and take back one failure from `undo`."""
        pipe = self.client.pipeline()
        for key in clear:
            pipe.delete(self.prefix + key)
        for key in undo:
            pipe.hincrby(self.prefix + key, "n", -1)
            pipe.expire(self.prefix + key, FORGET_AFTER)
        pipe.execute()

    def remember(self, key: str, member: str) -> None:
        """Add `member` to the set `key`."""
        pipe = self.client.pipeline()
        pipe.sadd(self.prefix + key, member)
        pipe.expire(self.prefix + key, KNOWN_FOR)
        pipe.execute()

    def knows(self, key: str, member: str) -> bool:
        """True when `member` is in the set `key`."""
        return bool(self.client.sismember(self.prefix + key, member))


@dataclass
class Ticket:
    """One reserved attempt: which counters it was counted on and their new counts."""

    account: str
    address: str
    keys: list[str]
    counts: list[int]
    delays: list[int]

    @property
    def lockout(self) -> int:
        """Seconds the attempt locks out if it fails (0: no delay yet)."""
        return max(self.delays, default=0)


class LoginThrottle:
    """The failed-login guard of one workspace."""

    def __init__(
        self,
        store: Store,
        schedule: Schedule,
        shared_factor: int = 4,
        clock: Callable[[], float] = time.time,
        scope: str = "",
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.shared = schedule.scaled(max(1, shared_factor))
        self.clock = clock
        self.scope = scope

    def _key(self, kind: str, *parts: str) -> str:
        digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
        return f"{self.scope}:{kind}:{digest}"

    def begin(self, account: str, address: str | None) -> Ticket:
        """Reserve one password check, or raise RateLimited without checking anything."""
        address = address or "unknown"
        keys = [self._key("pair", account, address)]
        schedules = [self.schedule]
        if not self.store.knows(self._key("known", account), address):
            keys += [self._key("account", account), self._key("address", address)]
            schedules += [self.shared, self.shared]
        wait, counts = self.store.reserve(keys, [s.table() for s in schedules], self.clock())
        if wait > 0:
            metrics.login_throttled()
            raise RateLimited(errors=[problem("login_throttled")], retry_after=math.ceil(wait))
        delays = [s.delay(n) for s, n in zip(schedules, counts, strict=True)]
        return Ticket(account, address, keys, counts, delays)

    def succeeded(self, ticket: Ticket) -> None:
        """The password was right: reset the account's counters, remember the address."""
        clear = [k for k in ticket.keys if ":address:" not in k]
        # The address counter is only given back this attempt, not cleared: otherwise an
        # attacker holding any valid account could wipe it between sprayed guesses.
        undo = [k for k in ticket.keys if ":address:" in k]
        self.store.forgive(clear, undo, self.clock())
        self.store.remember(self._key("known", ticket.account), ticket.address)


def for_workspace(ws: Workspace) -> LoginThrottle:
    """The workspace's throttle: in memory, or in Redis when KARTOTEKA_REDIS_URL is set."""
    found = ws.meta_holder.get("login_throttle")
    if found is None:
        settings = ws.settings
        schedule = parse_schedule(settings.login_delays, settings.login_delay_cap)
        store: Store = (
            RedisStore(redis_client(settings.redis_url), f"{settings.redis_prefix}:throttle:")
            if settings.redis_url
            else MemoryStore()
        )
        found = ws.meta_holder.setdefault(
            "login_throttle",
            LoginThrottle(store, schedule, settings.login_shared_factor, scope=ws.name),
        )
    return found
