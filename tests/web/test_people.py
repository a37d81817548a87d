"""Users and groups in the browser: list, invite, edit, links, deactivation, groups (HTTP)."""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any

import pyotp
from support.web import sign_in

from kartoteka.security import totp


def _user(api: Any, email: str = "ivan@example.com", **extra: Any) -> dict[str, Any]:
    body = {"email": email, "name": "Ivan", "password": "ivan-password-1", **extra}
    r = api.post("/users", body)
    assert r.status_code == 201, r.text
    return r.json()


def _link_of(html: str) -> str:
    found = re.search(r'value="(http[^"]*/link/(kti_[^"]+))"', html)
    assert found, "no one-time link on the page"
    return "/link/" + found.group(2)


def test_users_list_searches_in_any_case_and_pages(api, web):
    for n in range(30):
        _user(api, f"worker{n:02d}@example.com", name=f"Сотрудник {n:02d}")
    _user(api, "anna@example.com", name="Анна Ёлкина")
    csrf = sign_in(web)
    assert csrf
    first = web.get("/admin/users")
    assert first.status_code == 200
    assert "Сотрудник 00" in first.text and 'rel="next"' in first.text
    second = web.get("/admin/users?page=2")
    assert "Сотрудник 29" in second.text and "Сотрудник 00" not in second.text
    found = web.get("/admin/users", params={"q": "АННА"})
    assert "anna@example.com" in found.text and "worker01" not in found.text
    assert "1 user" in found.text
    by_mail = web.get("/admin/users", params={"q": "WORKER1"})
    assert by_mail.text.count("@example.com</td>") == 10
    none = web.get("/admin/users", params={"q": "%"})
    assert "Nobody matches" in none.text


def test_users_pages_are_for_administrators_only(api, web):
    _user(api)
    sign_in(web, "ivan@example.com", "ivan-password-1")
    for url in ("/admin/users", "/admin/users/new", "/admin/users/1", "/admin/users/groups"):
        assert web.get(url).status_code == 403, url
    csrf = web.cookies["kartoteka_csrf"]
    r = web.post("/admin/users/new", data={"csrf": csrf, "email": "x@example.com", "name": "X"})
    assert r.status_code == 403
    assert api.get("/users").json()["items"][-1]["email"] == "ivan@example.com"


def test_invitation_link_sets_the_password_once(api, web, client):
    csrf = sign_in(web)
    r = web.post(
        "/admin/users/new",
        data={"csrf": csrf, "email": "Olga@Example.com", "name": "Olga", "how": "invite"},
    )
    assert r.status_code == 201, r.text
    assert "shown only now" in r.text and "E-mail is not set up" in r.text
    link = _link_of(r.text)
    form = client.get(link)
    assert form.status_code == 200 and "olga@example.com" in form.text
    short = client.post(link, data={"password": "short", "password2": "short"})
    assert short.status_code == 422 and "at least 8 characters" in short.text
    differ = client.post(link, data={"password": "olga-password-1", "password2": "other-one-22"})
    assert differ.status_code == 422 and "differ" in differ.text
    done = client.post(link, data={"password": "olga-password-1", "password2": "olga-password-1"})
    assert done.status_code == 200 and "Your password is set" in done.text
    again = client.post(link, data={"password": "olga-password-2", "password2": "olga-password-2"})
    assert again.status_code == 404 and "does not work" in again.text
    login = client.post(
        "/api/v1/auth/login", json={"email": "olga@example.com", "password": "olga-password-1"}
    )
    assert login.status_code == 200
    events = [e["event"] for e in api.get("/security/log").json()["items"]]
    assert "access_link_created" in events and "access_link_used" in events


def test_link_pages_refuse_a_cross_site_post_and_unknown_tokens(api, web, client):
    user = _user(api)
    csrf = sign_in(web)
    r = web.post(f"/admin/users/{user['id']}/link", data={"csrf": csrf, "purpose": "reset"})
    link = _link_of(r.text)
    evil = client.post(
        link,
        data={"password": "evil-password-1", "password2": "evil-password-1"},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert evil.status_code == 403
    assert client.get("/link/kti_nope").status_code == 404
    assert client.get("/link/kt_abc").status_code == 404
    # The reset link works, and a second link replaces the first.
    newer = web.post(f"/admin/users/{user['id']}/link", data={"csrf": csrf, "purpose": "reset"})
    assert client.get(link).status_code == 404
    assert client.get(_link_of(newer.text)).status_code == 200


def test_invitation_is_emailed_when_smtp_is_set(api, web, smtp):
    controller, inbox = smtp
    smtp_body = {"host": "127.0.0.1", "port": controller.port, "from": "kt@example.com"}
    assert api.put("/settings/smtp", smtp_body).status_code == 200
    csrf = sign_in(web)
    r = web.post(
        "/admin/users/new?lang=ru",
        data={"csrf": csrf, "email": "petr@example.com", "name": "Пётр", "how": "invite"},
    )
    assert r.status_code == 201, r.text
    assert "petr@example.com" in r.text
    assert len(inbox.messages) == 1
    assert inbox.messages[0].rcpt_tos == ["petr@example.com"]
    mail = email.message_from_bytes(inbox.messages[0].content, policy=email.policy.default)
    assert mail["Subject"] == "Приглашение в Картотеку"
    assert _link_of(r.text).split("/link/")[1] in mail.get_content()


def test_new_user_form_shows_each_error_next_to_its_input(api, web):
    _user(api)
    csrf = sign_in(web)
    r = web.post(
        "/admin/users/new",
        data={"csrf": csrf, "email": "ivan@example.com", "name": "Dup", "how": "invite"},
    )
    assert r.status_code == 422
    assert 'id="err-email"' in r.text and "already exists" in r.text
    assert 'value="Dup"' in r.text  # the input is kept
    r = web.post(
        "/admin/users/new",
        data={"csrf": csrf, "email": "no-at-sign", "name": "", "how": "password", "password": "x"},
    )
    assert r.status_code == 422
    for name in ("email", "name", "password"):
        assert f'id="err-{name}"' in r.text, name
    ru = web.post(
        "/admin/users/new?lang=ru",
        data={"csrf": csrf, "email": "ivan@example.com", "name": "Dup", "how": "invite"},
    )
    assert "уже есть" in ru.text
    assert len(api.get("/users").json()["items"]) == 2


def test_admin_edits_profile_groups_and_language(api, web):
    user = _user(api)
    north = api.post("/groups", {"name": "north"}).json()["id"]
    csrf = sign_in(web)
    form = {
        "csrf": csrf,
        "name": "Ivan Petrov",
        "email": "ivan@example.com",
        "lang": "ru",
        "groups": [str(north)],
        "profile_key": ["region", "", "level"],
        "profile_value": ["North", "", "3"],
    }
    r = web.post(f"/admin/users/{user['id']}", data=form)
    assert r.status_code == 303, r.text
    saved = api.get(f"/users/{user['id']}").json()
    assert saved["profile"] == {"region": "North", "level": "3"}
    assert saved["groups"] == [north] and saved["lang"] == "ru" and saved["name"] == "Ivan Petrov"
    bad = web.post(
        f"/admin/users/{user['id']}",
        data={
            **form,
            "profile_key": ["region", "9bad", "region"],
            "profile_value": ["a", "b", "c"],
        },
    )
    assert bad.status_code == 422
    assert 'id="err-profile-2"' in bad.text  # the repeated key, next to its row
    bad = web.post(
        f"/admin/users/{user['id']}",
        data={**form, "profile_key": ["9bad"], "profile_value": ["b"]},
    )
    assert bad.status_code == 422 and 'id="err-profile"' in bad.text
    assert api.get(f"/users/{user['id']}").json()["profile"] == {"region": "North", "level": "3"}


def test_deactivating_stops_the_user_at_once_and_the_last_admin_stays(api, web, client):
    user = _user(api)
    token = client.post(
        "/api/v1/auth/login", json={"email": "ivan@example.com", "password": "ivan-password-1"}
    ).json()["token"]
    csrf = sign_in(web)
    page = web.get(f"/admin/users/{user['id']}")
    assert "Deactivate…" in page.text and "can no longer sign in" in page.text
    r = web.post(f"/admin/users/{user['id']}/active", data={"csrf": csrf, "active": "0"})
    assert r.status_code == 303
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    assert web.post(f"/admin/users/{user['id']}/active", data={"csrf": csrf, "active": "1"})
    assert api.get(f"/users/{user['id']}").json()["active"] is True
    admin_id = api.get("/auth/me").json()["id"]
    # The signed-in administrator's own page offers no deactivation, and the service refuses.
    assert "Deactivate…" not in web.get(f"/admin/users/{admin_id}").text
    r = web.post(f"/admin/users/{admin_id}/active", data={"csrf": csrf, "active": "0"})
    assert r.status_code == 409 and "at least one active administrator" in r.text


def test_admin_sets_a_password_and_deletes_a_user(api, web, client):
    user = _user(api)
    csrf = sign_in(web)
    url = f"/admin/users/{user['id']}"
    differ = web.post(
        f"{url}/password", data={"csrf": csrf, "password": "new-pass-123", "password2": "x"}
    )
    assert differ.status_code == 422 and 'id="err-password2"' in differ.text
    r = web.post(
        f"{url}/password",
        data={"csrf": csrf, "password": "new-pass-123", "password2": "new-pass-123"},
    )
    assert r.status_code == 303
    login = client.post(
        "/api/v1/auth/login", json={"email": "ivan@example.com", "password": "new-pass-123"}
    )
    assert login.status_code == 200
    assert web.post(f"{url}/delete", data={"csrf": csrf}).status_code == 303
    assert api.get(f"/users/{user['id']}").status_code == 404


def test_groups_are_created_filled_renamed_and_deleted(api, web):
    ivan, olga = _user(api), _user(api, "olga@example.com", name="Olga")
    csrf = sign_in(web)
    empty = web.post("/admin/users/groups", data={"csrf": csrf, "name": "  "})
    assert empty.status_code == 422 and 'id="err-name"' in empty.text
    r = web.post("/admin/users/groups", data={"csrf": csrf, "name": "Regional"})
    assert r.status_code == 303
    url = r.headers["location"].split("?")[0]
    gid = int(url.rsplit("/", 1)[1])
    dup = web.post("/admin/users/groups", data={"csrf": csrf, "name": "Regional"})
    assert dup.status_code == 422 and "already exists" in dup.text
    web.post(
        f"{url}/members", data={"csrf": csrf, "action": "add", "user": [ivan["id"], olga["id"]]}
    )
    assert api.get(f"/users/{olga['id']}").json()["groups"] == [gid]
    web.post(f"{url}/members", data={"csrf": csrf, "action": "remove", "user": [olga["id"]]})
    assert api.get(f"/users/{olga['id']}").json()["groups"] == []
    assert api.get(f"/users/{ivan['id']}").json()["groups"] == [gid]
    page = web.get(url)
    assert "1 member loses" in page.text
    assert "Olga" in web.get(url, params={"q": "olg"}).text
    assert web.post(url, data={"csrf": csrf, "name": "North"}).status_code == 303
    assert api.get(f"/groups/{gid}").json()["name"] == "North"
    listing = web.get("/admin/users/groups")
    assert "North" in listing.text and "1 member" in listing.text
    assert web.post(f"{url}/delete", data={"csrf": csrf}).status_code == 303
    assert api.get(f"/users/{ivan['id']}").json()["groups"] == []


def test_account_tokens_are_shown_once_with_scope_and_expiry(api, web, client):
    api.catalog("Deals", [{"name": "Title", "type": "text"}])
    deals = api.get("/catalogs/deals").json()["id"]
    csrf = sign_in(web)
    bad = web.post("/account/tokens", data={"csrf": csrf, "name": "", "expires": "2001-01-01"})
    assert bad.status_code == 422
    assert 'id="err-token_name"' in bad.text
    r = web.post(
        "/account/tokens",
        data={
            "csrf": csrf,
            "name": "1C export",
            "read_only": "1",
            "catalogs": [str(deals)],
            "expires": "2999-12-31",
        },
    )
    assert r.status_code == 201
    secret = re.search(r'id="new-token" type="text" readonly value="(kt_[^"]+)"', r.text).group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/catalogs/deals/records", headers=headers).status_code == 200
    write = client.post("/api/v1/catalogs/deals/records", json={"values": {}}, headers=headers)
    assert write.status_code == 403
    page = web.get("/account")
    assert secret not in page.text and "1C export" in page.text and "read only" in page.text
    [made] = api.get("/auth/tokens").json()["items"]
    assert made["scopes"] == {"read_only": True, "catalogs": [deals]}
    assert made["expires_at"].startswith("2999-12-31")
    assert web.post(f"/account/tokens/{made['id']}/revoke", data={"csrf": csrf}).status_code == 303
    assert client.get("/api/v1/catalogs/deals/records", headers=headers).status_code == 401


def test_admin_sees_and_revokes_a_users_token(api, web, client):
    user = _user(api)
    login = client.post(
        "/api/v1/auth/login", json={"email": "ivan@example.com", "password": "ivan-password-1"}
    ).json()["token"]
    made = client.post(
        "/api/v1/auth/tokens", json={"name": "script"}, headers={"Authorization": f"Bearer {login}"}
    ).json()
    csrf = sign_in(web)
    page = web.get(f"/admin/users/{user['id']}")
    assert "script" in page.text and made["token"] not in page.text
    r = web.post(f"/admin/users/{user['id']}/tokens/{made['id']}/revoke", data={"csrf": csrf})
    assert r.status_code == 303
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {made['token']}"})
    assert me.status_code == 401


def test_totp_enrolment_with_a_qr_code(api, web, client, instance):
    csrf = sign_in(web)
    setup = web.post("/account/totp/setup", data={"csrf": csrf})
    assert setup.status_code == 200
    assert '<svg role="img"' in setup.text and "<title>" in setup.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text).group(1)
    wrong = web.post("/account/totp/enable", data={"csrf": csrf, "code": "000000"})
    assert wrong.status_code == 422 and 'id="err-code"' in wrong.text
    assert secret in wrong.text  # the same QR code again, not a new secret
    code = pyotp.TOTP(secret).now()
    assert web.post("/account/totp/enable", data={"csrf": csrf, "code": code}).status_code == 303
    assert "Two-factor login is on" in web.get("/account?saved=totp_on").text
    login = client.post(
        "/api/v1/auth/login",
        json={"email": "admin@example.com", "password": "correct-horse-battery"},
    )
    assert login.status_code == 401 and login.json()["error"] == "TOTP_REQUIRED"
    # An administrator resets it for a user who lost the phone (here: themself, via the page).
    admin_id = api.get("/auth/me").json()["id"]
    assert "Turn two-factor login off…" in web.get(f"/admin/users/{admin_id}").text
    assert web.post(f"/admin/users/{admin_id}/totp-reset", data={"csrf": csrf}).status_code == 303
    ws = instance.workspace(instance.settings.default_workspace)
    assert totp.enabled_secret(ws, admin_id) is None
