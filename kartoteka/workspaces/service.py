"""Create, open, list, migrate and delete workspaces; first-start initialisation."""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kartoteka import plugins
from kartoteka.catalogs.meta import load_meta
from kartoteka.config import Settings
from kartoteka.context import Actor, Workspace
from kartoteka.storage import directory, schema
from kartoteka.storage.engine import (
    WORKSPACE_NAME,
    Databases,
    current_revision,
    head_revision,
    read_connection,
    upgrade_workspace,
    utcnow,
    workspaces_table,
)
from kartoteka.users import service as users_service

from .errors import BadWorkspaceName, WorkspaceExists, WorkspaceNotFound

DEFAULT_ADMIN_EMAIL = "admin@example.com"
#: Seconds a process reuses its answer to "which workspaces has this e-mail an account
#: in" (the switcher on every signed-in page). A change made in this process clears it at
#: once; one made by another process shows within this time.
ACCOUNTS_TTL = 10.0
_ACCOUNTS_CACHE_MAX = 10_000


def check_name(name: str) -> str:
    """Return `name` if it is a valid workspace name, else raise BadWorkspaceName."""
    if not isinstance(name, str) or not WORKSPACE_NAME.match(name):
        raise BadWorkspaceName.of("workspace_name", "name")
    return name


class Instance:
    """One server's view: settings, control DB, cached Workspace objects."""

    def __init__(self, settings: Settings) -> None:
        plugins.install()  # field types, system catalogs and write hooks, once per process
        self.settings = settings
        self.dbs = Databases(settings.data_dir, settings.database_url)
        self._workspaces: dict[str, Workspace] = {}
        self._lock = threading.Lock()
        self._accounts: dict[str, tuple[float, list[str]]] = {}  # e-mail -> (when, names)

    # ----- lookup ---------------------------------------------------------------------
    def location(self, name: str) -> str | None:
        """Where a workspace lives according to the control database (None: no such one)."""
        if not isinstance(name, str) or not WORKSPACE_NAME.match(name):
            return None  # never created, and PostgreSQL refuses some strings (NUL) outright
        with self.dbs.control.connect() as conn:
            return conn.execute(
                sa.select(workspaces_table.c.location).where(workspaces_table.c.name == name)
            ).scalar()

    def cached_workspace(self, name: str) -> Workspace | None:
        """The workspace if this process has already opened it (no I/O), else None."""
        return self._workspaces.get(name)

    def workspace(self, name: str) -> Workspace:
        """The (cached, migrated) workspace called `name`; WorkspaceNotFound if absent."""
        cached = self._workspaces.get(name)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._workspaces.get(name)
            if cached is not None:
                return cached
            location = self.location(name)
            if location is None:
                raise WorkspaceNotFound.of("workspace_not_found", None, name=name)
            engine = self.dbs.engine_for_location(name, location)
            self.dbs.ensure_migrated(name, engine)
            ws = Workspace(
                name=name,
                engine=engine,
                files_dir=self.settings.data_dir / "files" / name,
                settings=self.settings,
                meta_loader=load_meta,
                on_accounts_changed=self._sync_accounts,
            )
            self._workspaces[name] = ws
            return ws

    def list_workspaces(self) -> list[dict[str, Any]]:
        """Every workspace of this instance: name, location, created_at."""
        with self.dbs.control.connect() as conn:
            rows = conn.execute(sa.select(workspaces_table).order_by(workspaces_table.c.name)).all()
        return [{"name": r.name, "location": r.location, "created_at": r.created_at} for r in rows]

    # ----- the account directory (the workspace switcher) -----------------------------
    def _sync_accounts(self, ws: Workspace) -> None:
        directory.sync(self.dbs.control, ws.name, users_service.active_emails(ws))
        self._accounts.clear()

    def workspaces_with_account(self, email: str) -> list[str]:
        """The workspaces where `email` has an active account: at most one
        control-database query, none when this process answered it in the last
        ACCOUNTS_TTL seconds (a workspace never synced since the directory appeared is
        synced first)."""
        key = email.strip().lower()
        now = time.monotonic()
        hit = self._accounts.get(key)
        if hit is not None and now - hit[0] < ACCOUNTS_TTL:
            return hit[1]
        unsynced, names = directory.lookup(self.dbs.control, key)
        if unsynced:
            for name in unsynced:
                try:
                    self._sync_accounts(self.workspace(name))
                except WorkspaceNotFound:
                    continue  # dropped a moment ago
            names = directory.workspaces_of(self.dbs.control, key)
        if len(self._accounts) >= _ACCOUNTS_CACHE_MAX:
            self._accounts.clear()
        self._accounts[key] = (now, names)
        return names

    # ----- create / delete ------------------------------------------------------------
    def create_workspace(self, name: str) -> Workspace:
        """Create an empty workspace at the head schema revision."""
        check_name(name)
        location = self.dbs.location_for(name)
        # Synced, with no accounts yet, from the moment it is registered: a switcher asking
        # meanwhile (another request or process) must not take it for a workspace from
        # before the directory and open and migrate it while it is being created.
        self._claim_name(name, location, accounts=[])
        try:
            self.dbs.create_storage(location)
            upgrade_workspace(self.dbs.engine_for_location(name, location))
            self._accounts.clear()
        except BaseException:
            # A half-created workspace must not stay registered.
            self._forget(name, location)
            raise
        return self.workspace(name)

    def register(self, name: str, location: str) -> None:
        """Add a control row for storage that already exists (restore)."""
        check_name(name)
        self._claim_name(name, location, accounts=None)  # its accounts are synced when asked
        self._accounts.clear()

    def _claim_name(self, name: str, location: str, *, accounts: list[str] | None) -> None:
        """Register the workspace with its `accounts` in the directory (None: none known,
        read from the workspace when first asked), both in one transaction."""
        # The primary key on the control row decides races between processes.
        try:
            with self.dbs.control.begin() as conn:
                conn.execute(
                    workspaces_table.insert().values(
                        name=name, location=location, created_at=utcnow()
                    )
                )
                if accounts is None:
                    directory.clear_accounts(conn, name)
                else:
                    directory.write_accounts(conn, name, accounts)
        except IntegrityError:
            raise WorkspaceExists.of("workspace_exists", None, name=name) from None

    def delete_workspace(self, name: str) -> None:
        """Drop a workspace's database, its files and its control row."""
        location = self.location(name)
        if location is None:
            raise WorkspaceNotFound.of("workspace_not_found", None, name=name)
        self._forget(name, location)

    def _forget(self, name: str, location: str) -> None:
        with self._lock:
            self._workspaces.pop(name, None)
        self.dbs.drop_storage(name, location)
        shutil.rmtree(self.settings.data_dir / "files" / name, ignore_errors=True)
        with self.dbs.control.begin() as conn:
            conn.execute(workspaces_table.delete().where(workspaces_table.c.name == name))
        directory.forget(self.dbs.control, name)
        self._accounts.clear()

    # ----- first start and upgrades ---------------------------------------------------
    def init(self) -> dict[str, Any] | None:
        """Ensure the default workspace and its first administrator; return new credentials."""
        name = self.settings.default_workspace
        if self.location(name) is None:
            try:
                self.create_workspace(name)
            except WorkspaceExists:
                pass  # Another process created it a moment ago.
        ws = self.workspace(name)
        if _has_active_admin(ws):
            return None
        return _create_first_admin(ws, self.settings)

    def migrate_all(
        self, progress: Callable[[str], None] | None = None
    ) -> list[tuple[str, str | None, str]]:
        """Upgrade every workspace to head; return (name, from revision, to revision)."""
        head = head_revision()
        done: list[tuple[str, str | None, str]] = []
        for row in self.list_workspaces():
            engine = self.dbs.engine_for_location(row["name"], row["location"])
            before = current_revision(engine)
            if before != head:
                upgrade_workspace(engine)
            done.append((row["name"], before, head))
            if progress is not None:
                progress(row["name"])
        return done

    def close(self) -> None:
        """Dispose every engine; the instance must not be used afterwards."""
        with self._lock:
            self._workspaces.clear()
        self.dbs.dispose()


def _has_active_admin(ws: Workspace) -> bool:
    users = schema.users
    with read_connection(ws.engine) as conn:
        found = conn.execute(
            sa.select(users.c.id).where(users.c.is_admin.is_(True), users.c.active.is_(True))
        ).first()
    return found is not None


def _create_first_admin(ws: Workspace, settings: Settings) -> dict[str, Any]:
    email = (settings.admin_email or DEFAULT_ADMIN_EMAIL).strip().lower()
    generated = not settings.admin_password
    password = settings.admin_password or secrets.token_urlsafe(12)
    system = Actor.system(ws)
    existing = users_service.find_user_id(ws, email)
    patch = {"is_admin": True, "active": True, "password": password}
    if existing is None:
        users_service.create_user(system, {"email": email, "name": "Administrator", **patch})
    else:
        users_service.update_user(system, existing, patch)
    return {"email": email, "password": password, "generated": generated}
