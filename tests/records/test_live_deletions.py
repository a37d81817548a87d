"""Deletions in the live feed reach exactly those whose record rule let them see the record."""

from __future__ import annotations

from conftest_support import *  # noqa: F403

from kartoteka.catalogs import service as catalogs
from kartoteka.records import service as records
from kartoteka.records.requests import BatchRequest
from kartoteka.rights import service as manage
from kartoteka.users import service as users
from kartoteka.webhooks import live


def _world(admin) -> int:
    catalogs.create_catalog(
        admin,
        {
            "name": "Deals",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Amount", "api_name": "amount", "type": "money"},
                {"name": "Due", "api_name": "due", "type": "date"},
                {"name": "Seen", "api_name": "seen", "type": "datetime"},
                {"name": "Tags", "api_name": "tags", "type": "select",
                 "options": {"choices": ["a", "b"], "multiple": True}},
                {"name": "Open", "api_name": "open", "type": "checkbox"},
            ],
        },
    )  # fmt: skip
    group = users.create_group(admin, {"name": "small"})["id"]
    rule = {"and": [{"amount": {"lt": 100}}, {"due": {"gte": "2026-01-01"}}]}
    manage.put_rights(admin, "deals", {"groups": {str(group): {"view": rule}}})
    return group


def test_a_deletion_reaches_those_who_saw_the_record(ws, admin, make_user, as_user):
    group = _world(admin)
    rita = as_user(make_user("rita", groups=[group]))
    common = {"seen": "2026-03-01T10:00:00Z", "tags": ["a", "b"], "open": True}
    small, big, old = records.batch(
        admin,
        "deals",
        BatchRequest.creating(
            [
                {"name": "small", "amount": "5.50", "due": "2026-02-01", **common},
                {"name": "big", "amount": "500", "due": "2026-02-01", **common},
                {"name": "old", "amount": "5", "due": "2025-02-01", **common},
            ]
        ),
    ).created
    _, last = live.visible_events(rita, 0)
    records.batch(admin, "deals", BatchRequest.deleting([small, big, old]))
    events, _ = live.visible_events(rita, last)
    assert [(e["type"], e["record_id"]) for e in events] == [("record.deleted", small)]
    assert events[0]["previous"]["name"] == "small"
    everyone, _ = live.visible_events(admin, last)
    assert sorted(e["record_id"] for e in everyone) == sorted([small, big, old])
    # A user without any rule on the catalog hears nothing of it.
    stranger = as_user(make_user("sam"))
    assert live.visible_events(stranger, last)[0] == []


def test_deletion_events_keep_the_row_but_never_send_it(ws, admin):
    import sqlalchemy as sa

    from kartoteka.storage import schema
    from kartoteka.webhooks.outbox import body_of

    _world(admin)
    [rid] = records.batch(
        admin, "deals", BatchRequest.creating([{"name": "x", "amount": "1"}])
    ).created
    records.batch(admin, "deals", BatchRequest.deleting([rid]))
    with ws.engine.connect() as conn:
        event = conn.execute(
            sa.select(schema.events).where(schema.events.c.type == "record.deleted")
        ).one()
    assert event.payload["row"]["id"] == rid
    assert b'"row"' not in body_of(event, 1)
