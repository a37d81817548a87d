"""`autonumber`: a read-only sequence number, never reused."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kartoteka.storage import counters, dynamic

from .base import (
    MAX_RECORD_ID,
    TEXT_EXPORT,
    ExportType,
    FieldType,
    FieldValueError,
    LinkRef,
    nullable,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from kartoteka.catalogs.models import Catalog, Field
    from kartoteka.context import Actor


def autonumber_counter(field_id: int) -> str:
    """Counter name of an autonumber field."""
    return f"autonumber:{field_id}"


class AutonumberType(FieldType):
    """Assigned on create from a per-field counter; deleted numbers are not reused."""

    type = "autonumber"
    editor = None
    cell = "number"
    names_records = True
    preferred_title = True
    labels = {"en": "Autonumber", "ru": "Автономер"}
    read_only = True
    searchable = True
    option_docs = {"prefix": "text shown before the number in titles and exports"}

    def after_create(self, conn: Connection, catalog: Catalog, field: Field) -> None:
        """Number existing records in id order (the field was just added or converted)."""
        table = sa.table(dynamic.table_name(catalog.id), sa.column("id"), sa.column(field.col))
        ids = [r[0] for r in conn.execute(sa.select(table.c.id).order_by(table.c.id))]
        if not ids:
            return
        first = counters.take(conn, autonumber_counter(field.id), len(ids)) - len(ids) + 1
        conn.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("rid"))
            .values({field.col: sa.bindparam("n")}),
            [{"rid": rid, "n": first + i} for i, rid in enumerate(ids)],
        )

    def values_on_create(self, conn: Connection, field: Field, count: int) -> list[Any] | None:
        last = counters.take(conn, autonumber_counter(field.id), count)
        return list(range(last - count + 1, last + 1))

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": "integer"})

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.BigInteger()

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        prefix = options.get("prefix", "")
        if not isinstance(prefix, str) or len(prefix) > 20:
            raise FieldValueError(
                "prefix must be a string of at most 20 characters", "prefix_option", max=20
            )
        options["prefix"] = prefix
        return options

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        raise FieldValueError("read-only field", "read_only_field")

    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        if isinstance(value, str):
            prefix = field.options.get("prefix") or ""
            if prefix and value.startswith(prefix):
                value = value[len(prefix) :]
            if value.strip().isdecimal() and len(value.strip()) < 20:
                value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_RECORD_ID:
                raise FieldValueError("number out of range", "autonumber_range")
            return value
        raise FieldValueError("expected a number", "number")

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        return None if raw is None else int(raw)

    def reader(self, field: Field, actor: Actor | None) -> Callable[[Any], Any]:
        return lambda raw: None if raw is None else int(raw)

    def to_text(self, value: Any, field: Field) -> str:
        return "" if value is None else f"{field.options.get('prefix') or ''}{value}"

    def export_type(self, field: Field) -> ExportType:
        # `INV-42` is text; a plain number stays a number for spreadsheets and BI tools.
        return TEXT_EXPORT if field.options.get("prefix") else ExportType("integer")

    def typed_value(self, value: Any, field: Field) -> Any:
        return self.to_text(value, field) if field.options.get("prefix") else int(value)

    def search_text(self, raw: Any, field: Field) -> str:
        # Both "INV-42" and "42" find it: the prefix and the number are separate words.
        return "" if raw is None else f"{field.options.get('prefix') or ''} {raw}"
