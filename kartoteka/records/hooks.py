"""Extension points around the write path (request webhooks, live feed, workers).

`before_write` hooks run before the transaction and may raise `Rejected`;
`in_transaction` hooks run inside it, after the rows are written (the search index
stays in step with every write); `after_commit` hooks run once it is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor


@dataclass
class PendingChange:
    """One record about to be written: its action, id (None on create) and values.

    `where` and `index` name the item of the request (`ItemError` terms), so a veto
    can say which one it refused.
    """

    action: str  # create | update | delete
    record_id: int | None
    values: dict[str, Any]
    previous: dict[str, Any] = field(default_factory=dict)
    index: int | None = 0  # None for single-record calls
    where: str = ""


BeforeWrite = Callable[[Actor, Catalog, list[PendingChange]], None]
AfterCommit = Callable[[Actor, int, int], None]  # actor, first seq, last seq
#: conn, actor, catalog, the history entries written ({"record_id", "action", "changes"});
#: "action" is also "comment" when a comment was added to the record.
InTransaction = Callable[[Connection, Actor, Catalog, list[dict[str, Any]]], None]


class Searcher(Protocol):
    """Full-text search for the records list (the `search` package provides it)."""

    def prepare(self, actor: Actor, catalog: Catalog, text: Any) -> Any:
        """Parse a query for one catalog; the result has `.condition` (SQL on the table)."""

    def check_query(self, text: Any) -> object:
        """Check a query's syntax without running it (ValueError saying why)."""

    def filter_condition(
        self, actor: Actor, catalog: Catalog, text: Any, field: Any, table: Any, reader: bool
    ) -> Any:
        """A search as a filter condition on `table` (the record, or one field of it)."""

    def list_page(
        self,
        actor: Actor,
        catalog: Catalog,
        found: Any,
        where: list[Any],
        size: int,
        cursor: str | None,
        only: list[str] | None,
        with_count: bool,
    ) -> dict[str, Any]:
        """A page of the records list ordered by relevance."""


#: Set by `kartoteka.plugins.install()`; empty: the records list refuses `search`.
searcher: list[Searcher] = []

#: Filled by `kartoteka.plugins.install()` from the plugin list, never on import.
before_write: list[BeforeWrite] = []
after_commit: list[AfterCommit] = []
#: Run inside the writing transaction once the rows are written (the search index).
in_transaction: list[InTransaction] = []


def add_in_transaction(hook: InTransaction) -> None:
    """Register an in-transaction hook (registering it twice is harmless)."""
    if hook not in in_transaction:
        in_transaction.append(hook)


def run_in_transaction(
    conn: Connection, actor: Actor, catalog: Catalog, entries: list[dict[str, Any]]
) -> None:
    """Call every in-transaction hook; an error rolls the whole write back."""
    for hook in in_transaction:
        hook(conn, actor, catalog, entries)


def add_before_write(hook: BeforeWrite) -> None:
    """Register a before-write hook (registering it twice is harmless)."""
    if hook not in before_write:
        before_write.append(hook)


def add_after_commit(hook: AfterCommit) -> None:
    """Register an after-commit hook (registering it twice is harmless)."""
    if hook not in after_commit:
        after_commit.append(hook)


def interested(actor: Actor, catalog: Catalog) -> bool:
    """Does any before-write hook want writes to this catalog? (Saves building changes.)

    A hook may carry an `interested(actor, catalog)` attribute; without one it is
    always asked. Dry runs (imports checking a file) never call hooks.
    """
    if actor.via == "dry_run":
        return False
    for hook in before_write:
        wants = getattr(hook, "interested", None)
        if wants is None or wants(actor, catalog):
            return True
    return False


def run_before_write(actor: Actor, catalog: Catalog, changes: list[PendingChange]) -> None:
    """Call every before-write hook; any may veto with `Rejected`."""
    for hook in before_write:
        hook(actor, catalog, changes)


def run_after_commit(actor: Actor, first_seq: int, last_seq: int) -> None:
    """Tell listeners that events first..last were committed."""
    if actor.via == "dry_run":
        return  # nothing was committed: the dry run's transaction is rolled back
    later = getattr(actor.workspace.engine, "commit_later", None)
    if later is not None:
        # Written inside a bigger transaction (an import's chunk): its owner announces
        # the events once that commits.
        later.append((first_seq, last_seq))
        return
    for hook in after_commit:
        hook(actor, first_seq, last_seq)
