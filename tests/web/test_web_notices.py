"""Notifications in the HTML UI: the bell for every user, their own list, marking read,
and the live feed's `notice` event (each user hears only about their own notices)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from support.web import sign_in

from kartoteka.auth import service as auth
from kartoteka.notices import service as notices
from kartoteka.users import service as users
from kartoteka.webhooks import live

PASSWORD = "password-u-123"


def workspace(instance):
    return instance.workspace(instance.settings.default_workspace)


def post_disabled_notice(instance) -> int:
    with workspace(instance).engine.begin() as conn:
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


def post_user_notice(instance, user_id: int, title: str, **data: Any) -> int:
    with workspace(instance).engine.begin() as conn:
        return notices.post(
            conn, "scenario.notify", title, f"{title}: details", "info", data, user_id=user_id
        )


def make_user(api, email: str = "u@example.com") -> int:
    r = api.post("/users", {"email": email, "name": email[0].upper(), "password": PASSWORD})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def bell_count(html: str) -> str | None:
    """The bell's visible count ('' when hidden, None without a bell)."""
    found = re.search(r'<span class="bell-count" data-bell-count( hidden)?>([^<]*)<', html)
    if found is None:
        return None
    return "" if found.group(1) else found.group(2)


def test_admin_sees_translated_notices_and_marks_them_read(api, web, instance):
    csrf = sign_in(web)
    home = web.get("/?lang=ru").text
    assert "Уведомления" in home and 'class="badge"' not in home
    assert bell_count(home) == ""
    nid = post_disabled_notice(instance)
    post_disabled_notice(instance)
    home = web.get("/").text
    # One place for the count: the bell; the sidebar's entry does not repeat it.
    assert 'class="badge"' not in home
    assert re.search(r'class="side-notices"[^>]*>Уведомления<', home)
    assert bell_count(home) == "2" and 'aria-label="Уведомления, непрочитанных: 2"' in home
    page = web.get("/notices")
    assert page.status_code == 200
    assert "Вебхук 7 отключён" in page.text and "https://hooks.example.com/x" in page.text
    assert "5 дн." in page.text
    # A form without the CSRF token changes nothing.
    assert web.post("/notices/read", data={"id": str(nid)}).status_code == 403
    r = web.post("/notices/read", data={"id": str(nid), "csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/notices"
    listed = api.get("/notices?unread=true").json()
    assert listed["unread"] == 1 and [n["id"] for n in listed["items"]] != [nid]
    r = web.post("/notices/read", data={"csrf": csrf, "next": "/notices?unread=1"})
    assert r.headers["location"] == "/notices?unread=1"
    assert api.get("/notices").json()["unread"] == 0
    assert 'class="badge"' not in web.get("/notices").text
    english = web.get("/notices?lang=en").text
    assert "Webhook 7 was switched off" in english and "kept failing for 5 days" in english


def test_marking_read_never_returns_to_another_site(web, instance):
    csrf = sign_in(web)
    post_disabled_notice(instance)
    for target in ("https://evil.example/x", "//evil.example/notices", "/notices\\@evil"):
        r = web.post("/notices/read", data={"csrf": csrf, "next": target})
        assert r.headers["location"] == "/notices"


def test_every_user_has_a_bell_and_sees_only_their_own_notices(api, web, instance):
    me = make_user(api)
    other = make_user(api, "o@example.com")
    post_disabled_notice(instance)
    api.catalog("Deals", [{"name": "Name", "type": "text"}])
    deal = api.records("deals", [{"name": "Big deal"}])[0]
    catalog_id = api.get("/catalogs/deals").json()["id"]
    mine = post_user_notice(instance, me, "Call the client", catalog=catalog_id, record_id=deal)
    theirs = post_user_notice(instance, other, "Secret of another user")
    csrf = sign_in(web, "u@example.com", PASSWORD)
    home = web.get("/?lang=en").text
    assert bell_count(home) == "1"
    page = web.get("/notices").text
    assert "Call the client" in page and f'href="/c/deals/r/{deal}"' in page
    assert "Secret of another user" not in page and "Webhook" not in page
    panel = web.get("/notices/panel")
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "Call the client" in panel.text and "Secret" not in panel.text
    assert 'data-unread="1"' in panel.text
    # Another user's notice cannot be marked read by id: it stays unread for its owner.
    r = web.post("/notices/read", data={"id": str(theirs), "csrf": csrf})
    assert r.status_code == 404
    r = web.post("/notices/read", data={"id": str(mine), "csrf": csrf})
    assert r.status_code == 303
    assert bell_count(web.get("/").text) == ""
    ws = workspace(instance)
    assert notices.unread_count(auth.actor_for_user(ws, other, via="session")) == 1
    # Marking all read marks only one's own.
    web.post("/notices/read", data={"csrf": csrf})
    assert notices.unread_count(auth.actor_for_user(ws, other, via="session")) == 1


def test_the_service_gives_each_user_their_notices_and_admins_the_admin_ones(api, instance):
    me, other = make_user(api), make_user(api, "o@example.com")
    admin_notice = post_disabled_notice(instance)
    mine = post_user_notice(instance, me, "mine")
    theirs = post_user_notice(instance, other, "theirs")
    ws = workspace(instance)
    admin_id = users.find_user_id(ws, "admin@example.com")
    assert admin_id is not None
    admin = auth.actor_for_user(ws, admin_id, via="session")
    user = auth.actor_for_user(ws, me, via="session")
    assert [n["id"] for n in notices.list_notices(user)["items"]] == [mine]
    assert [n["id"] for n in notices.list_notices(admin)["items"]] == [admin_notice]
    assert notices.latest_state(user) == (mine, 1)
    assert notices.latest_state(admin) == (admin_notice, 1)
    assert theirs > mine


def first_frames(actor, count: int, after_start=None) -> list[bytes]:
    """The first `count` frames of the actor's live stream (after_start() runs once open)."""

    async def read() -> list[bytes]:
        frames: list[bytes] = []
        stream = live.stream(actor, None)
        try:
            async for frame in stream:
                if frame.startswith(b"retry:") and after_start is not None:
                    await asyncio.to_thread(after_start)
                    continue
                frames.append(frame)
                if len(frames) == count:
                    return frames
        finally:
            await stream.aclose()
        return frames

    return asyncio.run(asyncio.wait_for(read(), 30))


def test_the_live_feed_tells_only_the_addressee_about_a_new_notice(api, instance):
    me, other = make_user(api), make_user(api, "o@example.com")
    ws = workspace(instance)
    user = auth.actor_for_user(ws, me, via="session")
    posted: list[int] = []

    def post_both() -> None:
        posted.append(post_user_notice(instance, other, "for the other one"))
        posted.append(post_user_notice(instance, me, "for me"))

    frames = first_frames(user, 1, post_both)
    assert frames[0].startswith(b"event: notice\ndata: ")
    assert b"\nid:" not in frames[0] and not frames[0].startswith(b"id:")
    assert f'"latest":{posted[1]},"unread":1,"new":true'.encode() in frames[0]
    assert b"for the other one" not in frames[0]


def test_a_notice_event_carries_no_other_users_count(api, instance):
    me, other = make_user(api), make_user(api, "o@example.com")
    ws = workspace(instance)
    stranger = auth.actor_for_user(ws, other, via="session")
    state = live._notice_state(stranger)
    assert state is not None
    post_user_notice(instance, me, "for me")
    post_disabled_notice(instance)  # for administrators: not for this user either
    live._stamps.clear()  # the workspace's stamp moved: the stranger's own state is read
    now, frame = live._notice_news(stranger, state)
    assert frame == b"" and now is not None
    assert now[0] != state[0] and now[1] == state[1] == (0, 0)
    # Until the stamp moves again, a wake-up reads nothing of the stranger's notices.
    assert live._notice_news(stranger, now) == (now, b"")


def test_a_switched_off_webhooks_last_error_reads_in_the_readers_language():
    from kartoteka.web.i18n import current_lang
    from kartoteka.web.routes.notices import notice_text

    notice = {
        "kind": "webhook.disabled",
        "title": "Webhook 7 disabled",
        "message": "stored English",
        "data": {
            "webhook_id": 7,
            "url": "https://hooks.example.com/x",
            "last_error": "HTTP 503",
            "days": 5,
            "last_error_code": "delivery_http_status",
            "last_error_params": {"status": 503},
        },
    }
    token = current_lang.set("ru")
    try:
        title, message = notice_text(notice)
    finally:
        current_lang.reset(token)
    assert "получатель не принял сообщение (HTTP 503)" in message, message
    assert "HTTP 503)" in message and "7" in title
    # A notice posted before the codes keeps its stored English detail.
    old = {**notice, "data": {k: v for k, v in notice["data"].items() if "code" not in k}}
    old = {**old, "data": {k: v for k, v in old["data"].items() if k != "last_error_params"}}
    token = current_lang.set("ru")
    try:
        assert "HTTP 503" in notice_text(old)[1]
    finally:
        current_lang.reset(token)


def test_the_list_offers_both_filters_and_marks_the_one_shown(web, instance):
    sign_in(web)
    post_disabled_notice(instance)

    def shown(html: str) -> list[tuple[str, bool]]:
        filters = html.split('class="filters"', 1)[1].split("</nav>", 1)[0]
        links = re.findall(r'<a href="([^"]+)" class="(active)?"', filters)
        return [(href, bool(active)) for href, active in links]

    assert shown(web.get("/notices?lang=en").text) == [
        ("/notices", True),
        ("/notices?unread=1", False),
    ]
    unread = web.get("/notices?unread=1").text
    assert shown(unread) == [("/notices", False), ("/notices?unread=1", True)]
    assert 'aria-current="page">Unread only<' in unread
