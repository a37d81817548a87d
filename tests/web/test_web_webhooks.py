"""The webhook screens: designer with errors in place, secret shown once, test event,
enable/disable, delivery log with bodies, retry and replay, all through form posts."""

from __future__ import annotations

import json
import re
import socket

from support.web import sign_in
from support.webhooks import deals, deliveries, work


def form(csrf: str, url: str, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf": csrf,
        "kind": "notify",
        "catalog": "deals",
        "url": url,
        "events": ["record.created", "record.updated"],
        "batch_size": "1",
        "active": "on",
    }
    data.update(extra)
    return data


def secret_of(html: str) -> str:
    found = re.search(r'value="(whsec_[^"]+)"', html)
    assert found, html
    return found.group(1)


def test_designer_creates_a_webhook_and_shows_the_secret_once(api, web, receiver):
    deals(api)
    csrf = sign_in(web)
    page = web.get("/admin/webhooks/new?lang=ru")
    assert page.status_code == 200
    assert "Новый вебхук" in page.text and "Deals" in page.text
    assert 'name="fields" value="amount"' in page.text  # the chosen catalog's fields
    r = web.post(
        "/admin/webhooks/new",
        data=form(csrf, receiver.url("/hook"), fields=["amount"], filter='{"amount": {"gt": 10}}'),
    )
    assert r.status_code == 200, r.text
    secret = secret_of(r.text)
    assert "Скопировать" in r.text or "Копировать" in r.text
    [hook] = api.get("/webhooks").json()["items"]
    assert hook["events"] == ["record.created", "record.updated"]
    assert hook["fields"] == ["amount"] and hook["filter"] == {"amount": {"gt": 10}}
    detail = web.get(f"/admin/webhooks/{hook['id']}")
    assert secret not in detail.text and "whsec_" not in detail.text
    listing = web.get("/admin/webhooks?lang=en").text
    assert receiver.url("/hook") in listing and "Deals" in listing


def test_designer_errors_show_next_to_the_input_in_russian_and_nothing_is_saved(api, web):
    deals(api)
    csrf = sign_in(web)
    web.get("/?lang=ru")
    r = web.post("/admin/webhooks/new", data=form(csrf, "ftp://x", events=[]))
    assert r.status_code == 422
    assert 'id="err-url"' in r.text and "http:// или https://" in r.text
    assert 'aria-invalid="true"' in r.text and 'value="ftp://x"' in r.text  # input kept
    r = web.post("/admin/webhooks/new", data=form(csrf, "http://127.0.0.1:9/x", events=[]))
    assert 'id="err-events"' in r.text and "хотя бы одно событие" in r.text
    r = web.post("/admin/webhooks/new", data=form(csrf, "http://127.0.0.1:9/x", batch_size="x"))
    assert 'id="err-batch_size"' in r.text and "от 1 до 100" in r.text
    r = web.post("/admin/webhooks/new", data=form(csrf, "http://127.0.0.1:9/x", filter="{oops"))
    assert 'id="err-filter"' in r.text
    r = web.post(
        "/admin/webhooks/new", data=form(csrf, "http://127.0.0.1:9/x", filter='{"nope": {"eq": 1}}')
    )
    assert r.status_code == 422 and 'id="err-filter"' in r.text
    assert api.get("/webhooks").json()["items"] == []


def test_edit_switch_off_and_on_rotate_and_test_event(api, web, receiver):
    deals(api)
    csrf = sign_in(web)
    secret = secret_of(web.post("/admin/webhooks/new", data=form(csrf, receiver.url("/a"))).text)
    [hook] = api.get("/webhooks").json()["items"]
    base = f"/admin/webhooks/{hook['id']}"
    r = web.post(
        f"{base}/edit",
        data=form(
            csrf,
            receiver.url("/b"),
            kind="request",
            events=["record.before_create"],
            on_timeout="allow",
        ),
    )
    assert r.status_code == 303 and r.headers["location"].endswith(f"{base}?done=saved")
    changed = api.get(f"/webhooks/{hook['id']}").json()
    assert changed["kind"] == "request" and changed["on_timeout"] == "allow"
    assert changed["url"] == receiver.url("/b")
    web.post(f"{base}/active", data={"csrf": csrf, "active": "0"})
    assert api.get(f"/webhooks/{hook['id']}").json()["active"] is False
    assert "Turn on" in web.get(f"{base}?lang=en").text
    web.post(f"{base}/active", data={"csrf": csrf, "active": "1"})
    assert api.get(f"/webhooks/{hook['id']}").json()["active"] is True
    rotated = web.post(f"{base}/rotate", data={"csrf": csrf})
    fresh = secret_of(rotated.text)
    assert fresh != secret
    receiver.scripts["/b"] = [(500, {"broken": True}, {})]
    tested = web.post(f"{base}/test", data={"csrf": csrf}).text
    assert "data-test-result" in tested and "500" in tested and "broken" in tested
    ok = web.post(f"{base}/test", data={"csrf": csrf}).text
    assert "It works" in ok
    assert json.loads(receiver.at("/b")[-1]["body"])["type"] == "webhook.test"
    web.post(f"{base}/delete", data={"csrf": csrf})
    assert api.get("/webhooks").json()["items"] == []


def test_why_a_webhook_was_switched_off_reads_in_the_users_language(api, web, instance, receiver):
    deals(api)
    hook = api.post("/webhooks", {"url": receiver.url("/gone"), "catalog": "deals"}).json()
    receiver.scripts["/gone"] = [(410, None, {})]
    api.record("deals", {"name": "A"})
    work(instance)
    sign_in(web)
    url = receiver.url("/gone")
    russian = f"получатель {url} ответил 410 Gone — он просит больше не присылать"
    for page in (f"/admin/webhooks/{hook['id']}?lang=ru", "/admin/webhooks?lang=ru"):
        text = web.get(page).text
        assert re.search(rf"data-disabled-reason>{re.escape(russian)}", text), page
        assert "disabled after" not in text
    english = web.get(f"/admin/webhooks/{hook['id']}?lang=en").text
    assert f"data-disabled-reason>disabled after 410 Gone from {url}<" in english


def test_delivery_log_shows_bodies_retry_and_replay(api, web, instance, receiver):
    deals(api)
    csrf = sign_in(web)
    web.post("/admin/webhooks/new", data=form(csrf, receiver.url("/hook")))
    [hook] = api.get("/webhooks").json()["items"]
    receiver.scripts["/hook"] = [(503, {"why": "maintenance"}, {})]
    api.record("deals", {"name": "Acme"})
    work(instance)
    base = f"/admin/webhooks/{hook['id']}"
    page = web.get(f"{base}?lang=en").text
    assert "failed" in page or "pending" in page
    assert "maintenance" in page and "Acme" in page  # response and request bodies
    assert "the receiver did not accept the message (HTTP 503)" in page
    # Why it failed reads in the reader's language (the log stores a code beside the detail).
    russian = web.get(f"{base}?lang=ru").text
    assert re.search(r"data-delivery-error>получатель не принял сообщение \(HTTP 503\)<", russian)
    assert "did not accept" not in russian
    [delivery] = deliveries(instance, hook["id"])
    r = web.post(f"{base}/deliveries/{delivery.id}/retry", data={"csrf": csrf})
    assert r.status_code == 303
    work(instance)
    assert deliveries(instance, hook["id"])[0].status == "done"
    assert "delivered" in web.get(f"{base}?status=done&lang=en").text
    seq = delivery.event_seq
    r = web.post(
        f"{base}/replay", data={"csrf": csrf, "from_sequence": str(seq), "to_sequence": str(seq)}
    )
    assert r.status_code == 200 and "data-replay-result" in r.text
    work(instance)
    assert len(receiver.at("/hook")) == 3
    web.get("/?lang=ru")
    bad = web.post(f"{base}/replay", data={"csrf": csrf, "from_sequence": "1", "to_sequence": "x"})
    assert bad.status_code == 422 and 'id="err-rp-to"' in bad.text
    assert "номер события" in bad.text and 'value="x"' in bad.text


def test_webhook_pages_are_for_administrators(api, web):
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "password-u-123"})
    sign_in(web, "u@example.com", "password-u-123")
    assert web.get("/admin/webhooks").status_code == 403
    assert web.get("/admin/webhooks/new").status_code == 403
    assert web.get("/admin/webhooks/x").status_code == 404


def test_the_sidebar_leads_to_the_webhook_screens_not_the_english_system_catalog(api, web):
    sign_in(web)
    home = web.get("/?lang=ru").text
    assert "/c/webhooks" not in home and ">Webhooks<" not in home
    admin = web.get("/admin").text
    assert "/admin/webhooks" in admin and "Вебхуки" in admin


def test_a_test_event_without_an_answer_says_why_in_the_users_language(api, web):
    """No receiver listens: the page says so in words, the technical error only beside them."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    deals(api)
    url = f"http://127.0.0.1:{port}/gone"
    hook = api.post("/webhooks", {"url": url, "catalog": "deals"}).json()
    csrf = sign_in(web)
    answer = api.post(f"/webhooks/{hook['id']}/test").json()
    assert answer["ok"] is False and answer["failure"] == "network"
    web.get("/?lang=ru")
    shown = web.post(f"/admin/webhooks/{hook['id']}/test", data={"csrf": csrf}).text
    assert "Не удалось подключиться к получателю." in shown
    assert "data-test-error" in shown
