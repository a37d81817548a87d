"""The HTML UI in-process: login, pages, edit form, comments, language, CSRF, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from support.web import sign_in

from kartoteka.messages import message
from kartoteka.search import service as search
from kartoteka.web import assets, i18n

RU = {"accept-language": "ru-RU,ru;q=0.9,en;q=0.5"}
EN = {"accept-language": "en-US,en;q=0.9"}


@pytest.fixture(scope="module", autouse=True)
def built_assets() -> None:
    """The bundled scripts and styles (built once in a checkout that never ran setup)."""
    assert assets.build_in_checkout(), "run `npm ci && npm run build`"


def deals(api: Any, rows: int = 3) -> list[int]:
    """A catalog with one field of each editable kind, and `rows` records."""
    api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text", "required": True},
            {"name": "Amount", "type": "number"},
            {"name": "Due", "type": "date"},
            {"name": "Stage", "type": "select", "options": {"choices": ["Lead", "Won"]}},
            {"name": "Done", "type": "checkbox"},
            {"name": "Mail", "type": "email"},
        ],
    )
    return api.records("deals", [{"name": f"Deal {i:03}", "amount": i} for i in range(rows)])


def field_errors(html: str) -> dict[str, str]:
    """Per-field error messages of the edit form, by api_name."""
    return dict(re.findall(r'id="err-([a-z0-9_]+)">([^<]+)<', html))


# ----- login ---------------------------------------------------------------------------
@pytest.mark.parametrize(("headers", "title"), [(EN, "Sign in"), (RU, "Вход")])
def test_login_page_in_browser_language(web, headers, title):
    r = web.get("/login", headers=headers)
    assert r.status_code == 200
    assert f"<h1>{title}</h1>" in r.text
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("headers", "message"), [(EN, "Wrong e-mail or password."), (RU, "Неверная почта или пароль.")]
)
def test_wrong_password_shows_error_in_language(web, headers, message):
    r = web.post("/login", data={"email": ADMIN_EMAIL, "password": "nope"}, headers=headers)
    assert r.status_code == 401
    assert message in r.text
    assert "kartoteka_session" not in web.cookies


def test_login_with_missing_fields_is_an_error_not_a_crash(web):
    r = web.post("/login", data={"email": ""}, headers=RU)
    assert r.status_code == 422
    assert "Введите почту и пароль." in r.text


def test_login_sets_api_cookies_and_follows_next(web):
    r = web.post(
        "/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "next": "/c/deals"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/c/deals"
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("kartoteka_session="))
    csrf = next(c for c in cookies if c.startswith("kartoteka_csrf="))
    assert "HttpOnly" in session and "HttpOnly" not in csrf
    # The same cookies work for the REST API (session + X-CSRF-Token).
    me = web.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["email"] == ADMIN_EMAIL


def test_hostile_input_is_never_a_server_error(web):
    # PostgreSQL refuses NUL in text parameters; the pages must still answer properly.
    assert web.get("/w/%00x/login").status_code == 404
    assert web.get("/w/" + "a" * 300 + "/").status_code == 404
    r = web.post("/login", data={"email": "a\x00@example.com", "password": "x\x00y"})
    assert r.status_code == 401
    bad = web.post("/login", content=b"\xff", headers={"content-type": "multipart/form-data; b=x"})
    assert bad.status_code == 400


def test_two_factor_login_asks_for_the_code(api, web, monkeypatch):
    from datetime import UTC, datetime, timedelta

    import pyotp

    from kartoteka.security import totp

    now = datetime.now(UTC)  # a code is accepted once: enable with the previous one
    monkeypatch.setattr(totp, "clock", lambda: now)
    secret = api.post("/auth/totp/setup").json()["secret"]
    r = api.post("/auth/totp/enable", {"code": pyotp.TOTP(secret).at(now - timedelta(seconds=30))})
    assert r.status_code == 200, r.text
    creds = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    r = web.post("/login", data=creds, headers=EN)
    assert r.status_code == 401
    assert "enter the password again and the one-time code" in r.text
    assert 'name="totp"' in r.text
    r = web.post("/login", data=creds | {"totp": "000000"}, headers=EN)
    assert r.status_code == 401 and "Wrong e-mail or password." in r.text
    r = web.post("/login", data=creds | {"totp": pyotp.TOTP(secret).at(now)})
    assert r.status_code == 303 and "kartoteka_session" in web.cookies


def test_repeated_wrong_passwords_are_throttled_on_the_form(web):
    statuses = [
        web.post("/login", data={"email": ADMIN_EMAIL, "password": "nope"}, headers=RU).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    r = web.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, headers=RU)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert "Слишком много попыток." in r.text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(web, target):
    r = web.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "next": target})
    assert r.status_code == 303
    assert r.headers["location"] == "/"


@pytest.mark.parametrize("path", ["/", "/c/deals", "/c/deals/r/1", "/c/deals/r/1/edit"])
def test_pages_redirect_to_login_when_signed_out(web, path):
    r = web.get(path)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next={path}"


def test_expired_session_cookie_redirects_to_login(web):
    web.cookies.set("kartoteka_session", "kts_not-a-real-session")
    r = web.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_htmx_request_signed_out_gets_hx_redirect(web):
    r = web.get("/c/deals/rows", headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.headers["HX-Redirect"] == "/login?next=/c/deals/rows"


def test_logout_ends_the_session(web):
    csrf = sign_in(web)
    old = web.cookies["kartoteka_session"]
    r = web.post("/logout", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    web.cookies.set("kartoteka_session", old)
    assert web.get("/").status_code == 303


def test_workspace_prefixed_pages(web, settings):
    prefix = f"/w/{settings.default_workspace}"
    assert web.get(f"{prefix}/").headers["location"] == f"{prefix}/login?next={prefix}/"
    sign_in(web, prefix=prefix)
    r = web.get(f"{prefix}/")
    assert r.status_code == 200
    assert f'href="{prefix}/"' in r.text
    assert web.get("/w/no-such-workspace/login").status_code == 404


# ----- catalogs and records ------------------------------------------------------------
def test_home_lists_catalogs(api, web):
    deals(api, 0)
    sign_in(web)
    r = web.get("/")
    assert r.status_code == 200
    assert '<a href="/c/deals">' in r.text and "<strong>Deals</strong>" in r.text


def test_catalog_page_shows_30_then_loads_more_with_htmx(api, web):
    # Without scripts (and on a phone) the catalog is a list paged by 30 with "load more".
    deals(api, 40)
    sign_in(web)
    r = web.get("/c/deals")
    assert r.status_code == 200
    assert r.text.count("Deal 0") == 30
    assert "Deal 029" in r.text and "Deal 030" not in r.text
    more = re.search(r'hx-get="([^"]+)"', r.text)
    assert more is not None
    page2 = web.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert page2.status_code == 200
    assert page2.text.count("Deal 0") == 10 and "Deal 039" in page2.text
    assert "hx-get" not in page2.text  # the last page has no "load more"


def test_bad_cursor_unknown_catalog_and_record_are_html_errors(api, web):
    ids = deals(api, 1)
    sign_in(web)
    bad = web.get("/c/deals/rows?cursor=garbage")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    for path in (
        "/c/nope",
        "/c/deals/r/999999",
        "/c/deals/r/abc",
        "/c/deals/r/999999999999999999",
        "/c/deals/r/99999999999999999999",
        f"/c/nope/r/{ids[0]}/edit",
    ):
        r = web.get(path, headers=EN)
        assert r.status_code == 404, path
        assert "Not found, or you have no access to it." in r.text


def test_record_card_shows_values_history_and_comments(api, web):
    [rid] = deals(api, 1)
    api.patch(f"/catalogs/deals/records/{rid}", {"values": {"stage": "Won"}})
    api.post(f"/catalogs/deals/records/{rid}/comments", {"text": "first <b>note</b>"})
    sign_in(web)
    r = web.get(f"/c/deals/r/{rid}")
    assert r.status_code == 200
    # The stage editor has "Won" chosen; history shows labels, not choice ids.
    assert re.search(r'value="\d+" checked><span class="chip c-\w+">Won</span>', r.text)
    assert "first &lt;b&gt;note&lt;/b&gt;" in r.text  # escaped, never raw HTML
    assert "<del>—</del> → <ins>Won</ins>" in r.text


# ----- the edit form -------------------------------------------------------------------
def test_edit_form_saves_every_editable_type(api, web):
    [rid] = deals(api, 1)
    csrf = sign_in(web)
    form = web.get(f"/c/deals/r/{rid}/edit")
    assert form.status_code == 200 and 'name="name" value="Deal 000"' in form.text
    r = web.post(
        f"/c/deals/r/{rid}/edit",
        data={
            "csrf": csrf,
            "name": "Big deal",
            "amount": "1 500",
            "due": "2026-03-01",
            "stage": "Won",
            "_checkbox": "done",
            "done": "1",
            "mail": "a@example.com",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/c/deals/r/{rid}?saved=1"
    values = api.get(f"/catalogs/deals/records/{rid}").json()["values"]
    assert values["name"] == "Big deal" and values["amount"] == 1500
    assert values["due"] == "2026-03-01" and values["stage"]["label"] == "Won"
    assert values["done"] is True and values["mail"] == "a@example.com"
    # An unticked checkbox sends nothing; the hidden marker turns that into false.
    r = web.post(f"/c/deals/r/{rid}/edit", data={"csrf": csrf, "_checkbox": "done"})
    assert r.status_code == 303
    assert api.get(f"/catalogs/deals/records/{rid}").json()["values"]["done"] is False


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            {
                "name": "required",
                "amount": "expected a whole number",
                "mail": "not a valid e-mail address",
                "stage": "unknown choice 'Nope'",
            },
        ),
        (
            "ru",
            {
                "name": "обязательное поле",
                "amount": "ожидается целое число",
                "mail": "неверный адрес эл. почты",
                "stage": "нет такого варианта: 'Nope'",
            },
        ),
    ],
)
def test_edit_errors_per_field_in_language_and_nothing_saved(api, web, lang, expected):
    [rid] = deals(api, 1)
    csrf = sign_in(web)
    web.get(f"/?lang={lang}")  # the language switch is remembered in a cookie
    r = web.post(
        f"/c/deals/r/{rid}/edit",
        # A readable number the field refuses (it keeps whole numbers): the field type says
        # why, beside the other fields' reasons (test_web_amounts.py: unreadable ones).
        data={"csrf": csrf, "name": " ", "amount": "1.5", "mail": "x", "stage": "Nope"},
    )
    assert r.status_code == 422
    assert field_errors(r.text) == {k: v.replace("'", "&#39;") for k, v in expected.items()}
    assert 'value="1.5"' in r.text  # what the user typed stays in the form
    assert api.get(f"/catalogs/deals/records/{rid}").json()["values"]["name"] == "Deal 000"


@pytest.mark.parametrize("csrf", [None, "", "wrong"])
def test_form_posts_need_the_session_csrf_token(api, web, csrf):
    [rid] = deals(api, 1)
    sign_in(web)
    data = {"name": "Hijacked"} | ({"csrf": csrf} if csrf is not None else {})
    r = web.post(f"/c/deals/r/{rid}/edit", data=data, headers=EN)
    assert r.status_code == 403
    assert "The form has expired" in r.text
    assert api.get(f"/catalogs/deals/records/{rid}").json()["values"]["name"] == "Deal 000"
    assert web.post(f"/c/deals/r/{rid}/comments", data=data).status_code == 403


# ----- comments ------------------------------------------------------------------------
def test_add_comment_and_empty_comment_error(api, web):
    [rid] = deals(api, 1)
    csrf = sign_in(web)
    r = web.post(f"/c/deals/r/{rid}/comments", data={"csrf": csrf, "text": "  Call back  "})
    assert r.status_code == 303 and r.headers["location"] == f"/c/deals/r/{rid}#comments"
    items = api.get(f"/catalogs/deals/records/{rid}/comments").json()["items"]
    assert [c["text"] for c in items] == ["Call back"]
    web.get("/?lang=ru")
    r = web.post(f"/c/deals/r/{rid}/comments", data={"csrf": csrf, "text": ""})
    assert r.status_code == 422
    assert '<p class="field-error" role="alert">обязательное поле</p>' in r.text


# ----- language ------------------------------------------------------------------------
def test_user_language_beats_browser_and_switch_beats_both(api, web):
    r = api.post(
        "/users",
        {"email": "olga@example.com", "name": "Olga", "password": "long-enough-pass", "lang": "ru"},
    )
    assert r.status_code == 201, r.text
    sign_in(web, "olga@example.com", "long-enough-pass")
    assert "<h1>Каталоги</h1>" in web.get("/", headers=EN).text
    r = web.get("/?lang=en", headers=RU)
    assert "<h1>Catalogs</h1>" in r.text
    assert "kartoteka_lang=en" in r.headers["set-cookie"]
    assert "<h1>Catalogs</h1>" in web.get("/", headers=RU).text


def test_field_messages_translate_and_unknown_ones_pass_through():
    # The services report codes; the UI writes them with the shared catalogue (no regexes
    # over English text any more).
    assert message("max_length", {"max": 20}, "ru") == "не более 20 символов"
    assert message("required", {}, "ru") == "обязательное поле"
    assert message("something_new", {"message": "something new"}, "ru") == "something new"
    assert not hasattr(i18n, "FIELD_MESSAGES") and not hasattr(i18n, "field_message")


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("ru-RU,ru;q=0.9", "ru"),
        ("de-DE,de;q=0.9,en;q=0.8", "en"),
        ("fr, ru;q=0.1", "ru"),
        ("", "en"),
        ("ru;q=0, en;q=0.2", "en"),
        ("ru;q=abc", "ru"),
    ],
)
def test_accept_language(header, lang):
    assert i18n.choose(None, None, None, header) == lang


def test_static_assets(web):
    page = web.get("/login")
    links = re.findall(r'(?:href|src)="(/static/dist/[^"]+)"', page.text)
    assert any(x.endswith(".css") for x in links), "run `npm ci && npm run build`"
    assert any(re.search(r"/app-\w+\.js$", x) for x in links)
    for link in links:
        r = web.get(link)
        assert r.status_code == 200, link
        assert "immutable" in r.headers["cache-control"]
    css = next(web.get(link) for link in links if link.endswith(".css"))
    assert "--accent" in css.text
    # The CSP allows no inline code: every script has a src, no element has on...= handlers.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert not re.search(r"\son[a-z]+=", page.text)
    pinned = json.loads((Path(i18n.__file__).parents[2] / "package.json").read_text())
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in pinned["dependencies"].values())


def test_search_page_and_catalog_search_and_filter_in_the_url(api, web, monkeypatch):
    deals(api, 3)
    api.patch("/catalogs/deals/records/2", {"values": {"name": "Поставка ромашек"}})
    sign_in(web)
    r = web.get("/search", params={"q": "ромашка"})
    assert r.status_code == 200
    assert '<a href="/c/deals/r/2">Поставка ромашек</a>' in r.text
    assert "<mark>" in r.text  # the service's snippet keeps its highlight
    assert "1 record<" in r.text
    monkeypatch.setattr(search, "COUNT_CAP", 2)  # a count at the cap means "at least"
    assert "2+ records<" in web.get("/search", params={"q": "deal"}).text
    listed = web.get("/c/deals", params={"search": "ромашка"}).text
    assert "Поставка ромашек" in listed and "Deal 000" not in listed
    only = web.get("/c/deals", params={"filter": '{"amount": {"gte": 2}}'}).text
    assert "Deal 002" in only and "Deal 001" not in only
    bad = web.get("/c/deals", params={"filter": "{not json"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")


def test_saving_a_card_someone_changed_meanwhile_overwrites_nothing(api, web):
    [rid] = deals(api, 1)
    csrf = sign_in(web)
    card = web.get(f"/c/deals/r/{rid}").text
    version = re.search(r'name="_version" value="(\d+)"', card)
    assert version is not None
    api.patch(f"/catalogs/deals/records/{rid}", {"values": {"name": "Theirs"}})
    data = {"csrf": csrf, "_version": version.group(1), "name": "Mine"}
    r = web.post(f"/c/deals/r/{rid}/edit", data=data)
    assert r.status_code == 412 and "changed this record while you were editing" in r.text
    assert 'value="Mine"' in r.text  # the input stays in the form
    assert api.get(f"/catalogs/deals/records/{rid}").json()["values"]["name"] == "Theirs"
    answer = web.post(f"/c/deals/r/{rid}/edit", data=data, headers={"Accept": "application/json"})
    assert answer.status_code == 412 and answer.json()["conflict"] is True
