"""Changing a field's type on a catalog with records, and checking new constraints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.context import Actor
from kartoteka.errors import problem
from kartoteka.fields import get_type
from kartoteka.fields.base import FieldValueError
from kartoteka.messages import message
from kartoteka.storage import counters, dynamic, schema
from kartoteka.storage.engine import utcnow

from .errors import BadFieldSpec
from .models import Catalog, Field

CHUNK = 2000
MAX_REPORTED = 1000


def check_constraints(
    conn: Connection, catalog: Catalog, field: Field, new: dict[str, Any]
) -> None:
    """Refuse `required`/`unique` when existing records break them (say how many)."""
    column = field.storage_column
    if column is None or field.ftype.storage != "column":
        return
    table = catalog.table
    col = table.c[column]
    if new["required"] and not field.required:
        empty = conn.execute(sa.select(sa.func.count()).where(col.is_(None))).scalar_one()
        if empty:
            raise BadFieldSpec.of("required_empty", "required", count=empty)
    if new["is_unique"] and not field.unique:
        dupes = conn.execute(
            sa.select(col, sa.func.count())
            .where(col.is_not(None))
            .group_by(col)
            .having(sa.func.count() > 1)
            .limit(5)
        ).all()
        if dupes:
            sample = ", ".join(repr(d[0]) for d in dupes)
            raise BadFieldSpec.of("unique_duplicates", "unique", sample=sample)


def column_changes(field: Field, new: dict[str, Any]) -> bool:
    """True when new options of the same type need another column type (select `multiple`)."""
    if field.ftype.storage != "column" or not field.column:
        return False
    old_sql = repr(field.ftype.sa_type(field.options))
    return old_sql != repr(get_type(new["type"]).sa_type(new["options"]))


def convert_values(
    actor: Actor, field: Field, new_field: Field, rows: Sequence[Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(converted {rid, v}, failed {record_id, value, message}, replaced) for stored rows.

    Conversion goes through text, the way an import would read an exported value.
    A read-only target (autonumber) computes its own values: old values are not
    failures, they are replaced, and the history keeps them.
    """
    old_type, new_type = field.ftype, new_field.ftype
    converted: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    replaced: list[dict[str, Any]] = []
    for rid, raw in rows:
        old_value = old_type.from_db(raw, field, actor)
        if new_type.read_only:
            replaced.append(_entry(rid, old_value, "conversion_replaced", {}))
            continue
        try:
            text = old_type.to_text(old_value, field)
            value = new_type.to_db(new_type.from_text(text, new_field, actor), new_field, actor)
        except FieldValueError as exc:
            failed.append(_entry(rid, old_value, exc.code, exc.params))
            continue
        if value is None and not old_type.is_empty(raw):
            failed.append(_entry(rid, old_value, "conversion_no_value", {}))
        else:
            converted.append({"rid": rid, "v": value})
    return converted, failed, replaced


def _entry(rid: int, value: Any, code: str, params: dict[str, Any]) -> dict[str, Any]:
    """One record of a conversion report: its old value and why (a code, its parameters
    and the English text; the edges translate the code)."""
    return {
        "record_id": rid,
        "value": value,
        "message": message(code, params),
        "code": code,
        "params": params,
    }


def change_type(
    conn: Connection,
    actor: Actor,
    catalog: Catalog,
    field: Field,
    new: dict[str, Any],
    dry_run: bool,
) -> dict[str, Any]:
    """Convert every value to the new type in a fresh column; report what failed.

    Values that cannot be converted become empty, and each such record gets a history
    entry holding the old value, so nothing disappears silently.
    """
    old_type, new_type = field.ftype, get_type(new["type"])
    if "link" in (field.type, new["type"]) or new_type.storage != "column":
        raise BadFieldSpec.of("conversion_unsupported", "type", old=field.type, new=new["type"])
    if old_type.storage != "column":
        raise BadFieldSpec.of("system_type", "type")
    new_field = Field(
        id=field.id,
        catalog_id=catalog.id,
        name=new["name"],
        api_name=new["api_name"],
        type=new["type"],
        column=f"f{field.id}_{counters.take(conn, f'column:{field.id}')}",
        required=new["required"],
        unique=new["is_unique"],
        indexed=new["indexed"],
        options=new["options"],
    )
    table = catalog.table
    old_col = table.c[field.col]
    rows = conn.execute(
        sa.select(table.c.id, old_col).where(old_col.is_not(None)).order_by(table.c.id)
    ).all()
    converted, failed, replaced = convert_values(actor, field, new_field, rows)
    report = {
        "converted": _count(conn, table) if new_type.read_only else len(converted),
        "failed_count": len(failed),
        "failed": reportable(conn, actor, catalog, field, failed)[:MAX_REPORTED],
        "dry_run": dry_run,
    }
    if new_field.required and (failed or len(rows) < _count(conn, table)):
        raise BadFieldSpec(errors=[problem("required_would_be_empty", "required")], report=report)
    if dry_run:
        return report
    dynamic.add_column(conn, catalog.id, new_field.col, new_type.sa_type(new_field.options))
    new_table = sa.table(table.name, sa.column("id"), sa.column(new_field.col))
    for start in range(0, len(converted), CHUNK):
        conn.execute(
            sa.update(new_table)
            .where(new_table.c.id == sa.bindparam("rid"))
            .values({new_field.column: sa.bindparam("v")}),
            converted[start : start + CHUNK],
        )
    _keep_old_values(conn, actor, catalog, field, failed + replaced)
    dynamic.drop_column(conn, catalog.id, field.col)
    if new_field.indexed:
        dynamic.create_column_index(conn, catalog.id, new_field.col, new_field.unique)
    new_field.ftype.after_create(conn, catalog, new_field)
    new["column_name"] = new_field.column
    return report


def reportable(
    conn: Connection, actor: Actor, catalog: Catalog, field: Field, failed: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The failures the actor may see: records outside their view rule are left out (the
    count still says how many there are), and values follow their field rule."""
    if actor.is_admin or not failed:
        return failed
    rights = access.record_filter(actor, catalog, "view")
    ids = [f["record_id"] for f in failed]
    visible: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        q = sa.select(catalog.table.c.id).where(catalog.table.c.id.in_(ids[start : start + CHUNK]))
        if rights is not None:
            q = q.where(rights)
        visible.update(r[0] for r in conn.execute(q))
    rule = access.field_rules(actor, catalog).get(field.api_name)
    out = []
    for item in failed:
        if item["record_id"] not in visible:
            continue
        if rule == "hidden":
            item = {**item, "value": None}
        elif rule == "masked":
            item = {**item, "value": access.mask_value(field, item["value"])}
        out.append(item)
    return out


def _keep_old_values(
    conn: Connection, actor: Actor, catalog: Catalog, field: Field, lost: list[dict[str, Any]]
) -> None:
    """A history entry per record whose old value did not survive the change."""
    if lost:
        now = utcnow()
        conn.execute(
            sa.insert(schema.history),
            [
                {
                    "catalog_id": catalog.id,
                    "record_id": f["record_id"],
                    "at": now,
                    "user_id": actor.user_id,
                    "action": "update",
                    "changes": {
                        field.api_name: {"old": f["value"], "new": None, "reason": f["message"]}
                    },
                }
                for f in lost
            ],
        )


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
