"""The `webhooks` system catalog: webhooks readable as records, their changes as events.

The catalog's fields map onto columns of the platform table `webhooks`, declared
again here with only the columns records may show (never `secret`), so the one
records read path — filters, sorts, keyset cursors, counts, rendering — serves it
on both dialects without a view or a copy. Writes go through `/api/v1/webhooks`
(`service.py`), which calls `record_change` inside its transaction: a history row
and a `record.created|updated|deleted` event with the next contiguous sequence
number, so notify webhooks on `webhooks` hear about webhooks.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from kartoteka.catalogs.models import Catalog, Field, SystemSource
from kartoteka.context import Actor
from kartoteka.fields.base import FieldType, FieldValueError
from kartoteka.records import hooks, write
from kartoteka.storage import schema
from kartoteka.storage.types import JSONText

from .errors import WebhookInvalid

#: The catalog's api_name and its `options.system` marker.
NAME = "webhooks"
MANAGED_AT = "/api/v1/webhooks"


class JsonValueType(FieldType):
    """A read-only JSON value (a list or an object) of a system catalog; not registered,
    so users cannot create such fields. Filters look into its JSON text."""

    type = "json"
    labels = {"en": "JSON", "ru": "JSON"}
    read_only = True
    can_be_unique = False
    can_be_indexed = False
    can_be_title = False
    sortable = False
    operators = frozenset({"contains", "icontains", "empty"})

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine:
        return JSONText()

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        raise FieldValueError("read-only field", "read_only_field")

    def is_empty(self, raw: Any) -> bool:
        return raw is None or raw == "" or raw == [] or raw == {}

    def to_text(self, value: Any, field: Field) -> str:
        return "" if value is None else orjson.dumps(value).decode()

    def filter_clause(
        self, col: ColumnElement[Any], op: str, value: Any, field: Field, actor: Actor
    ) -> ColumnElement[bool]:
        text = sa.type_coerce(col, sa.Text())
        if op == "empty":
            if not isinstance(value, bool):
                raise FieldValueError("empty takes true or false", "operand_empty")
            blank = sa.or_(col.is_(None), text.in_(["[]", "{}", "null"]))
            return blank if value else sa.not_(blank)
        return self._text_clause(text, op, value)


JSON_VALUE = JsonValueType()

#: (api_name, name, type, column) of every field, in display order.
FIELDS = (
    ("url", "URL", "url", "url"),
    ("kind", "Kind", "text", "kind"),
    ("catalog", "Catalog", "select", "catalog_id"),
    ("events", "Events", "json", "events"),
    ("fields", "Fields", "json", "fields"),
    ("filter", "Filter", "json", "filter"),
    ("active", "Active", "checkbox", "active"),
    ("ordered", "Ordered", "checkbox", "ordered"),
    ("on_timeout", "On timeout", "text", "on_timeout"),
    ("disabled_reason", "Disabled reason", "text", "disabled_reason"),
    ("failing_since", "Failing since", "datetime", "failing_since"),
    ("last_success_at", "Last success at", "datetime", "last_success_at"),
)
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "updated_by")


def _records_table() -> sa.Table:
    """`webhooks` with only the columns records show: `secret` is never even selected."""
    shown = set(SYSTEM_COLUMNS) | {column for *_, column in FIELDS}
    return sa.Table(
        schema.webhooks.name,
        sa.MetaData(),
        *[
            sa.Column(c.name, c.type, primary_key=c.primary_key)
            for c in schema.webhooks.columns
            if c.name in shown
        ],
    )


TABLE = _records_table()


def _fields(catalog_id: int, catalogs: list[Catalog]) -> list[Field]:
    # Negative ids never meet the ids of real fields (rows of `fields`).
    choices = [{"id": c.id, "label": c.api_name, "color": "gray"} for c in catalogs]
    out = []
    for position, (api_name, name, type_, column) in enumerate(FIELDS):
        out.append(
            Field(
                id=-(position + 1),
                catalog_id=catalog_id,
                name=name,
                api_name=api_name,
                type=type_,
                column=column,
                options={"choices": choices, "multiple": False} if type_ == "select" else {},
                position=position,
                type_impl=JSON_VALUE if type_ == "json" else None,
            )
        )
    return out


def build(row: Catalog, catalogs: list[Catalog]) -> Catalog:
    """The `webhooks` catalog from its row in `catalogs`."""
    fields = _fields(row.id, catalogs)
    return Catalog(
        id=row.id,
        name=row.name,
        api_name=row.api_name,
        title_field_id=fields[0].id,
        position=row.position,
        options=row.options,
        fields=fields,
        system=SystemSource(table=TABLE, managed_at=MANAGED_AT),
    )


def catalog_of(actor: Actor) -> Catalog | None:
    """The workspace's `webhooks` catalog (None before migration 0007)."""
    found = actor.workspace.meta().catalog(NAME)
    return found if found is not None and found.system is not None else None


# ----- changes as events -----------------------------------------------------------------
def _values(catalog: Catalog, row: Any) -> dict[str, Any]:
    """A webhook row in the JSON form of history and events (no secret: no field maps it)."""
    if row is None:
        return {}
    m = row._mapping
    return {f.api_name: f.ftype.from_db(m[f.col], f, None) for f in catalog.fields}


def _changes(catalog: Catalog, before: Any, after: Any) -> dict[str, dict[str, Any]]:
    old, new = _values(catalog, before), _values(catalog, after)
    out = {}
    for f in catalog.fields:
        a, b = old.get(f.api_name), new.get(f.api_name)
        if a == b or (f.ftype.is_empty(a) and f.ftype.is_empty(b)):
            continue
        out[f.api_name] = {"old": a, "new": b}
    return out


def _check_kind(catalog: Catalog, after: Any) -> None:
    # Changes to webhooks do not pass the records write path, so nothing would call a
    # request or action webhook on this catalog: refuse them rather than ignore them.
    if after is not None and after.catalog_id == catalog.id and after.kind != "notify":
        raise WebhookInvalid.of("webhook_system_notify", "kind", catalog=NAME)


def record_change(conn: Connection, actor: Actor, webhook_id: int, before: Any) -> tuple[int, int]:
    """History and an outbox event for a webhook just created, changed or deleted, in the
    caller's transaction; `before` is its row before the change (None when created).

    Returns the (first, last) event sequence numbers, (0, 0) when nothing changed.
    """
    catalog = catalog_of(actor)
    if catalog is None:
        return (0, 0)
    w = schema.webhooks
    after = conn.execute(sa.select(w).where(w.c.id == webhook_id)).first()
    _check_kind(catalog, after)
    changes = _changes(catalog, before, after)
    action = "create" if before is None else "delete" if after is None else "update"
    if action == "update" and not changes:
        return (0, 0)
    if after is not None:
        conn.execute(sa.update(w).where(w.c.id == webhook_id).values(updated_by=actor.user_id))
    entry = {"record_id": webhook_id, "action": action, "changes": changes}
    first, last = write.record_events(conn, actor, catalog, [entry])
    if action == "create":
        # A new webhook hears events committed after it; its own creation is not one.
        conn.execute(sa.update(w).where(w.c.id == webhook_id).values(start_seq=last))
    return first, last


def announce(actor: Actor, seqs: tuple[int, int]) -> None:
    """After commit: wake workers and the live feed for the events `record_change` wrote."""
    if seqs[0]:
        hooks.run_after_commit(actor, *seqs)
