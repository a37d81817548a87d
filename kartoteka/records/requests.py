"""The typed write API: what callers ask `records.service.batch` to do, and what it did.

Every writer (REST API, HTML forms, imports, scenarios) builds a `BatchRequest` of
items and gets a `BatchResult` back, or a domain error whose `errors` are
`ItemError` values naming the list, item and field. JSON and messages are made at
the edges (`kartoteka.api.records_json`, `kartoteka.messages`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CreateItem:
    """A new record: values keyed by field api_name, as a client writes them."""

    values: Mapping[str, Any]
    #: A scenario run writing this item as one of many runs' writes in one batch: its
    #: `{"id", "run", "step", "depth"}` marker goes with this item's event instead of
    #: the actor's (see `Actor.scenario`).
    scenario: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class UpdateItem:
    """Change the given fields of record `id`; with `version`, only if it is still that one."""

    id: int
    values: Mapping[str, Any]
    version: int | None = None
    #: A scenario run writing this item as one of many runs' writes in one batch: its
    #: `{"id", "run", "step", "depth"}` marker goes with this item's event instead of
    #: the actor's (see `Actor.scenario`).
    scenario: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class DeleteItem:
    """Delete record `id`; with `version`, only if it is still that one."""

    id: int
    version: int | None = None
    #: A scenario run writing this item as one of many runs' writes in one batch: its
    #: `{"id", "run", "step", "depth"}` marker goes with this item's event instead of
    #: the actor's (see `Actor.scenario`).
    scenario: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Upsert:
    """Create-or-update by a key: one unique field, or several stored fields together."""

    key: tuple[str, ...]
    items: Sequence[CreateItem]


@dataclass(frozen=True)
class BatchRequest:
    """Up to 1000 items written in one transaction, all or nothing."""

    create: Sequence[CreateItem] = ()
    update: Sequence[UpdateItem] = ()
    delete: Sequence[DeleteItem] = ()
    upsert: Upsert | None = None

    @property
    def size(self) -> int:
        """How many records the request names."""
        upserts = len(self.upsert.items) if self.upsert else 0
        return len(self.create) + len(self.update) + len(self.delete) + upserts

    @classmethod
    def creating(cls, rows: Sequence[Mapping[str, Any]]) -> BatchRequest:
        """A request creating one record per values mapping."""
        return cls(create=[CreateItem(values) for values in rows])

    @classmethod
    def deleting(cls, ids: Sequence[int]) -> BatchRequest:
        """A request deleting records by id."""
        return cls(delete=[DeleteItem(i) for i in ids])


@dataclass
class BatchResult:
    """Ids of what a batch did, each list in the order of the request's items.

    `created` holds new records (upserted ones too), `updated` records whose values
    changed, `unchanged` records an update or upsert named whose values were already
    as given (nothing written for them: no history, no event). `upserted` lists the
    record of every upsert item in order, or is None when the request had no upsert.
    """

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    upserted: list[int] | None = None
