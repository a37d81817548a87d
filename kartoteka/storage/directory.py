"""The account directory in the control database: which workspaces an e-mail has an
active account in.

Accounts live in each workspace (isolated users, rights and sign-in); the workspace
switcher asks across them. Asking each workspace would open every one of them (an engine
and a pool each, thousands on a hosting server), so each workspace's active e-mails are
copied here whenever its users change (`sync`). A workspace written before this table
existed is synced the first time someone asks (`unsynced`).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .engine import accounts_synced_table, accounts_table, utcnow, workspaces_table


def sync(control: Engine, workspace: str, emails: Iterable[str]) -> None:
    """Replace `workspace`'s accounts with these e-mails (lower-cased)."""
    rows = [{"email": e.lower(), "workspace": workspace} for e in sorted(set(emails))]
    with control.begin() as conn:
        conn.execute(accounts_table.delete().where(accounts_table.c.workspace == workspace))
        if rows:
            conn.execute(accounts_table.insert(), rows)
        synced = accounts_synced_table
        conn.execute(synced.delete().where(synced.c.workspace == workspace))
        conn.execute(synced.insert().values(workspace=workspace, synced_at=utcnow()))


def forget(control: Engine, workspace: str) -> None:
    """Drop a deleted workspace's accounts."""
    with control.begin() as conn:
        conn.execute(accounts_table.delete().where(accounts_table.c.workspace == workspace))
        synced = accounts_synced_table
        conn.execute(synced.delete().where(synced.c.workspace == workspace))


def unsynced(control: Engine) -> list[str]:
    """Workspaces whose accounts were never copied here."""
    synced = sa.select(accounts_synced_table.c.workspace)
    query = sa.select(workspaces_table.c.name).where(workspaces_table.c.name.not_in(synced))
    with control.connect() as conn:
        return list(conn.execute(query.order_by(workspaces_table.c.name)).scalars())


def workspaces_of(control: Engine, email: str) -> list[str]:
    """The existing workspaces where `email` has an active account, by name."""
    query = (
        sa.select(accounts_table.c.workspace)
        .join(workspaces_table, workspaces_table.c.name == accounts_table.c.workspace)
        .where(accounts_table.c.email == email.strip().lower())
        .order_by(accounts_table.c.workspace)
    )
    with control.connect() as conn:
        return list(conn.execute(query).scalars())
