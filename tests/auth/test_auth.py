"""Authentication: passwords, sessions, API tokens, Basic auth and the credential cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest_support import *  # noqa: F403
from conftest_support import ADMIN_EMAIL, ADMIN_PASSWORD

from kartoteka.auth import passwords, tokens
from kartoteka.auth import service as auth
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from kartoteka.storage import schema
from kartoteka.users import service as users


@pytest.fixture
def argon_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count Argon2 verifications made by the auth service."""
    calls: list[str] = []
    real = passwords.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return calls


def test_hash_is_argon2id_with_owasp_parameters() -> None:
    hashed = passwords.hash_password("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password(hashed, "correct horse")
    assert not passwords.verify_password(hashed, "wrong horse")
    assert not passwords.verify_password(None, "anything")
    assert not passwords.needs_rehash(hashed)


def test_weak_hash_is_upgraded_on_login(ws: Workspace, admin: Actor) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(ADMIN_PASSWORD)
    with ws.engine.begin() as conn:
        conn.execute(schema.users.update().values(password_hash=weak))
    auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD)
    with ws.engine.connect() as conn:
        stored = conn.execute(sa.select(schema.users.c.password_hash)).scalar()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_login_returns_session_and_user(ws: Workspace, admin: Actor) -> None:
    token, user = auth.login(ws, " Admin@Example.com ", ADMIN_PASSWORD)
    assert token.startswith("kts_")
    assert user == {"id": admin.user_id, "email": ADMIN_EMAIL, "name": "Administrator"}
    with ws.engine.connect() as conn:
        stored = conn.execute(sa.select(schema.tokens)).one()
    assert stored.token_hash == auth.token_hash(token) and token not in stored.token_hash
    assert stored.kind == "session" and stored.csrf
    assert stored.expires_at - stored.created_at == timedelta(days=ws.settings.session_days)


@pytest.mark.parametrize(
    ("email", "password"),
    [(ADMIN_EMAIL, "wrong-password"), ("nobody@example.com", ADMIN_PASSWORD), ("", ""), (None, 1)],
)
def test_wrong_login_has_one_message_and_one_argon_call(
    ws: Workspace, argon_calls: list[str], email: Any, password: Any
) -> None:
    with pytest.raises(Unauthenticated) as err:
        auth.login(ws, email, password)
    assert err.value.message == "wrong email or password"
    assert len(argon_calls) == 1  # an unknown email costs the same as a wrong password


def test_inactive_user_cannot_log_in(make_user: Callable[..., dict], ws: Workspace) -> None:
    make_user("bob", active=False)
    with pytest.raises(Unauthenticated, match="wrong email or password"):
        auth.login(ws, "bob@example.com", "password-bob")


def test_session_gives_actor_and_csrf(ws: Workspace, make_user: Callable[..., dict]) -> None:
    group = users.create_group(
        auth.actor_for_user(ws, users.find_user_id(ws, ADMIN_EMAIL) or 0), {"name": "Sales"}
    )
    bob = make_user("bob", groups=[group["id"]], profile={"region": "north"})
    token, _ = auth.login(ws, "bob@example.com", "password-bob")
    actor, csrf = auth.actor_from_session(ws, token)
    assert (actor.user_id, actor.email, actor.name, actor.via) == (
        bob["id"],
        "bob@example.com",
        "Bob",
        "session",
    )
    assert actor.group_ids == frozenset({group["id"]}) and actor.profile == {"region": "north"}
    assert not actor.is_admin and len(csrf) >= 32
    bearer = auth.actor_from_token(ws, token)
    assert bearer.via == "token" and bearer.user_id == bob["id"]


def test_api_token_is_not_a_session(ws: Workspace, admin: Actor) -> None:
    created = tokens.create_api_token(admin, "ci")
    with pytest.raises(Unauthenticated):
        auth.actor_from_session(ws, created["token"])


def test_logout_ends_the_session_at_once(ws: Workspace) -> None:
    token, _ = auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD)
    auth.actor_from_token(ws, token)  # now cached
    auth.logout(ws, token)
    with pytest.raises(Unauthenticated):
        auth.actor_from_token(ws, token)
    auth.logout(ws, token)  # a second logout is harmless


def test_logout_everywhere_keeps_api_tokens(ws: Workspace, admin: Actor) -> None:
    sessions = [auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD)[0] for _ in range(2)]
    api = tokens.create_api_token(admin, "ci")["token"]
    for token in sessions:
        auth.actor_from_token(ws, token)
    auth.logout_everywhere(admin)
    for token in sessions:
        with pytest.raises(Unauthenticated):
            auth.actor_from_token(ws, token)
    assert auth.actor_from_token(ws, api).user_id == admin.user_id


@pytest.mark.parametrize("token", ["", "kt_nope", "kts_nope", "garbage", None])
def test_bad_bearer_tokens(ws: Workspace, token: Any) -> None:
    with pytest.raises(Unauthenticated):
        auth.actor_from_token(ws, token)


def test_api_token_lifecycle(ws: Workspace, admin: Actor) -> None:
    expires = datetime.now(UTC) + timedelta(days=3)
    scopes = {"read_only": True, "catalogs": [1, 2]}
    created = tokens.create_api_token(admin, "  ci  ", scopes=scopes, expires_at=expires)
    assert set(created) == {"id", "name", "token", "created_at", "expires_at", "scopes"}
    assert created["token"].startswith("kt_") and created["name"] == "ci"
    assert created["expires_at"].endswith("+00:00")
    actor = auth.actor_from_token(ws, created["token"])
    assert actor.token_scopes == scopes and actor.is_admin
    listed = tokens.list_tokens(admin)
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0] and listed[0]["last_used_at"] is not None
    tokens.revoke_token(admin, created["id"])
    with pytest.raises(Unauthenticated):
        auth.actor_from_token(ws, created["token"])
    assert tokens.list_tokens(admin) == []


def test_scoped_token_cannot_mint_tokens(ws: Workspace, admin: Actor) -> None:
    created = tokens.create_api_token(admin, "ro", scopes={"read_only": True})
    with pytest.raises(Forbidden):
        tokens.create_api_token(auth.actor_from_token(ws, created["token"]), "escalate")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "t", "scopes": {"write": True}}, "scopes"),
        ({"name": "t", "scopes": {"read_only": "yes"}}, "scopes"),
        ({"name": "t", "scopes": {"catalogs": ["a"]}}, "scopes"),
        ({"name": "t", "scopes": []}, "scopes"),
        ({"name": "t", "expires_at": "tomorrow"}, "expires_at"),
        ({"name": "t", "expires_at": "2000-01-01T00:00:00+00:00"}, "expires_at"),
    ],
)
def test_api_token_validation(admin: Actor, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        tokens.create_api_token(admin, **kwargs)
    assert field in err.value.fields


def test_expired_token_is_refused(ws: Workspace, admin: Actor) -> None:
    created = tokens.create_api_token(admin, "short", expires_at=datetime.now(UTC) + timedelta(1))
    with ws.engine.begin() as conn:
        conn.execute(
            schema.tokens.update().values(expires_at=datetime(2000, 1, 1)),
        )
    with pytest.raises(Unauthenticated):
        auth.actor_from_token(ws, created["token"])


def test_only_owner_or_admin_revokes(
    ws: Workspace, admin: Actor, make_user: Callable[..., dict], as_user: Callable[[dict], Actor]
) -> None:
    bob = as_user(make_user("bob"))
    carol = as_user(make_user("carol"))
    bobs = tokens.create_api_token(bob, "bob's")
    with pytest.raises(NotFound):
        tokens.revoke_token(carol, bobs["id"])
    with pytest.raises(NotFound):
        tokens.revoke_token(bob, 987654)
    assert tokens.list_tokens(carol) == []
    tokens.revoke_token(admin, bobs["id"])
    assert tokens.list_tokens(bob) == []


def test_basic_auth_is_cached(ws: Workspace, argon_calls: list[str]) -> None:
    for _ in range(3):
        actor = auth.actor_from_basic(ws, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert actor.via == "basic" and actor.is_admin
    assert len(argon_calls) == 1
    with pytest.raises(Unauthenticated):
        auth.actor_from_basic(ws, ADMIN_EMAIL, "wrong-password")
    with pytest.raises(Unauthenticated):
        auth.actor_from_basic(ws, ADMIN_EMAIL, "wrong-password")
    assert len(argon_calls) == 3  # failures are never cached


def test_peek_basic_is_the_no_io_path_and_follows_changes(
    ws: Workspace, admin: Actor, make_user: Callable[..., dict]
) -> None:
    bob = make_user("bob")
    assert auth.peek_basic(ws, "bob@example.com", "password-bob") is None  # never checked
    auth.actor_from_basic(ws, "bob@example.com", "password-bob")
    peeked = auth.peek_basic(ws, "BOB@example.com", "password-bob")
    assert peeked is not None and peeked.user_id == bob["id"] and peeked.via == "basic"
    assert auth.peek_basic(ws, "bob@example.com", "password-bob!") is None
    users.update_user(admin, bob["id"], {"password": "new-password-bob"})
    assert auth.peek_basic(ws, "bob@example.com", "password-bob") is None
    auth.actor_from_basic(ws, "bob@example.com", "new-password-bob")
    users.update_user(admin, bob["id"], {"active": False})
    assert auth.peek_basic(ws, "bob@example.com", "new-password-bob") is None


def test_basic_cache_never_holds_the_password(ws: Workspace) -> None:
    auth.actor_from_basic(ws, ADMIN_EMAIL, ADMIN_PASSWORD)
    cache = auth.auth_cache(ws)
    assert all(ADMIN_PASSWORD not in key for key in cache._entries)
    assert all(ADMIN_PASSWORD not in repr(value) for value in cache._entries.values())


def test_password_change_stops_cached_credentials(
    ws: Workspace, admin: Actor, make_user: Callable[..., dict]
) -> None:
    bob = make_user("bob")
    session, _ = auth.login(ws, "bob@example.com", "password-bob")
    auth.actor_from_basic(ws, "bob@example.com", "password-bob")
    auth.actor_from_token(ws, session)
    users.update_user(admin, bob["id"], {"password": "new-password-bob"})
    with pytest.raises(Unauthenticated):
        auth.actor_from_basic(ws, "bob@example.com", "password-bob")
    with pytest.raises(Unauthenticated):
        auth.actor_from_token(ws, session)
    assert auth.actor_from_basic(ws, "bob@example.com", "new-password-bob").user_id == bob["id"]


def test_deactivation_stops_tokens_at_once(
    ws: Workspace, admin: Actor, make_user: Callable[..., dict], as_user: Callable[[dict], Actor]
) -> None:
    bob = make_user("bob")
    api = tokens.create_api_token(as_user(bob), "bob")["token"]
    auth.actor_from_token(ws, api)
    auth.actor_from_basic(ws, "bob@example.com", "password-bob")
    users.update_user(admin, bob["id"], {"active": False})
    with pytest.raises(Unauthenticated):
        auth.actor_from_token(ws, api)
    with pytest.raises(Unauthenticated):
        auth.actor_from_basic(ws, "bob@example.com", "password-bob")
    with ws.engine.connect() as conn:
        epoch = conn.execute(
            sa.select(schema.users.c.auth_epoch).where(schema.users.c.id == bob["id"])
        ).scalar()
    assert epoch == 1


def test_group_change_is_seen_at_once(
    ws: Workspace, admin: Actor, make_user: Callable[..., dict]
) -> None:
    bob = make_user("bob")
    assert auth.actor_from_basic(ws, "bob@example.com", "password-bob").group_ids == frozenset()
    group = users.create_group(admin, {"name": "Support"})
    users.update_user(admin, bob["id"], {"groups": [group["id"]]})
    actor = auth.actor_from_basic(ws, "bob@example.com", "password-bob")
    assert actor.group_ids == frozenset({group["id"]})


def test_eviction_during_lookup_is_not_undone(ws: Workspace) -> None:
    cache = auth.auth_cache(ws)
    principal = auth.Principal(1, "a@b.c", "A", False, {}, frozenset(), "en", 0)
    generation = cache.generation
    cache.evict_user(1)  # happens while a slow lookup is still running
    cache.put("k", principal, 30, generation)
    assert cache.get("k") is None


def test_last_used_is_written_at_most_once_a_minute(ws: Workspace, admin: Actor) -> None:
    created = tokens.create_api_token(admin, "ci")
    auth.actor_from_token(ws, created["token"])
    first = tokens.list_tokens(admin)[0]["last_used_at"]
    auth.auth_cache(ws).evict_user(admin.user_id or 0)
    auth.actor_from_token(ws, created["token"])
    assert tokens.list_tokens(admin)[0]["last_used_at"] == first
