"""Who acts, in which workspace: passed to every service call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from .config import Settings

if TYPE_CHECKING:
    from .catalogs.models import WorkspaceMeta


@dataclass
class Workspace:
    """One company's isolated data: its database engine and its files directory.

    `meta_loader` reads the catalogs and fields (`catalogs.meta.load_meta`); it is passed
    in by whoever opens the workspace so this module depends on no service.
    """

    name: str
    engine: Engine
    files_dir: Path
    settings: Settings
    meta_loader: Callable[[Workspace], WorkspaceMeta]
    meta_holder: dict[str, Any] = field(default_factory=dict)
    #: Called after the workspace's users changed (the instance keeps its account
    #: directory with it); None for a workspace opened outside an instance.
    on_accounts_changed: Callable[[Workspace], None] | None = None

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    def meta(self) -> WorkspaceMeta:
        """The current catalogs and fields (reloaded when another process changed them)."""
        return self.meta_loader(self)


@dataclass
class Actor:
    """The user (or system) performing an operation, with what rights need to know."""

    workspace: Workspace
    user_id: int | None
    email: str = ""
    name: str = ""
    is_admin: bool = False
    profile: dict[str, Any] = field(default_factory=dict)
    group_ids: frozenset[int] = frozenset()
    lang: str = "en"
    token_scopes: dict[str, Any] | None = None
    via: str = "system"
    #: Webhooks whose deliveries led to this request, oldest first (loop protection): set
    #: when the caller echoes a verified `kartoteka-cause` header, empty otherwise.
    cause: tuple[int, ...] = ()
    #: Set when a scenario run writes: `{"run", "step", "depth"}`, stored with the events
    #: (self-triggering depth limit; finding a step's write again after a crash).
    scenario: dict[str, Any] | None = None
    #: Set by the importer: `{"job", "webhooks", "scenarios"}`, stored with each event, so
    #: notify webhooks and scenarios can leave out rows an import asked to keep quiet.
    importing: dict[str, Any] | None = None
    #: Who the actor is for the caches of compiled rules (`access.service.reader_key`),
    #: made on first use: the fields above do not change during an actor's life.
    reader: tuple[Any, ...] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def system(cls, workspace: Workspace) -> Actor:
        """An administrator-equivalent actor for CLI and internal jobs."""
        return cls(workspace=workspace, user_id=None, name="system", is_admin=True)

    @property
    def depth(self) -> int:
        """How many webhook deliveries in a row led to this request (0: a direct one)."""
        return len(self.cause)

    @property
    def timezone(self) -> ZoneInfo:
        """The workspace time zone ('today' and relative dates use it)."""
        return self.workspace.meta().timezone

    @property
    def fold_yo(self) -> bool:
        """Do text comparisons treat ё as е? (The workspace setting `fold_yo`, on by default.)"""
        return self.workspace.meta().settings.get("fold_yo", True) is not False

    def today(self) -> date:
        """Today in the workspace time zone."""
        return datetime.now(self.timezone).date()
