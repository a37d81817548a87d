"""The workspace switcher: the other workspaces of this server where the signed-in
person (by e-mail) has an active account.

Accounts are per workspace (each is isolated: its own users, rights and sign-in), so the
switcher links to each workspace's start page; a workspace the browser is not signed in to
asks for that workspace's password. The instance answers from its account directory in
the control database (`storage/directory.py`): one query, not one per workspace.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kartoteka.context import Actor


def workspaces_of(instance: Any, actor: Actor | None) -> list[dict[str, Any]]:
    """The person's workspaces (name, start page, current?); empty when only this one."""
    if actor is None or not actor.email:
        return []
    names = instance.workspaces_with_account(actor.email)
    current = actor.workspace.name
    if len(names) < 2:
        return []
    default = instance.settings.default_workspace
    return [
        {
            "name": name,
            "url": "/" if name == default else f"/w/{quote(name, safe='')}/",
            "current": name == current,
        }
        for name in names
    ]
