"""Workspace settings in the browser (HTTP): general, limits, SMTP, the security log."""

from __future__ import annotations

from support.web import sign_in


def test_general_settings_save_together_or_not_at_all(api, web):
    csrf = sign_in(web)
    page = web.get("/settings")
    assert page.status_code == 200 and 'list="zones"' in page.text
    form = {
        "csrf": csrf,
        "title": "Страхование Север",
        "timezone": "Europe/Moscow",
        "lang": "ru",
        "fold_yo": "1",
        "show_emails": "1",
    }
    assert web.post("/settings", data=form).status_code == 303
    now = api.get("/settings").json()
    assert now["title"] == "Страхование Север" and now["timezone"] == "Europe/Moscow"
    assert now["show_emails"] is True and now["managers_change_rights"] is False
    assert "Страхование Север</a>" in web.get("/").text  # the top bar shows the name
    bad = web.post(
        "/settings", data={**form, "timezone": "Mars/Olympus", "lang": "ru", "title": "X"}
    )
    assert bad.status_code == 422 and 'id="err-timezone"' in bad.text
    assert 'value="Mars/Olympus"' in bad.text
    assert api.get("/settings").json()["title"] == "Страхование Север"  # nothing stored
    ru = web.post("/settings?lang=ru", data={**form, "title": "x" * 101})
    assert ru.status_code == 422 and "не больше 100 символов" in ru.text
    [entry] = api.get("/security/log", params={"event": "settings_changed"}).json()["items"]
    assert set(entry["detail"]["keys"]) == {"title", "timezone", "lang", "show_emails"}


def test_settings_api_keeps_its_contract(api):
    r = api.patch("/settings", {"timezone": "Mars/Olympus", "title": "ok"})
    assert r.status_code == 422 and r.json()["fields"]["timezone"] == "unknown time zone"
    assert api.get("/settings").json()["title"] == ""
    r = api.patch("/settings", {"colour": "red"})
    assert r.status_code == 422 and "colour" in r.json()["fields"]
    assert api.patch("/settings", {"title": " Acme "}).json()["title"] == "Acme"


def test_request_limits_form(api, web):
    csrf = sign_in(web)
    bad = web.post(
        "/settings/limits", data={"csrf": csrf, "per_account": "lots", "per_address": ""}
    )
    assert bad.status_code == 422 and 'id="err-limits-per_account"' in bad.text
    ok = web.post(
        "/settings/limits", data={"csrf": csrf, "per_account": "500/minute", "per_address": ""}
    )
    assert ok.status_code == 303
    limits = api.get("/security/rate-limits").json()
    assert limits["per_account"].startswith("500")
    assert api.get("/security/log", params={"event": "rate_limits_changed"}).json()["items"]


def test_smtp_form_keeps_the_stored_password(api, web, smtp):
    controller, _inbox = smtp
    csrf = sign_in(web)
    form = {
        "csrf": csrf,
        "host": "127.0.0.1",
        "port": str(controller.port),
        "security": "none",
        "from": "kt@example.com",
        "username": "robot",
        "password": "s3cret",
    }
    assert web.post("/settings/smtp", data=form).status_code == 303
    assert api.get("/settings/smtp").json()["has_password"] is True
    assert web.post("/settings/smtp", data={**form, "password": ""}).status_code == 303
    assert api.get("/settings/smtp").json()["has_password"] is True
    bad = web.post("/settings/smtp", data={**form, "from": "nobody", "port": "99999"})
    assert bad.status_code == 422
    assert 'id="err-smtp-from"' in bad.text and 'id="err-smtp-port"' in bad.text
    assert "s3cret" not in web.get("/settings").text


def test_security_log_filters_by_event_user_and_date(api, web, client):
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "user-password-1"})
    client.post("/api/v1/auth/login", json={"email": "u@example.com", "password": "wrong-one-1"})
    sign_in(web)
    everything = web.get("/settings/security-log")
    assert everything.status_code == 200 and "failed sign-in" in everything.text
    failed = web.get("/settings/security-log", params={"event": "login_failed"})
    assert failed.text.count('data-event="login_failed"') == 1
    assert 'data-event="login"' not in failed.text
    mine = web.get("/settings/security-log", params={"user": "u@example.com"})
    assert 'data-event="login_failed"' in mine.text and 'data-event="login"' not in mine.text
    future = web.get("/settings/security-log", params={"from": "2999-01-01"})
    assert "No entries match" in future.text
    today = web.get("/settings/security-log", params={"to": "2999-01-01", "from": "2000-01-01"})
    assert 'data-event="login_failed"' in today.text
    bad = web.get("/settings/security-log", params={"from": "yesterday", "event": "nope"})
    assert bad.status_code == 422 and 'id="err-from"' in bad.text and 'id="err-event"' in bad.text
    ru = web.get("/settings/security-log?lang=ru")
    assert "неудачный вход" in ru.text


def test_settings_pages_are_for_administrators_only(api, web):
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "user-password-1"})
    sign_in(web, "u@example.com", "user-password-1")
    for url in ("/settings", "/settings/security-log"):
        assert web.get(url).status_code == 403, url
    csrf = web.cookies["kartoteka_csrf"]
    assert web.post("/settings", data={"csrf": csrf, "title": "Mine"}).status_code == 403
    assert api.get("/settings").json()["title"] == ""
