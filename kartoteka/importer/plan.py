"""An import's plan: which column of the file goes to which field, checked up front."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kartoteka.access import keys as access_keys
from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.catalogs.service import get_catalog
from kartoteka.context import Actor
from kartoteka.errors import Forbidden

from . import readers
from .options import STAMPS, ImportOptions, option_error, parse_options
from .stamps import StampColumn, map_stamps


# ----- plan: which column goes to which field --------------------------------------------
@dataclass
class Column:
    """One source column written to one field."""

    index: int
    header: str
    field: Field
    link_key: Field | None = None  # for link fields resolved by a key of the linked catalog
    target: Catalog | None = None


@dataclass
class Plan:
    """An import checked against the catalog and the file's header row, ready to run."""

    catalog: Catalog
    options: ImportOptions
    source: readers.Source
    columns: list[Column]
    key: list[Field]
    stamps: list[StampColumn] = dataclasses.field(default_factory=list)  # keep_stamps

    @property
    def batch_upsert(self) -> bool:
        """A single unique key: `batch` resolves create-or-update itself."""
        return self.options.mode == "upsert" and len(self.key) == 1 and self.key[0].unique

    def column_of(self, api_name: str) -> Column | None:
        """The source column feeding a field."""
        return next((c for c in self.columns if c.field.api_name == api_name), None)


def plan_import(actor: Actor, catalog_ref: str | int, path: Path, options: Any) -> Plan:
    """Check options, rights and the header row; raise a precise 422 before anything is written."""
    catalog = get_catalog(actor, catalog_ref)
    opts = options if isinstance(options, ImportOptions) else parse_options(options)
    if opts.mode in ("create", "upsert") and not access.can_create(actor, catalog):
        raise Forbidden.of("import_create_forbidden")
    source = readers.open_source(path, opts.encoding, opts.delimiter, opts.sheet)
    columns = _map_columns(actor, catalog, source.headers, opts)
    _attach_link_keys(actor, catalog, columns, opts)
    key = _key_fields(catalog, columns, opts)
    stamps = map_stamps(actor, source.headers, opts)
    return Plan(catalog, opts, source, columns, key, stamps)


def _writable(actor: Actor, catalog: Catalog) -> dict[str, Field]:
    rules = access.field_rules(actor, catalog)
    return {
        f.api_name: f
        for f in catalog.fields
        if not f.ftype.read_only and rules.get(f.api_name) not in ("hidden", "read_only", "masked")
    }


def _map_columns(
    actor: Actor, catalog: Catalog, headers: list[str], opts: ImportOptions
) -> list[Column]:
    writable = _writable(actor, catalog)
    columns: list[Column] = []
    if opts.mapping is not None:
        position = {h.casefold(): i for i, h in reversed(list(enumerate(headers)))}
        for header, api_name in opts.mapping.items():
            if api_name in STAMPS:
                continue  # the record's own dates and authors (stamps.py)
            if header.casefold() not in position:
                raise option_error(f"mapping.{header}", "import_no_column")
            if api_name not in writable:
                raise option_error(f"mapping.{header}", "import_not_writable", name=api_name)
            columns.append(Column(position[header.casefold()], header, writable[api_name]))
    else:
        by_name = {f.api_name.casefold(): f for f in writable.values()}
        by_name.update({f.name.casefold(): f for f in writable.values()})
        for i, header in enumerate(headers):
            f = by_name.get(header.casefold())
            if f is not None:
                columns.append(Column(i, header, f))
    seen: dict[str, str] = {}
    for col in columns:
        if col.field.api_name in seen:
            raise readers.bad_file(
                "import_columns_clash",
                first=seen[col.field.api_name],
                second=col.header,
                name=col.field.api_name,
            )
        seen[col.field.api_name] = col.header
    if not columns:
        raise readers.bad_file("import_no_columns")
    return columns


def _attach_link_keys(
    actor: Actor, catalog: Catalog, columns: list[Column], opts: ImportOptions
) -> None:
    meta = actor.workspace.meta()
    for link_name, key_name in opts.link_keys.items():
        f = catalog.by_api_name.get(link_name)
        if f is None or not f.is_link:
            raise option_error(f"link_keys.{link_name}", "import_not_link")
        target = meta.catalog(f.options.get("catalog") or 0)
        key = target.by_api_name.get(key_name) if target else None
        if target is None or key is None or not key.storage_column:
            raise option_error(f"link_keys.{link_name}", "import_not_stored", name=key_name)
        if not access_keys.readable_key(actor, target, key):
            # Matching on a hidden or masked field would tell right guesses from wrong.
            raise option_error(f"link_keys.{link_name}", "import_not_matchable", name=key_name)
        for col in columns:
            if col.field.id == f.id:
                col.link_key, col.target = key, target


def _key_fields(catalog: Catalog, columns: list[Column], opts: ImportOptions) -> list[Field]:
    key: list[Field] = []
    for name in opts.key:
        f = catalog.by_api_name.get(name)
        if f is None or not f.column or f.ftype.storage != "column":
            raise option_error("key", "import_key_not_stored", name=name)
        if not any(c.field.id == f.id for c in columns):
            raise option_error("key", "import_key_no_column", name=name)
        key.append(f)
    return key
