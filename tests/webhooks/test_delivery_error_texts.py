"""The delivery log says why a message did not arrive in the reader's language: a code with
parameters stored beside the English protocol detail (migration 0018)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from support.webhooks import deals, deliveries, hook, work

from kartoteka.storage import schema


def _log(api, webhook_id: int, lang: str) -> list[dict]:
    r = api.get(f"/webhooks/{webhook_id}/deliveries", headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_an_http_failure_reads_in_the_readers_language(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/down"))
    receiver.scripts["/down"] = [(503, None, {})]
    api.record("deals", {"name": "A"})
    work(instance)
    [row] = deliveries(instance, wh["id"])
    assert (row.last_error, row.last_error_code, row.last_error_params) == (
        "HTTP 503",
        "delivery_http_status",
        {"status": 503},
    )
    [ru] = _log(api, wh["id"], "ru")
    assert ru["last_error"] == "получатель не принял сообщение (HTTP 503)"
    assert (ru["last_error_code"], ru["last_error_params"]) == (
        "delivery_http_status",
        {"status": 503},
    )
    assert ru["last_error_detail"] == "HTTP 503"
    [attempt] = ru["log"]
    assert attempt["error"] == ru["last_error"] and attempt["error_code"] == "delivery_http_status"
    assert attempt["error_detail"] is None  # an answer came: its status is the detail
    [en] = _log(api, wh["id"], "en")
    assert en["last_error"] == "the receiver did not accept the message (HTTP 503)"
    # Delivered on the next try: nothing to explain any more.
    work(instance, timedelta(minutes=5))
    [done] = _log(api, wh["id"], "ru")
    assert done["status"] == "done" and done["last_error"] is None
    assert done["last_error_code"] is None and done["log"][1]["error_code"] is None


def test_a_refused_address_keeps_the_english_detail_beside_the_text(
    api, instance, receiver, settings
):
    deals(api)
    wh = hook(api, receiver.url("/private"))
    settings.webhook_allow_private = False
    api.record("deals", {"name": "A"})
    work(instance)
    [ru] = _log(api, wh["id"], "ru")
    assert ru["last_error"] == "не отправлено: адрес во внутренней сети или его имя не находится"
    assert ru["last_error_detail"].startswith("refused: ")
    [attempt] = ru["log"]
    assert attempt["error"] == ru["last_error"] and attempt["error_code"] == "delivery_refused"
    assert attempt["error_detail"] == ru["last_error_detail"]


def test_a_gone_receiver_and_a_skipped_delivery_are_coded(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/gone"))
    receiver.scripts["/gone"] = [(410, None, {})]
    api.record("deals", {"name": "A"})
    work(instance)
    [gone] = _log(api, wh["id"], "ru")
    assert gone["last_error_code"] == "delivery_gone" and "вебхук выключен" in gone["last_error"]
    # A change the webhook's own delivery caused is skipped by loop protection.
    looped = hook(api, receiver.url("/echo"))
    rec = api.record("deals", {"name": "B"})
    work(instance)
    [payload] = receiver.at("/echo")
    cause = payload["headers"]["kartoteka-cause"]
    r = api.patch(
        f"/catalogs/deals/records/{rec['id']}",
        {"values": {"name": "C"}},
        headers={"Kartoteka-Cause": cause},
    )
    assert r.status_code == 200, r.text
    work(instance)
    skipped = _log(api, looped["id"], "ru")[0]
    assert skipped["status"] == "skipped" and skipped["last_error_code"] == "delivery_skipped_own"
    assert skipped["last_error"].startswith("защита от петель")
    english = _log(api, looped["id"], "en")[0]
    assert "own deliveries" in english["last_error"] == english["last_error_detail"]


def test_rows_from_before_the_codes_show_their_english_detail(api, instance, receiver):
    deals(api)
    wh = hook(api, receiver.url("/old"))
    receiver.scripts["/old"] = [(500, None, {})]
    api.record("deals", {"name": "A"})
    work(instance)
    ws = instance.workspace(instance.settings.default_workspace)
    d = schema.webhook_deliveries
    with ws.engine.begin() as conn:
        conn.execute(sa.update(d).values(last_error_code=None, last_error_params=None))
    [row] = _log(api, wh["id"], "ru")
    assert (row["last_error"], row["last_error_code"]) == ("HTTP 500", None)
