"""A rule's keys of every existing record: one `INSERT ... SELECT` where SQL computes
exactly the key Python would, Python in chunks for the other rows.

Adding a rule to a catalog of a million records computed every key in Python (~10,000
records/s: minutes inside the request). Most stored values need no Python at all: a
phone field stores E.164 already (the key is the value), an ASCII e-mail's key is
`lower()` of it, an INN of digits is itself. Each part of a rule says for which rows
SQL gives its key (a condition) and how (an expression); the rows where every part
qualifies are keyed by the database in one statement, and only the others (Cyrillic
names, e-mails with capitals outside ASCII, numbers, dates, stray spaces) go through
`Rule.key` as before. `tests/duplicates/test_duplicates_backfill.py` checks both halves
give the keys `Rule.key` gives, value by value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.catalogs.models import Catalog
from kartoteka.storage import bulk, schema

from .normalise import MAX_KEY, SEPARATOR

if TYPE_CHECKING:
    from .rules import Rule, RulePart

#: Rows read and keyed at a time by the Python half.
CHUNK = 5000
#: Field types whose stored value is the text itself (a number's or date's canonical
#: text is Python's business).
TEXT_TYPES = ("text", "long_text", "email", "phone", "url")


def rebuild(conn: Connection, catalog: Catalog, rule: Rule) -> int:
    """Replace the rule's keys by those of every record now; returns how many have one."""
    keys = schema.duplicate_keys
    conn.execute(sa.delete(keys).where(keys.c.rule_id == rule.id))
    if not rule.valid:
        return 0
    table = catalog.table
    cols = [table.c[p.field.col] for p in rule.parts]
    present = sa.and_(*(c.is_not(None) for c in cols))
    in_sql = [_in_sql(conn, p, c) for p, c in zip(rule.parts, cols, strict=True)]
    total = 0
    remaining: Any = present
    if all(part is not None for part in in_sql):
        exprs = [part[1] for part in in_sql if part is not None]
        key = exprs[0]
        for expr in exprs[1:]:
            key = key + sa.literal(SEPARATOR) + expr
        ready = sa.and_(*(part[0] for part in in_sql if part is not None))
        ready = sa.and_(present, ready, sa.func.length(key) <= MAX_KEY)
        select = sa.select(sa.literal(rule.id, sa.Integer), table.c.id, key).where(ready)
        done = conn.execute(
            sa.insert(keys).from_select(["rule_id", "record_id", "key"], select)
        ).rowcount
        total += max(done or 0, 0)
        remaining = sa.and_(present, sa.not_(ready))
    total += _in_python(conn, catalog, rule, cols, remaining)
    bulk.analyze(conn, keys)
    return total


def _in_python(conn: Connection, catalog: Catalog, rule: Rule, cols: list[Any], where: Any) -> int:
    """The keys of the rows `where` selects, computed by `Rule.key`, in chunks by id."""
    table, keys = catalog.table, schema.duplicate_keys
    after, total = 0, 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, *cols)
            .where(table.c.id > after, where)
            .order_by(table.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return total
        out = []
        for row in rows:
            key = rule.key({p.field.id: v for p, v in zip(rule.parts, row[1:], strict=True)})
            if key is not None:
                out.append({"rule_id": rule.id, "record_id": row[0], "key": key})
        bulk.insert_many(conn, keys, out)
        total += len(out)
        after = rows[-1][0]


def _in_sql(conn: Connection, part: RulePart, col: Any) -> tuple[Any, Any] | None:
    """(condition, key expression) of the rows whose normalised value SQL gives exactly
    as `normalise` does; None when this part is Python's only."""
    if part.field.type not in TEXT_TYPES:
        return None
    how = part.normalise
    if how == "phone":
        # `RulePart.value`: a phone field's stored E.164 is the key as it is.
        return (col.like("+%"), col) if part.field.type == "phone" else None
    if how == "digits":
        return _only(conn, col, "0-9"), col
    # Printable ASCII without spaces at either end: `strip()` leaves it alone and
    # `lower()` is the same in Python, SQLite (ASCII only) and PostgreSQL.
    plain = sa.and_(_only(conn, col, " -~"), sa.func.trim(col) == col)
    if how == "email":
        return plain, sa.func.lower(col)
    if how == "exact":
        return plain, col
    if how == "name":
        # `" ".join(text.split())`: no run of spaces to fold; ё is not ASCII.
        return sa.and_(plain, col.not_like("%  %")), sa.func.lower(col)
    return None


def _only(conn: Connection, col: Any, chars: str) -> Any:
    """`col` is non-empty and made of the characters of the class `[chars]` only."""
    if conn.dialect.name == "postgresql":
        return col.op("~")(sa.literal(f"^[{chars}]+$"))
    return sa.and_(col != "", sa.not_(col.op("GLOB")(sa.literal(f"*[^{chars}]*"))))
