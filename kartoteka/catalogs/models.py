"""In-memory description of a workspace's catalogs and fields (rebuilt when they change)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from kartoteka.fields import get_type
from kartoteka.fields.base import FieldType
from kartoteka.storage.dynamic import catalog_table

#: Record columns every catalog has, usable in filters and sorts as pseudo fields.
SYSTEM_KEYS = ("created_at", "updated_at", "created_by", "updated_by")


@dataclass
class Field:
    """One field of a catalog."""

    id: int
    catalog_id: int
    name: str
    api_name: str
    type: str
    column: str | None
    required: bool = False
    unique: bool = False
    indexed: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    position: int = 0
    #: Per-field memo for field types (e.g. choices by id); rebuilt with the metadata.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: A type implementation outside the registry (fields of system catalogs only).
    type_impl: FieldType | None = field(default=None, compare=False, repr=False)

    @cached_property
    def ftype(self) -> FieldType:
        """The registered type implementation."""
        return self.type_impl or get_type(self.type)

    @property
    def is_link(self) -> bool:
        """Its values are pairs in the shared links table, not a column."""
        return self.ftype.storage == "links"

    @property
    def col(self) -> str:
        """The column name of a column-stored field (callers checked it has one)."""
        assert self.column is not None, f"field {self.api_name} has no column"
        return self.column

    @property
    def storage_column(self) -> str | None:
        """The catalog-table column holding this field's values (None for links)."""
        if self.ftype.storage == "system":
            return self.ftype.system_column
        return self.column

    def to_json(self) -> dict[str, Any]:
        """The API representation."""
        return {
            "id": self.id,
            "name": self.name,
            "api_name": self.api_name,
            "type": self.type,
            "required": self.required,
            "unique": self.unique,
            "indexed": self.indexed,
            "read_only": self.ftype.read_only,
            "options": self.options,
        }


@dataclass(frozen=True)
class SystemSource:
    """What makes a catalog a system catalog: the platform table it shows, read-only."""

    #: The platform table, declared with only the columns records may show (never secrets).
    table: sa.Table
    #: Where its rows are changed instead of the records API (e.g. `/api/v1/webhooks`).
    managed_at: str


@dataclass
class Catalog:
    """A catalog: a real table plus its field list."""

    id: int
    name: str
    api_name: str
    title_field_id: int | None
    position: int
    options: dict[str, Any]
    fields: list[Field]
    #: Set for catalogs the platform maintains (`webhooks`): read-only, administrators only.
    system: SystemSource | None = None

    @cached_property
    def by_api_name(self) -> dict[str, Field]:
        """Fields by api_name."""
        return {f.api_name: f for f in self.fields}

    def pseudo_field(self, key: str) -> Field | None:
        """System columns usable in filters and sorts without a declared field."""
        if key == "id":
            return Field(
                id=0,
                catalog_id=self.id,
                name="id",
                api_name="id",
                type="number",
                column="id",
                options={"decimals": 0},
            )
        if key in SYSTEM_KEYS:
            return Field(id=0, catalog_id=self.id, name=key, api_name=key, type=key, column=None)
        return None

    @cached_property
    def by_id(self) -> dict[int, Field]:
        """Fields by id."""
        return {f.id: f for f in self.fields}

    def field(self, ref: str | int) -> Field | None:
        """A field by id or api_name."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdecimal()):
            found = self.by_id.get(int(ref))
            if found is not None:
                return found
        return self.by_api_name.get(str(ref))

    @cached_property
    def table(self) -> sa.Table:
        """The SQLAlchemy table for this catalog."""
        if self.system is not None:
            return self.system.table
        cols = [
            (f.column, f.ftype.sa_type(f.options))
            for f in self.fields
            if f.column and f.ftype.storage == "column"
        ]
        return catalog_table(self.id, cols)

    @property
    def title_field(self) -> Field | None:
        """The field whose value is the record title."""
        return self.by_id.get(self.title_field_id) if self.title_field_id else None

    def to_json(self) -> dict[str, Any]:
        """The API representation."""
        title = self.title_field
        return {
            "id": self.id,
            "name": self.name,
            "api_name": self.api_name,
            "title_field": title.api_name if title else None,
            "options": self.options,
            "fields": [f.to_json() for f in self.fields],
            "system": self.system is not None,
        }


@dataclass
class WorkspaceMeta:
    """All catalogs of a workspace at one meta version."""

    version: int
    catalogs: list[Catalog]
    timezone: ZoneInfo
    settings: dict[str, Any]
    #: catalog id -> group id -> rights document (field rules keyed by field id)
    rights: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    #: view id -> (catalog id, stored filter); rights rules may refer to views
    view_filters: dict[int, tuple[int, Any]] = field(default_factory=dict)

    @cached_property
    def by_id(self) -> dict[int, Catalog]:
        """Catalogs by id."""
        return {c.id: c for c in self.catalogs}

    @cached_property
    def by_api_name(self) -> dict[str, Catalog]:
        """Catalogs by api_name."""
        return {c.api_name: c for c in self.catalogs}

    def catalog(self, ref: str | int) -> Catalog | None:
        """A catalog by id or api_name."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdecimal()):
            found = self.by_id.get(int(ref))
            if found is not None:
                return found
        return self.by_api_name.get(str(ref))

    def links_into(self, catalog_id: int) -> list[tuple[Catalog, Field]]:
        """Link fields (of any catalog) that point at `catalog_id`."""
        return [
            (c, f)
            for c in self.catalogs
            for f in c.fields
            if f.is_link and f.options.get("catalog") == catalog_id
        ]
