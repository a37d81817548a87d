"""Logins, sessions, API tokens and Basic auth, with a short in-process credential cache.

Argon2 is deliberately slow, so a successful check is remembered for a few seconds
(keyed by a hash of the credentials, never the raw password). Any change that must
stop a user at once — password change, deactivation, revocation, deletion — calls
`evict_user`, and bumps the user's `auth_epoch` so that a future shared cache
(Redis) can refuse entries minted before the change.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from kartoteka.context import Actor, Workspace
from kartoteka.errors import Forbidden, TotpRequired
from kartoteka.security import log, throttle
from kartoteka.security import totp as two_factor
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection, utcnow

from .errors import WrongCredentials
from .passwords import hash_password, needs_rehash, verify_password

API_PREFIX = "kt_"
SESSION_PREFIX = "kts_"
BEARER_CACHE_SECONDS = 10.0  # token lookups are cheap; keep revocation latency low
LAST_USED_EVERY = timedelta(minutes=1)
MAX_CACHE_ENTRIES = 10_000
MAX_PASSWORD_LENGTH = 4096  # Argon2 accepts more, but nobody types it and it costs time


@dataclass(frozen=True)
class Principal:
    """What a verified credential says about its user; safe to cache."""

    user_id: int
    email: str
    name: str
    is_admin: bool
    profile: dict[str, Any]
    group_ids: frozenset[int]
    lang: str
    epoch: int
    kind: str = "basic"
    token_id: int | None = None
    scopes: dict[str, Any] | None = None
    csrf: str | None = None


class AuthCache:
    """Verified credentials of one workspace, each kept for a few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Principal]] = {}
        # Bumped by every eviction: a lookup that started before an eviction must not
        # store what it read, or a just-revoked credential would live on for a TTL.
        self.generation = 0
        # Striped locks make concurrent misses on one credential wait for a single
        # Argon2 check instead of each running their own (32 clients -> 32 hashes).
        self._stripes = [threading.Lock() for _ in range(64)]

    def key_lock(self, key: str) -> threading.Lock:
        """The lock serialising the first verification of `key`."""
        return self._stripes[hash(key) % len(self._stripes)]

    def get(self, key: str) -> Principal | None:
        """The cached principal for `key`, if still fresh."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: str, principal: Principal, ttl: float, generation: int) -> None:
        """Remember `principal` for `ttl` seconds unless an eviction happened meanwhile."""
        if ttl <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_CACHE_ENTRIES:
                self._prune()
            self._entries[key] = (time.monotonic() + ttl, principal)

    def _prune(self) -> None:
        now = time.monotonic()
        self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        if len(self._entries) >= MAX_CACHE_ENTRIES:
            self._entries.clear()

    def evict_user(self, user_id: int) -> None:
        """Forget every cached credential of a user."""
        with self._lock:
            self.generation += 1
            self._entries = {k: v for k, v in self._entries.items() if v[1].user_id != user_id}


def auth_cache(ws: Workspace) -> AuthCache:
    """The credential cache of a workspace object (one per process and instance)."""
    cache = ws.meta_holder.get("auth_cache")
    if cache is None:
        cache = ws.meta_holder.setdefault("auth_cache", AuthCache())
    return cache


def evict_user(ws: Workspace, user_id: int) -> None:
    """Drop cached credentials of a user (password change, deactivation, revocation...)."""
    auth_cache(ws).evict_user(user_id)


def token_hash(token: str) -> str:
    """The stored form of a token: sha256 hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: Any) -> str:
    """Emails are compared lower-case and without surrounding spaces."""
    # A NUL can match no stored address, and PostgreSQL refuses it as a query parameter.
    return email.strip().lower() if isinstance(email, str) and "\x00" not in email else ""


# ----- reading users ------------------------------------------------------------------
def _read(ws: Workspace) -> Connection:
    return read_connection(ws.engine)


def _user_by_email(conn: Connection, email: str) -> Row[Any] | None:
    users = schema.users
    return conn.execute(sa.select(users).where(users.c.email == email)).first()


def _group_ids(conn: Connection, user_id: int) -> frozenset[int]:
    ug = schema.user_groups
    rows = conn.execute(sa.select(ug.c.group_id).where(ug.c.user_id == user_id))
    return frozenset(int(r[0]) for r in rows)


def _principal(conn: Connection, user: Row[Any], **extra: Any) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        is_admin=bool(user.is_admin),
        profile=dict(user.profile or {}),
        group_ids=_group_ids(conn, user.id),
        # Empty when the user never chose: the UI then follows the browser's language.
        lang=user.lang or "",
        epoch=int(user.auth_epoch or 0),
        **extra,
    )


def _actor(ws: Workspace, p: Principal, via: str) -> Actor:
    return Actor(
        workspace=ws,
        user_id=p.user_id,
        email=p.email,
        name=p.name,
        is_admin=p.is_admin,
        profile=dict(p.profile),
        group_ids=p.group_ids,
        lang=p.lang,
        token_scopes=dict(p.scopes) if p.scopes else None,
        via=via,
    )


def actor_for_user(ws: Workspace, user_id: int, via: str = "system") -> Actor:
    """An actor for an existing active user (CLI, workers, tests)."""
    with _read(ws) as conn:
        user = conn.execute(sa.select(schema.users).where(schema.users.c.id == user_id)).first()
        if user is None or not user.active:
            raise WrongCredentials.of("no_active_user")
        return _actor(ws, _principal(conn, user), via)


# ----- passwords: login and Basic -----------------------------------------------------
def _check_password(ws: Workspace, email: Any, password: Any) -> Principal:
    """Verify credentials against the database (one Argon2 verification in every case)."""
    email = normalise_email(email)
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    with _read(ws) as conn:
        user = _user_by_email(conn, email) if email else None
        ok = verify_password(user.password_hash if user is not None else None, password)
        if user is None or not ok or not user.active:
            raise WrongCredentials.of("wrong_login")
        principal = _principal(conn, user)
    if needs_rehash(user.password_hash):
        _store_hash(ws, user.id, hash_password(password))
    return principal


def _store_hash(ws: Workspace, user_id: int, password_hash: str) -> None:
    with ws.engine.begin() as conn:
        conn.execute(
            schema.users.update()
            .where(schema.users.c.id == user_id)
            .values(password_hash=password_hash)
        )


def _guarded_check(
    ws: Workspace, email: Any, password: Any, address: str | None, via: str, totp: Any = None
) -> Principal:
    """`_check_password` behind the failed-login throttle, plus two-factor; logs failures.

    The throttle refuses a locked attempt before any hash is computed; see
    kartoteka/security/throttle.py for why the attempt is counted before the check.
    """
    account = normalise_email(email)
    guard = throttle.for_workspace(ws)
    ticket = guard.begin(account, address)
    try:
        p = _check_password(ws, email, password)
        secret = two_factor.enabled_secret(ws, p.user_id)
        if secret is not None:
            _check_second_factor(ws, p.user_id, secret, totp, via)
    except WrongCredentials as exc:
        reason = "totp" if isinstance(exc, SecondFactorWrong) else "password"
        log.log_event(ws, "login_failed", address=address, email=account, via=via, reason=reason)
        if ticket.lockout:
            log.log_event(
                ws,
                "lockout",
                address=address,
                email=account,
                seconds=ticket.lockout,
                failures=max(ticket.counts),
            )
        raise
    # TotpRequired passes through uncounted-back: a right password without the code is
    # not a success, or alternating the two would allow unlimited guesses at the code.
    guard.succeeded(ticket)
    return p


class SecondFactorWrong(WrongCredentials):
    """The password was right but the two-factor code was wrong."""


def _check_second_factor(ws: Workspace, user_id: int, secret: str, code: Any, via: str) -> None:
    if via == "basic":
        raise TotpRequired.of("totp_basic")
    if code is None or code == "":
        raise TotpRequired.of("totp_required")
    if not two_factor.use_code(ws, user_id, secret, code):
        raise SecondFactorWrong.of("totp_wrong")


def login(
    ws: Workspace,
    email: str,
    password: str,
    address: str | None = None,
    totp: Any = None,
) -> tuple[str, dict[str, Any]]:
    """Check email, password (and TOTP code); return a new session token and the user."""
    p = _guarded_check(ws, email, password, address, "login", totp)
    log.log_event(ws, "login", address=address, user_id=p.user_id, email=p.email)
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    with ws.engine.begin() as conn:
        conn.execute(
            schema.tokens.insert().values(
                user_id=p.user_id,
                kind="session",
                token_hash=token_hash(token),
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(days=ws.settings.session_days),
            )
        )
    return token, {"id": p.user_id, "email": p.email, "name": p.name}


def _basic_key(ws: Workspace, email: str, password: str) -> str:
    raw = "\0".join(
        (ws.name, normalise_email(email), password if isinstance(password, str) else "")
    )
    return "b:" + hashlib.sha256(raw.encode()).hexdigest()


def peek_basic(ws: Workspace, email: str, password: str) -> Actor | None:
    """The actor for Basic credentials verified recently by this process (no I/O), else None."""
    p = auth_cache(ws).get(_basic_key(ws, email, password))
    return None if p is None else _actor(ws, p, "basic")


def actor_from_basic(ws: Workspace, email: str, password: str, address: str | None = None) -> Actor:
    """The actor for HTTP Basic credentials; successful checks are cached briefly."""
    cache = auth_cache(ws)
    key = _basic_key(ws, email, password)
    p = cache.get(key)
    if p is None:
        with cache.key_lock(key):
            p = cache.get(key)
            if p is None:
                generation = cache.generation
                p = _guarded_check(ws, email, password, address, "basic")
                cache.put(key, p, ws.settings.auth_cache_seconds, generation)
    return _actor(ws, p, "basic")


# ----- bearer tokens ------------------------------------------------------------------
def _principal_for_token(ws: Workspace, token: str) -> Principal:
    if not isinstance(token, str) or not token.startswith((API_PREFIX, SESSION_PREFIX)):
        raise WrongCredentials.of("wrong_token")
    cache = auth_cache(ws)
    key = "t:" + token_hash(token)
    p = cache.get(key)
    if p is not None:
        return p
    generation = cache.generation
    p, expires_at, last_used = _lookup_token(ws, token_hash(token))
    now = utcnow()
    if last_used is None or now - last_used >= LAST_USED_EVERY:
        _touch(ws, p.token_id, now)
    ttl = min(ws.settings.auth_cache_seconds, BEARER_CACHE_SECONDS)
    if expires_at is not None:
        ttl = min(ttl, (expires_at - now).total_seconds())
    cache.put(key, p, ttl, generation)
    return p


def _lookup_token(ws: Workspace, hashed: str) -> tuple[Principal, datetime | None, datetime | None]:
    tokens, users = schema.tokens, schema.users
    with _read(ws) as conn:
        tok = conn.execute(sa.select(tokens).where(tokens.c.token_hash == hashed)).first()
        if tok is None or (tok.expires_at is not None and tok.expires_at <= utcnow()):
            raise WrongCredentials.of("wrong_token")
        user = conn.execute(sa.select(users).where(users.c.id == tok.user_id)).first()
        if user is None or not user.active:
            raise WrongCredentials.of("wrong_token")
        p = _principal(conn, user, kind=tok.kind, token_id=tok.id, scopes=tok.scopes, csrf=tok.csrf)
    return p, tok.expires_at, tok.last_used_at


def _touch(ws: Workspace, token_id: int | None, now: datetime) -> None:
    with ws.engine.begin() as conn:
        conn.execute(
            schema.tokens.update().where(schema.tokens.c.id == token_id).values(last_used_at=now)
        )


def peek_token(ws: Workspace, token: str) -> Actor | None:
    """The actor for a bearer token when it is in the in-memory cache (no I/O), else None."""
    if not isinstance(token, str) or not token.startswith((API_PREFIX, SESSION_PREFIX)):
        return None
    p = auth_cache(ws).get("t:" + token_hash(token))
    return None if p is None else _actor(ws, p, "token")


def actor_from_token(ws: Workspace, token: str) -> Actor:
    """The actor for `Authorization: Bearer` (a session or an API token)."""
    return _actor(ws, _principal_for_token(ws, token), "token")


def actor_from_session(ws: Workspace, token: str) -> tuple[Actor, str]:
    """The actor and CSRF token for a session cookie."""
    p = _principal_for_token(ws, token)
    if p.kind != "session" or not p.csrf:
        raise WrongCredentials.of("wrong_token")
    return _actor(ws, p, "session"), p.csrf


def logout(ws: Workspace, token: str) -> None:
    """End one session (unknown tokens are ignored)."""
    tokens = schema.tokens
    if not isinstance(token, str):
        return
    with ws.engine.begin() as conn:
        user_id = conn.execute(
            tokens.delete()
            .where(tokens.c.token_hash == token_hash(token), tokens.c.kind == "session")
            .returning(tokens.c.user_id)
        ).scalar()
    if user_id is not None:
        evict_user(ws, user_id)


def bump_auth_epoch(conn: Connection, user_id: int) -> None:
    """Mark every credential minted so far for the user as stale."""
    users = schema.users
    conn.execute(
        users.update().where(users.c.id == user_id).values(auth_epoch=users.c.auth_epoch + 1)
    )


def end_sessions(conn: Connection, user_id: int) -> None:
    """Delete every session of a user (API tokens stay)."""
    tokens = schema.tokens
    conn.execute(tokens.delete().where(tokens.c.user_id == user_id, tokens.c.kind == "session"))


def revoke_api_tokens(conn: Connection, user_id: int) -> None:
    """Delete every API token of a user (a password change)."""
    tokens = schema.tokens
    conn.execute(tokens.delete().where(tokens.c.user_id == user_id, tokens.c.kind == "api"))


def password_is_current(ws: Workspace, user_id: int, password: str) -> bool:
    """Whether `password` is the user's password now, behind the failed-login throttle (a
    stolen session must not become a free password oracle); failures are logged."""
    with _read(ws) as conn:
        row = conn.execute(
            sa.select(schema.users.c.email, schema.users.c.password_hash).where(
                schema.users.c.id == user_id
            )
        ).first()
    email = row.email if row is not None else ""
    guard = throttle.for_workspace(ws)
    ticket = guard.begin(email, None)
    ok = (
        row is not None
        and len(password) <= MAX_PASSWORD_LENGTH
        and verify_password(row.password_hash, password)
    )
    if ok:
        guard.succeeded(ticket)
    else:
        log.log_event(ws, "login_failed", email=email, via="password_change", reason="password")
    return ok


def own_user_id(actor: Actor) -> int:
    """The actor's user id; Forbidden for the system actor (it holds no sessions or tokens)."""
    if actor.user_id is None:
        raise Forbidden.of("tokens_user_only")
    return actor.user_id


def logout_everywhere(actor: Actor) -> None:
    """End every session of the actor's user."""
    user_id = own_user_id(actor)
    with actor.workspace.engine.begin() as conn:
        bump_auth_epoch(conn, user_id)
        end_sessions(conn, user_id)
    evict_user(actor.workspace, user_id)
    log.log_event(actor.workspace, "logout_everywhere", actor=actor)
