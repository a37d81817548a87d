"""Request limits per account and per address, in memory and in a real Redis."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, make_settings
from fastapi.testclient import TestClient

from kartoteka.config import Settings
from kartoteka.errors import RateLimited
from kartoteka.security.throttle import LoginThrottle, RedisStore, parse_schedule

REDIS_URL = os.environ.get("KARTOTEKA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        client.close()
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


def _drop_keys(client: redis.Redis, pattern: str) -> None:
    for key in client.scan_iter(match=pattern, count=1000):
        client.delete(key)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Small limits (5 per account, 20 per address), counted in memory or in Redis.

    Windows are five minutes long so that a slow, loaded test run never sees one roll over.
    """
    s = make_settings(tmp_path, rate_limit_account="5/5minutes", rate_limit_address="20/5minutes")
    if request.param == "memory":
        yield s
        return
    client = _redis_or_skip()
    s.redis_url = REDIS_URL
    yield s
    # Keys carry the workspace name, which is unique to this test.
    _drop_keys(client, f"kartoteka:rl:*{s.default_workspace}*")
    _drop_keys(client, f"kartoteka:throttle:{s.default_workspace}*")
    client.close()


def test_account_limit_gives_429_with_headers(api: Api, settings: Settings) -> None:
    seen = []
    for _ in range(5):
        r = api.get("/auth/me")
        assert r.status_code == 200, r.text
        seen.append(int(r.headers["X-RateLimit-Remaining"]))
        assert r.headers["X-RateLimit-Limit"] == "5"
        assert int(r.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert seen == [4, 3, 2, 1, 0]
    r = api.get("/auth/me")
    assert r.status_code == 429 and r.json()["error"] == "RATE_LIMITED"
    assert 1 <= int(r.headers["Retry-After"]) <= 300
    assert r.headers["X-RateLimit-Remaining"] == "0"


def test_address_limit_applies_before_authentication(client: TestClient) -> None:
    statuses = [client.get("/api/v1/auth/me").status_code for _ in range(21)]
    assert statuses[:20] == [401] * 20
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 429 and r.json()["error"] == "RATE_LIMITED"
    assert int(r.headers["Retry-After"]) >= 1 and r.headers["X-RateLimit-Limit"] == "20"
    other = TestClient(client.app, client=("192.0.2.10", 5000))
    assert other.get("/api/v1/auth/me").status_code == 401  # another address is unaffected


def test_both_limits_answer_in_the_callers_language(api: Api, client: TestClient) -> None:
    ru = {"Accept-Language": "ru"}
    for _ in range(5):
        api.get("/auth/me")
    r = api.get("/auth/me", headers=ru)
    assert r.status_code == 429 and r.json()["errors"][0]["code"] == "rate_limited_account"
    assert r.json()["message"].startswith("слишком много запросов от этой учётной записи (лимит 5)")
    for _ in range(20):
        client.get("/api/v1/auth/me")
    r = client.get("/api/v1/auth/me", headers=ru)
    assert r.status_code == 429 and r.json()["message"].startswith("слишком много запросов с этого")


def test_pages_outside_the_api_are_not_limited(client: TestClient) -> None:
    for _ in range(25):
        r = client.get("/healthz")
        assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers


def test_workspace_and_account_overrides(api: Api, client: TestClient) -> None:
    me = api.get("/auth/me").json()["id"]
    body = {"per_account": "3/30seconds", "accounts": {str(me): "50/30seconds"}}
    r = api.put("/security/rate-limits", body)
    assert r.status_code == 200, r.text
    assert r.json()["accounts"] == {str(me): "50/30seconds"}
    assert r.json()["per_account"] == "3/30seconds"
    r = api.get("/auth/me")
    assert r.headers["X-RateLimit-Limit"] in ("50", "20")  # the tighter of account and address
    assert api.get("/security/rate-limits").json()["per_address"] == "20/5minutes"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"per_account": "lots"}, "per_account"),
        ({"per_address": 5}, "per_address"),
        ({"accounts": {"bob": "5/minute"}}, "accounts.bob"),
        ({"accounts": {"7": "x"}}, "accounts.7"),
        ({"burst": "5/minute"}, "burst"),
    ],
)
def test_bad_limits_are_refused_precisely(api: Api, body: dict, field: str) -> None:
    r = api.put("/security/rate-limits", body)
    assert r.status_code == 422 and r.json()["error"] == "VALIDATION"
    assert field in r.json()["fields"]


def test_only_administrators_change_limits(api: Api, client: TestClient) -> None:
    api.post("/users", {"email": "bob@example.com", "name": "Bob", "password": "password-bob"})
    r = client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": "password-bob"}
    )
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.put("/api/v1/security/rate-limits", json={}, headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"


def test_limits_can_be_turned_off(tmp_path: Path) -> None:
    from kartoteka.server import create_app
    from kartoteka.workspaces.service import Instance

    s = make_settings(tmp_path, rate_limits_enabled=False, rate_limit_address="1/30seconds")
    inst = Instance(s)
    inst.init()
    try:
        with TestClient(create_app(s, inst)) as c:
            r = [c.get("/api/v1/auth/me") for _ in range(3)][-1]
            assert r.status_code == 401 and "X-RateLimit-Limit" not in r.headers
    finally:
        inst.close()


# ----- Redis shares counters between processes ----------------------------------------
@pytest.mark.redis
@pytest.mark.parametrize("settings", ["redis"], indirect=True)
def test_redis_counters_are_shared_between_processes(api: Api, settings: Settings) -> None:
    from limits import parse
    from limits.storage import RedisStorage
    from limits.strategies import FixedWindowRateLimiter

    for _ in range(4):
        api.get("/auth/me")
    me = str(api.get("/auth/me").json()["id"])
    # A fresh connection, as another web process would open, sees the same counter.
    other = FixedWindowRateLimiter(RedisStorage(settings.redis_url, key_prefix="kartoteka:rl"))
    stats = other.get_window_stats(parse("5/5minutes"), settings.default_workspace, "account", me)
    assert stats.remaining == 0
    assert api.get("/auth/me").status_code == 429


@pytest.mark.redis
def test_redis_login_throttle_agrees_across_processes() -> None:
    client = _redis_or_skip()
    prefix = f"kartoteka:test:{os.getpid()}:{time.time_ns()}:"
    schedule = parse_schedule("3:3,5:30,8:240", 300)
    now = [1_000_000.0]
    first = LoginThrottle(RedisStore(client, prefix), schedule, clock=lambda: now[0], scope="w")
    second = LoginThrottle(
        RedisStore(redis.Redis.from_url(REDIS_URL), prefix),
        schedule,
        clock=lambda: now[0],
        scope="w",
    )
    try:
        for guard in (first, second, first):
            guard.begin("victim@example.com", "203.0.113.9")
        with pytest.raises(RateLimited) as err:
            second.begin("victim@example.com", "203.0.113.9")
        assert err.value.retry_after == 3
        now[0] += 3
        ticket = second.begin("victim@example.com", "203.0.113.9")
        second.succeeded(ticket)
        first.begin("victim@example.com", "203.0.113.9")  # reset everywhere
    finally:
        _drop_keys(client, prefix + "*")
        client.close()


def test_login_counts_against_the_address_limit(client: TestClient) -> None:
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    statuses = [client.post("/api/v1/auth/login", json=body).status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429


def test_the_in_memory_window_counts_as_limits_does() -> None:
    """`hit` builds limits' own keys and counts a fixed window in one step in memory;
    limits' rate limiter reads the same counter and reset time from that storage."""
    from limits import parse
    from limits.strategies import FixedWindowRateLimiter

    from kartoteka.security.ratelimit import SweptMemoryStorage, window_key

    for text in ("5/5minutes", "100/second", "3 per 2 hours"):
        item = parse(text)
        assert window_key(item, "acme", "address", "10.0.0.1") == item.key_for(
            "acme", "address", "10.0.0.1"
        )
    storage = SweptMemoryStorage()
    item = parse("2/minute")
    key = window_key(item, "acme", "account", "7")
    counts = [storage.count(key, item.get_expiry()) for _ in range(3)]
    assert [count for count, _ in counts] == [1, 2, 3]
    assert len({reset_at for _, reset_at in counts}) == 1
    assert time.time() < counts[0][1] <= time.time() + 60
    stats = FixedWindowRateLimiter(storage).get_window_stats(item, "acme", "account", "7")
    assert (stats.remaining, stats.reset_time) == (0, counts[0][1])
    storage.expirations[key] = time.time() - 1  # the window is over: counting starts again
    assert storage.count(key, item.get_expiry())[0] == 1


@pytest.mark.redis
def test_two_instances_on_one_redis_count_apart_by_their_prefix(tmp_path: Path) -> None:
    """Two installations sharing a Redis, each with a workspace of the same name: with
    their own `KARTOTEKA_REDIS_PREFIX` one's requests never use up the other's limit, and
    each hears only its own commits' channel."""
    from kartoteka.server import create_app
    from kartoteka.webhooks.live import redis_channel
    from kartoteka.workspaces.service import Instance

    client = _redis_or_skip()
    tag = f"{os.getpid()}-{time.time_ns()}"
    made = []
    try:
        for n, prefix in enumerate((f"kt-a-{tag}", f"kt-b-{tag}")):
            s = make_settings(tmp_path / str(n), rate_limit_address="3/5minutes")
            s.default_workspace = f"shared{tag[-8:]}".replace("-", "")
            s.redis_url, s.redis_prefix = REDIS_URL, prefix
            inst = Instance(s)
            inst.init()
            made.append((inst, TestClient(create_app(s, inst))))
        (_, first), (_, second) = made
        assert [first.get("/api/v1/auth/me").status_code for _ in range(4)][-1] == 429
        # The same workspace name, the same address: the other instance's count is its own.
        assert second.get("/api/v1/auth/me").status_code == 401
        assert any(client.scan_iter(match=f"kt-a-{tag}:rl*")), "counted under its prefix"
        assert not any(client.scan_iter(match=f"kartoteka:rl*shared{tag[-8:]}*"))
        assert redis_channel(f"kt-a-{tag}") != redis_channel(f"kt-b-{tag}")
        assert redis_channel("kartoteka") == "kartoteka_events"  # the default, as before
    finally:
        for inst, test_client in made:
            test_client.close()
            inst.close()
        for prefix in (f"kt-a-{tag}", f"kt-b-{tag}"):
            _drop_keys(client, f"{prefix}:*")
        client.close()


@pytest.mark.parametrize("value", ["", "kartoteka", "acme-prod", "kt:eu.1_a"])
def test_the_redis_prefix_is_read_from_the_environment(value: str) -> None:
    s = Settings.from_env({"KARTOTEKA_REDIS_PREFIX": value} if value else {})
    assert s.redis_prefix == (value or "kartoteka")


@pytest.mark.parametrize("value", ["two words", "x" * 65, "ключ", "a*b"])
def test_a_bad_redis_prefix_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValueError, match="KARTOTEKA_REDIS_PREFIX"):
        Settings.from_env({"KARTOTEKA_REDIS_PREFIX": value})
