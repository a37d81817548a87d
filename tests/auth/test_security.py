"""Protection: failed-login delays, security log, TOTP two-factor, token catalog scopes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api

from kartoteka.auth import service as auth
from kartoteka.errors import RateLimited, TotpRequired, Unauthenticated
from kartoteka.security import throttle, totp
from kartoteka.security.throttle import LoginThrottle, MemoryStore, parse_schedule
from kartoteka.users import service as users

DEFAULT = parse_schedule("3:3,5:30,8:240", 300)


class Clock:
    """A hand-driven clock for the throttle."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def login(client: Any, password: str, email: str = ADMIN_EMAIL, **extra: Any) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Passwords actually verified (Argon2 calls) by the auth service."""
    seen: list[str] = []
    real = auth.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        seen.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return seen


# ----- the schedule -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 0), (2, 0), (3, 3), (4, 3), (5, 30), (7, 30), (8, 240), (9, 300)]
)
def test_default_schedule(failures: int, delay: int) -> None:
    assert DEFAULT.delay(failures) == delay


@pytest.mark.parametrize("text", ["3", "3:x", "5:30,3:3", "0:1", "a:b"])
def test_bad_schedule_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text, 300)


def test_thousand_guesses_get_at_most_ten_checks_in_ten_minutes() -> None:
    clock = Clock()
    guard = LoginThrottle(MemoryStore(), DEFAULT, clock=clock)
    start, checked = clock.now, 0
    for _ in range(1000):
        try:
            guard.begin("victim@example.com", "203.0.113.9")
            checked += 1  # a wrong password: nothing to forgive
        except RateLimited as exc:
            clock.now += exc.retry_after  # the most patient attacker waits exactly enough
        if clock.now - start >= 600:
            break
    assert checked <= 10


def test_locked_attempt_is_refused_even_with_the_right_password(client: Any, checks: list) -> None:
    for _ in range(3):
        assert login(client, "wrong-password").status_code == 401
    r = login(client, ADMIN_PASSWORD)
    assert r.status_code == 429 and r.json()["error"] == "RATE_LIMITED"
    assert 1 <= int(r.headers["Retry-After"]) <= 3
    assert checks == ["wrong-password"] * 3  # the locked attempt never reached Argon2


def test_owner_from_another_address_is_not_locked_out(instance: Any) -> None:
    ws = instance.workspace(instance.settings.default_workspace)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            auth.login(ws, ADMIN_EMAIL, "wrong", address="198.51.100.7")
    with pytest.raises(RateLimited):
        auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD, address="198.51.100.7")
    token, user = auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD, address="192.0.2.1")
    assert token and user["email"] == ADMIN_EMAIL


def test_success_resets_the_counter(instance: Any) -> None:
    ws = instance.workspace(instance.settings.default_workspace)
    for _ in range(3):
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                auth.login(ws, ADMIN_EMAIL, "wrong", address="198.51.100.7")
        auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD, address="198.51.100.7")


def test_spread_attack_locks_new_addresses_but_not_known_ones() -> None:
    clock = Clock()
    guard = LoginThrottle(MemoryStore(), DEFAULT, shared_factor=4, clock=clock)
    guard.succeeded(guard.begin("owner@example.com", "192.0.2.1"))  # the owner's office
    for i in range(12):  # twelve bots, one guess each: no pair counter ever trips
        guard.begin("owner@example.com", f"203.0.113.{i}")
    with pytest.raises(RateLimited):
        guard.begin("owner@example.com", "203.0.113.200")
    guard.succeeded(guard.begin("owner@example.com", "192.0.2.1"))


def test_basic_auth_is_throttled_too(client: Any) -> None:
    bad = base64.b64encode(f"{ADMIN_EMAIL}:nope".encode()).decode()
    for _ in range(3):
        r = client.get("/api/v1/auth/me", headers={"Authorization": f"Basic {bad}"})
        assert r.status_code == 401
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Basic {bad}"})
    assert r.status_code == 429 and r.json()["error"] == "RATE_LIMITED"


def test_throttle_settings_come_from_the_environment(instance: Any) -> None:
    ws = instance.workspace(instance.settings.default_workspace)
    guard = throttle.for_workspace(ws)
    assert guard.schedule == DEFAULT and guard.shared.steps[0] == (12, 3)


# ----- security log -------------------------------------------------------------------
def events(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/security/log", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_log_records_logins_failures_lockouts_and_tokens(client: Any, api: Api) -> None:
    for _ in range(3):
        login(client, "wrong-password", email="Nobody@Example.com")
    created = api.post("/auth/tokens", {"name": "ci"}).json()
    assert api.delete(f"/auth/tokens/{created['id']}").status_code == 204
    kinds = [e["event"] for e in events(api)]
    assert kinds[:2] == ["token_revoked", "token_created"]
    assert kinds.count("login_failed") == 3 and kinds.count("lockout") == 1
    assert "login" in kinds
    failed = events(api, event="login_failed")
    assert {e["email"] for e in failed} == {"nobody@example.com"}
    assert failed[0]["address"] == "testclient" and failed[0]["detail"]["reason"] == "password"
    assert "wrong-password" not in str(failed)  # the log never holds a tried password


def test_log_pages_with_a_cursor_and_filters_by_user(client: Any, api: Api) -> None:
    for _ in range(2):
        login(client, "wrong-password")
    me = api.get("/auth/me").json()["id"]
    first = api.get("/security/log", params={"limit": 1, "user": ADMIN_EMAIL}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = api.get("/security/log", params={"cursor": first["next_cursor"], "user": me}).json()
    ids = [first["items"][0]["id"]] + [e["id"] for e in rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3  # login + 2 failures


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"event": "nope"}, "VALIDATION"),
        ({"limit": 0}, "VALIDATION"),
        ({"cursor": "x"}, "BAD_REQUEST"),
    ],
)
def test_log_rejects_bad_parameters(api: Api, params: dict, code: str) -> None:
    r = api.get("/security/log", params=params)
    assert r.status_code in (400, 422) and r.json()["error"] == code


def test_log_is_for_administrators_only(client: Any, api: Api) -> None:
    api.post("/users", {"email": "bob@example.com", "name": "Bob", "password": "password-bob"})
    token = login(client, "password-bob", email="bob@example.com").json()["token"]
    r = client.get("/api/v1/security/log", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"


# ----- TOTP ---------------------------------------------------------------------------
def test_totp_setup_enable_login_and_disable(
    client: Any, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)  # each code is accepted once: step through the window
    monkeypatch.setattr(totp, "clock", lambda: now)
    setup = api.post("/auth/totp/setup").json()
    assert setup["uri"].startswith("otpauth://totp/") and not setup["enabled"]
    assert login(client, ADMIN_PASSWORD).status_code == 200  # pending setup changes nothing
    bad = api.post("/auth/totp/enable", {"code": "000000"})
    assert bad.status_code == 422 and bad.json()["fields"] == {"code": "the current 6-digit code"}
    gen = pyotp.TOTP(setup["secret"])
    code = gen.at(now)
    enable_code = gen.at(now - timedelta(seconds=30))
    assert api.post("/auth/totp/enable", {"code": enable_code}).json() == {"enabled": True}

    r = login(client, ADMIN_PASSWORD)
    assert r.status_code == 401 and r.json()["error"] == "TOTP_REQUIRED"
    r = login(client, ADMIN_PASSWORD, totp="000000" if code != "000000" else "111111")
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHENTICATED"
    assert login(client, ADMIN_PASSWORD, totp=code).status_code == 200
    basic = base64.b64encode(f"{ADMIN_EMAIL}:{ADMIN_PASSWORD}".encode()).decode()
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401 and r.json()["error"] == "TOTP_REQUIRED"

    later = gen.at(now + timedelta(seconds=30))
    assert api.post("/auth/totp/disable", {"code": later}).json() == {"enabled": False}
    assert login(client, ADMIN_PASSWORD).status_code == 200
    kinds = {e["event"] for e in events(api)}
    assert {"totp_enabled", "totp_disabled"} <= kinds


def test_totp_errors(api: Api) -> None:
    r = api.post("/auth/totp/enable", {"code": "123456"})
    assert r.status_code == 409 and r.json()["error"] == "CONFLICT"
    r = api.post("/auth/totp/disable", {"code": "123456"})
    assert r.status_code == 409 and r.json()["error"] == "CONFLICT"
    secret = api.post("/auth/totp/setup").json()["secret"]
    api.post("/auth/totp/enable", {"code": pyotp.TOTP(secret).now()})
    r = api.post("/auth/totp/setup")
    assert r.status_code == 409 and r.json()["error"] == "CONFLICT"
    me = api.get("/auth/me").json()["id"]
    assert api.delete(f"/security/totp/{me}").status_code == 204
    assert api.delete("/security/totp/999999").json()["error"] == "NOT_FOUND"


def test_totp_required_is_not_a_success(instance: Any) -> None:
    ws = instance.workspace(instance.settings.default_workspace)
    admin = auth.actor_for_user(ws, users.find_user_id(ws, ADMIN_EMAIL) or 0)

    secret = totp.setup(admin)["secret"]
    totp.enable(admin, pyotp.TOTP(secret).now())
    for _ in range(3):  # right password, no code: still counted against the attacker
        with pytest.raises(TotpRequired):
            auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD, address="198.51.100.7")
    with pytest.raises(RateLimited):
        auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD, address="198.51.100.7", totp="123456")


# ----- token scopes -------------------------------------------------------------------
def test_token_scoped_to_catalogs_reaches_only_them(client: Any, api: Api) -> None:
    deals = api.catalog("Deals", [{"name": "Title", "type": "text"}])
    api.catalog("Secrets", [{"name": "Title", "type": "text"}])
    token = api.post("/auth/tokens", {"name": "deals", "scopes": {"catalogs": [deals["id"]]}})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    for ref in (deals["id"], deals["api_name"]):
        assert client.get(f"/api/v1/catalogs/{ref}/records", headers=headers).status_code == 200
    for ref in ("secrets", "missing"):
        r = client.get(f"/api/v1/catalogs/{ref}/records", headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
