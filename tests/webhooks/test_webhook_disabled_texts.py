"""Why a webhook was switched off is stored as a code with parameters (migration 0020), so
the screens say it in the reader's language; the API keeps the English text beside it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from support.webhooks import deals, hook

from kartoteka.storage import schema
from kartoteka.storage.engine import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_workspace,
    utcnow,
)
from kartoteka.webhooks import disabling, service


def test_a_webhook_switched_off_before_the_codes_keeps_its_english_text(instance):
    ws = instance.create_workspace(f"{instance.settings.default_workspace}old")
    # Back to the schema before 0020 through the migrations' own downgrades.
    with ws.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0019")
    assert "disabled_reason_code" not in _columns(ws.engine)
    catalog = schema.catalogs
    with ws.engine.begin() as conn:
        catalog_id = conn.execute(
            sa.insert(catalog)
            .values(name="Deals", api_name="deals", position=0, options={}, created_at=utcnow())
            .returning(catalog.c.id)
        ).scalar_one()
        conn.execute(sa.insert(schema.webhooks).values(_old_row(catalog_id)))
    upgrade_workspace(ws.engine)
    assert current_revision(ws.engine) == head_revision()
    assert {"disabled_reason_code", "disabled_reason_params"} <= _columns(ws.engine)
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(schema.webhooks)).one()
    assert (row.disabled_reason, row.disabled_reason_code, row.disabled_reason_params) == (
        "disabled after 410 Gone from http://old.example/hook",
        None,
        None,
    )
    shown = service.render(ws, row)
    assert shown["disabled_reason_code"] is None and shown["disabled_reason_params"] is None
    # Nothing to translate: every language shows the text it was stored with.
    assert disabling.disabled_reason_text(shown, "ru") == row.disabled_reason
    # Switching it on clears the text, and the (still empty) code with it.
    with ws.engine.begin() as conn:
        disabling.disable(conn, row.id, "webhook_disabled_gone", {"url": row.url})
        again = conn.execute(sa.select(schema.webhooks)).one()
    assert again.disabled_reason_code == "webhook_disabled_gone"
    assert disabling.disabled_reason_text(service.render(ws, again), "ru").startswith(
        "получатель http://old.example"
    )


def _old_row(catalog_id: int) -> dict:
    """A webhook as 0019 stored one the receiver had asked (410) not to call again."""
    now = utcnow()
    return {
        "url": "http://old.example/hook",
        "catalog_id": catalog_id,
        "kind": "notify",
        "events": ["record.created"],
        "fields": [],
        "active": False,
        "secret": "whsec_old",
        "on_timeout": "reject",
        "ordered": False,
        "batch_size": 1,
        "start_seq": 0,
        "disabled_reason": "disabled after 410 Gone from http://old.example/hook",
        "created_at": now,
        "updated_at": now,
    }


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("webhooks")}


def test_the_disabling_codes_read_in_both_languages(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/gone"))
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.begin() as conn:
        disabling.disable(conn, wh["id"], "webhook_disabled_gone", {"url": wh["url"]})
    got = api.get(f"/webhooks/{wh['id']}").json()
    assert got["disabled_reason"] == f"disabled after 410 Gone from {wh['url']}"
    assert disabling.disabled_reason_text(got, "en") == got["disabled_reason"]
    assert disabling.disabled_reason_text(got, "ru") == (
        f"получатель {wh['url']} ответил 410 Gone — он просит больше не присылать сообщения"
    )
