"""The workspace switcher: the other workspaces of this server where the signed-in
person (by e-mail) has an account.

Accounts are per workspace (each is isolated: its own users, rights and sign-in), so the
switcher links to each workspace's start page; a workspace the browser is not signed in to
asks for that workspace's password. Looking every workspace up on every page would open
each database, so the answer is kept for a short while per person.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

from kartoteka.context import Actor
from kartoteka.errors import DomainError
from kartoteka.users import service as users

TTL = 30.0  # seconds an answer is reused (a new account shows up within that)
_cache: dict[tuple[int, str], tuple[float, list[str]]] = {}
_lock = threading.Lock()


def _names_with_account(instance: Any, email: str) -> list[str]:
    names = []
    for row in instance.list_workspaces():
        try:
            if users.find_user_id(instance.workspace(row["name"]), email) is not None:
                names.append(row["name"])
        except DomainError:
            continue  # a workspace being created or dropped right now
    return names


def workspaces_of(instance: Any, actor: Actor | None) -> list[dict[str, Any]]:
    """The person's workspaces (name, start page, current?); empty when only this one."""
    if actor is None or not actor.email:
        return []
    key = (id(instance), actor.email.lower())
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is None or hit[0] < now:
        names = _names_with_account(instance, actor.email)
        with _lock:
            _cache[key] = (now + TTL, names)
    else:
        names = hit[1]
    if len(names) < 2:
        return []
    default = instance.settings.default_workspace
    current = actor.workspace.name
    return [
        {
            "name": name,
            "url": "/" if name == default else f"/w/{quote(name, safe='')}/",
            "current": name == current,
        }
        for name in names
    ]


def forget() -> None:
    """Drop the cached answers (tests; a new workspace is otherwise seen within TTL)."""
    with _lock:
        _cache.clear()
