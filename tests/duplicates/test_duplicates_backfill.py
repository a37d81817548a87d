"""A new rule's keys of existing records: the set-based half (INSERT ... SELECT) and the
Python half together store exactly the key `Rule.key` gives each record."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from kartoteka.context import Actor
from kartoteka.duplicates import backfill, rules
from kartoteka.records.service import get_catalog
from kartoteka.storage import schema

FIELDS = [
    {"name": "Name", "api_name": "name", "type": "text"},
    {"name": "Phone", "api_name": "phone", "type": "phone"},
    {"name": "E-mail", "api_name": "email", "type": "email"},
    {"name": "INN", "api_name": "inn", "type": "text"},
    {"name": "Count", "api_name": "count", "type": "number"},
]
#: Stored values as they may sit in a table (written by older versions, imports, SQL).
VALUES = {
    "name": ["Ivan Petrov", "IVAN  PETROV", " Ivan Petrov", "Пётр Иванов", "Ёлка", "", None,
             "Tab\there", "x" * 200],
    "phone": ["+79161234567", "+79161234567", "8 916 123-45-67", "not a phone", "", None,
              "+7 916 123 45 67", "+1", "(495) 123-45-67"],
    "email": ["Ivan@Example.COM", "ivan@example.com", " ivan@example.com", "ÉMILE@Example.com",
              "", None, "a@b.c", "UPPER@X.RU", "q" * 195],
    "inn": ["7707083893", "7707 083893", "ИНН 7707083893", "", None, "000", "٣٤", "12", "1"],
    "count": [1, 2, None, 1, 5, 0, -3, 7, 1],
}  # fmt: skip
RULES = [
    ["phone"],
    ["email"],
    ["name"],
    [{"field": "inn", "normalise": "digits"}],
    [{"field": "inn", "normalise": "exact"}],
    [{"field": "name", "normalise": "email"}],
    [{"field": "inn", "normalise": "phone"}],
    ["email", {"field": "inn", "normalise": "digits"}],
    ["name", "email"],
    ["count"],
]


@pytest.fixture
def people(api, instance):
    api.catalog("People", FIELDS, api_name="people")
    actor = Actor.system(instance.workspace(instance.settings.default_workspace))
    catalog = get_catalog(actor, "people")
    now = datetime(2026, 12, 1)
    rows = [
        {"created_at": now, "updated_at": now}
        | {catalog.by_api_name[k].column: VALUES[k][i] for k in VALUES}
        for i in range(len(VALUES["name"]))
    ]
    with actor.workspace.engine.begin() as conn:
        conn.execute(sa.insert(catalog.table), rows)
    return actor, catalog


@pytest.mark.parametrize("fields", RULES, ids=lambda f: repr(f))
def test_backfilled_keys_are_the_keys_python_computes(people, fields):
    actor, catalog = people
    made = rules.create_rule(actor, "people", {"fields": fields})
    rule = rules.find_rule(actor, get_catalog(actor, "people"), made["id"])
    keys = schema.duplicate_keys
    table = catalog.table
    with actor.workspace.engine.connect() as conn:
        stored = dict(
            conn.execute(sa.select(keys.c.record_id, keys.c.key).where(keys.c.rule_id == rule.id))
            .tuples()
            .all()
        )
        cols = [table.c[p.field.col] for p in rule.parts]
        expected = {}
        for row in conn.execute(sa.select(table.c.id, *cols)):
            key = rule.key({p.field.id: v for p, v in zip(rule.parts, row[1:], strict=True)})
            if key is not None:
                expected[row[0]] = key
    assert stored == expected
    assert expected  # every rule here keys some records


def test_sql_keys_the_plain_values_and_python_only_the_rest(people, monkeypatch):
    actor, _ = people
    seen: list[int] = []
    python_half = backfill._in_python

    def counted(conn, catalog, rule, cols, where):
        done = python_half(conn, catalog, rule, cols, where)
        seen.append(done)
        return done

    monkeypatch.setattr(backfill, "_in_python", counted)
    rules.create_rule(actor, "people", {"fields": ["phone"]})
    # Stored E.164 ("+79161234567" twice, "+7 916 ...", "+1") is keyed by SQL; Python
    # parses the rest and keys two ("8 916 ...", "(495) ..."; "not a phone" and "" none).
    assert seen == [2]
    seen.clear()
    rules.create_rule(actor, "people", {"fields": ["name"]})
    # SQL keys "Ivan Petrov" only (plain ASCII); Python the six others with a key: two
    # spaces, a leading space, Cyrillic (twice), a tab, and the 200 x's (hashed).
    assert seen == [6]
