"""Administrators' notices in the HTML UI: badge in the top bar, the list, marking read."""

from __future__ import annotations

import re

from support.web import sign_in

from kartoteka.notices import service as notices


def post_disabled_notice(instance) -> int:
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.begin() as conn:
        return notices.post(
            conn,
            "webhook.disabled",
            "Webhook 7 disabled",
            "The webhook to https://hooks.example.com/x was disabled: HTTP 503.",
            level="error",
            data={
                "webhook_id": 7,
                "url": "https://hooks.example.com/x",
                "last_error": "HTTP 503",
                "days": 5,
            },
        )


def test_admin_sees_translated_notices_and_marks_them_read(api, web, instance):  # noqa: F811
    csrf = sign_in(web)
    home = web.get("/?lang=ru").text
    assert "Уведомления" in home and 'class="badge"' not in home
    nid = post_disabled_notice(instance)
    post_disabled_notice(instance)
    home = web.get("/").text
    assert re.search(r'class="badge"[^>]*>2<', home)
    page = web.get("/notices")
    assert page.status_code == 200
    assert "Вебхук 7 отключён" in page.text and "https://hooks.example.com/x" in page.text
    assert "5 дн." in page.text
    # A form without the CSRF token changes nothing.
    assert web.post("/notices/read", data={"id": str(nid)}).status_code == 403
    r = web.post("/notices/read", data={"id": str(nid), "csrf": csrf})
    assert r.status_code == 303
    listed = api.get("/notices?unread=true").json()
    assert listed["unread"] == 1 and [n["id"] for n in listed["items"]] != [nid]
    web.post("/notices/read", data={"csrf": csrf})
    assert api.get("/notices").json()["unread"] == 0
    assert 'class="badge"' not in web.get("/notices").text
    english = web.get("/notices?lang=en").text
    assert "Webhook 7 was switched off" in english and "kept failing for 5 days" in english


def test_other_users_have_no_notices_page(api, web, instance):  # noqa: F811
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "password-u-123"})
    post_disabled_notice(instance)
    sign_in(web, "u@example.com", "password-u-123")
    assert "/notices" not in web.get("/?lang=ru").text
    r = web.get("/notices")
    assert r.status_code == 403 and "Вебхук" not in r.text
