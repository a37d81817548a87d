"""The built-in plugins, listed once (datasette's `DEFAULT_PLUGINS` is the model).

A plugin brings field types, system catalogs and write hooks. Importing a module never
installs anything: `install()` puts every listed piece into its registry
(`fields.registry`, `catalogs.system`, `records.hooks`). `workspaces.Instance` calls it
when it starts, so the app, the CLI, the worker, the benchmarks and the tests all run
with the same set. A third-party plugin is one more `Plugin` passed to `install`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kartoteka import workers
from kartoteka.catalogs.system import Builder
from kartoteka.catalogs.system import register as register_system_catalog
from kartoteka.duplicates import check as duplicate_check
from kartoteka.duplicates import keys as duplicate_keys
from kartoteka.fields import (
    autonumber,
    checkbox,
    date,
    datetime,
    email,
    file,
    link,
    long_text,
    money,
    number,
    phone,
    select,
    text,
    url,
    user,
)
from kartoteka.fields import system as system_fields
from kartoteka.fields.base import FieldType
from kartoteka.fields.registry import register as register_field_type
from kartoteka.filters.compiler import search_syntax
from kartoteka.records import hooks
from kartoteka.records.hooks import AfterCommit, BeforeWrite, InTransaction, Searcher
from kartoteka.scenarios import processes
from kartoteka.search import index as search_index
from kartoteka.search import service as search_service
from kartoteka.webhooks import live, request_hooks, system_catalog


@dataclass(frozen=True)
class Plugin:
    """What one plugin adds: field types, system catalog builders and write hooks."""

    name: str
    field_types: tuple[type[FieldType], ...] = ()
    #: (the catalog's `options.system` name, its builder)
    system_catalogs: tuple[tuple[str, Builder], ...] = ()
    before_write: tuple[BeforeWrite, ...] = ()
    in_transaction: tuple[InTransaction, ...] = ()
    #: Full-text search behind the records list's `search` (the last one listed wins).
    searcher: Searcher | None = None
    after_commit: tuple[AfterCommit, ...] = ()


DEFAULT_PLUGINS: tuple[Plugin, ...] = (
    Plugin(
        "fields",
        field_types=(
            text.TextType,
            long_text.LongTextType,
            number.NumberType,
            money.MoneyType,
            date.DateType,
            datetime.DateTimeType,
            checkbox.CheckboxType,
            select.SelectType,
            user.UserType,
            email.EmailType,
            phone.PhoneType,
            url.UrlType,
            link.LinkType,
            file.FileType,
            autonumber.AutonumberType,
            system_fields.CreatedAtType,
            system_fields.UpdatedAtType,
            system_fields.CreatedByType,
            system_fields.UpdatedByType,
        ),
    ),
    Plugin(
        "webhooks",
        system_catalogs=((system_catalog.NAME, system_catalog.build),),
        # Request webhooks may veto a write; the live feed hears every commit.
        before_write=(request_hooks.check_request_webhooks,),
        after_commit=(live.on_commit,),
    ),
    # Stage-based processes refuse moves their rules do not allow.
    Plugin("processes", before_write=(processes.check,)),
    # A commit in this process wakes the outbox worker at once (no poll wait).
    Plugin("workers", after_commit=(workers.on_commit,)),
    # Duplicate rules: a write duplicating a record is refused before the transaction;
    # every record's normalised keys follow it inside the transaction.
    Plugin(
        "duplicates",
        before_write=(duplicate_check.check,),
        in_transaction=(duplicate_keys.on_write,),
    ),
    # The full-text index follows every write inside its transaction.
    Plugin("search", in_transaction=(search_index.on_write,), searcher=search_service.SEARCHER),
)


def install(plugins: Iterable[Plugin] = DEFAULT_PLUGINS) -> None:
    """Register every piece of `plugins` (installing twice is harmless)."""
    for plugin in plugins:
        for field_type in plugin.field_types:
            register_field_type(field_type)
        for name, builder in plugin.system_catalogs:
            register_system_catalog(name, builder)
        for before in plugin.before_write:
            hooks.add_before_write(before)
        if plugin.searcher is not None and plugin.searcher not in hooks.searcher:
            hooks.searcher.append(plugin.searcher)
            search_syntax.append(plugin.searcher.check_query)
        for during in plugin.in_transaction:
            hooks.add_in_transaction(during)
        for after in plugin.after_commit:
            hooks.add_after_commit(after)
