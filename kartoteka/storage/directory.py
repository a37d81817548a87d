"""The account directory in the control database: which workspaces an e-mail has an
active account in.

Accounts live in each workspace (isolated users, rights and sign-in); the workspace
switcher asks across them. Asking each workspace would open every one of them (an engine
and a pool each, thousands on a hosting server), so each workspace's active e-mails are
copied here whenever its users change (`sync`). A workspace written before this table
existed is synced the first time someone asks (`lookup` names it).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .engine import accounts_synced_table, accounts_table, utcnow, workspaces_table


def sync(control: Engine, workspace: str, emails: Iterable[str]) -> None:
    """Replace `workspace`'s accounts with these e-mails (lower-cased)."""
    with control.begin() as conn:
        write_accounts(conn, workspace, emails)


def forget(control: Engine, workspace: str) -> None:
    """Drop a deleted workspace's accounts."""
    with control.begin() as conn:
        clear_accounts(conn, workspace)


def write_accounts(conn: Connection, workspace: str, emails: Iterable[str]) -> None:
    """`sync` in the caller's transaction: the workspace counts as synced from its commit."""
    clear_accounts(conn, workspace)
    rows = [{"email": e.lower(), "workspace": workspace} for e in sorted(set(emails))]
    if rows:
        conn.execute(accounts_table.insert(), rows)
    conn.execute(accounts_synced_table.insert().values(workspace=workspace, synced_at=utcnow()))


def clear_accounts(conn: Connection, workspace: str) -> None:
    """`forget` in the caller's transaction: the workspace counts as never synced (the
    next lookup reads its accounts from it)."""
    conn.execute(accounts_table.delete().where(accounts_table.c.workspace == workspace))
    synced = accounts_synced_table
    conn.execute(synced.delete().where(synced.c.workspace == workspace))


def workspaces_of(control: Engine, email: str) -> list[str]:
    """The existing workspaces where `email` has an active account, by name."""
    with control.connect() as conn:
        return list(conn.execute(_workspaces_of(email)).scalars())


def lookup(control: Engine, email: str) -> tuple[list[str], list[str]]:
    """(workspaces never synced, workspaces where `email` has an account): one
    connection and one round trip for the common case where every workspace is synced."""
    synced = sa.select(accounts_synced_table.c.workspace)
    unsynced_names = sa.select(workspaces_table.c.name.label("workspace"), sa.literal(0).label("k"))
    query = sa.union_all(
        unsynced_names.where(workspaces_table.c.name.not_in(synced)),
        _workspaces_of(email).add_columns(sa.literal(1).label("k")),
    )
    with control.connect() as conn:
        rows = conn.execute(query).all()
    names = sorted(r.workspace for r in rows if r.k == 0)
    return names, sorted(r.workspace for r in rows if r.k == 1)


def _workspaces_of(email: str) -> sa.Select:
    return (
        sa.select(accounts_table.c.workspace)
        .join(workspaces_table, workspaces_table.c.name == accounts_table.c.workspace)
        .where(accounts_table.c.email == email.strip().lower())
    )
