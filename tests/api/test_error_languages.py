"""Error messages follow the caller's language (Accept-Language; English by default),
from every service, with the same JSON shape and codes in each language."""

from __future__ import annotations

from support.web import sign_in

RU = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en"}


def _both(api, method: str, path: str, body=None):
    """(English answer, Russian answer) of the same refused request."""
    call = getattr(api.client, method)
    kw = {} if body is None else {"json": body}
    return call(api.url(path), headers=EN, **kw), call(api.url(path), headers=RU, **kw)


def test_russian_callers_get_russian_messages_from_several_services(api):
    api.catalog("Deals", [{"name": "Title", "type": "text"}])
    cases = [
        # catalogs: a field spec
        ("post", "/catalogs/deals/fields", {"name": " ", "type": "text"}, 422, "VALIDATION"),
        # views
        ("post", "/catalogs/deals/views", {"name": "V", "type": "pie"}, 422, "VALIDATION"),
        # filters (records list)
        ("get", "/catalogs/deals/records?filter=%7B%22nope%22%3A1%7D", None, 422, "VALIDATION"),
        # webhooks
        ("post", "/webhooks", {"catalog": "deals", "url": "ftp://x"}, 422, "VALIDATION"),
        # not found (catalogs)
        ("get", "/catalogs/nothing", None, 404, "NOT_FOUND"),
        # records write path (typed errors)
        ("post", "/catalogs/deals/records", {"values": {"nope": 1}}, 422, "VALIDATION"),
    ]
    for method, path, body, status, code in cases:
        en, ru = _both(api, method, path, body)
        assert (en.status_code, ru.status_code) == (status, status), (path, en.text, ru.text)
        assert en.json()["error"] == ru.json()["error"] == code
        assert en.json()["message"] != ru.json()["message"], (path, ru.text)
        assert any("а" <= ch.lower() <= "я" for ch in ru.json()["message"]), (path, ru.text)
        assert en.json()["message"].isascii(), (path, en.text)
        # The same keys name the same inputs in both languages.
        assert set(en.json().get("fields", {})) == set(ru.json().get("fields", {}))


def test_exact_russian_texts_and_english_by_default(api):
    api.catalog("Deals", [{"name": "Title", "type": "text"}])
    r = api.client.post(api.url("/catalogs/deals/fields"), json={"name": " ", "type": "text"})
    assert r.json()["fields"] == {"name": "must be 1..200 characters"}  # no header: English
    r = api.client.post(
        api.url("/catalogs/deals/fields"), json={"name": " ", "type": "text"}, headers=RU
    )
    assert r.json() == {
        "error": "VALIDATION",
        "message": "name: от 1 до 200 символов",
        "fields": {"name": "от 1 до 200 символов"},
        "errors": [
            {
                "where": None,
                "index": None,
                "field": "name",
                "code": "name_length",
                "params": {},
                "message": "от 1 до 200 символов",
            }
        ],
    }
    r = api.client.get(api.url("/webhooks/999"), headers=RU)
    assert (r.status_code, r.json()["message"]) == (404, "вебхук 999 не найден")
    # A language the server does not speak gets English.
    r = api.client.get(api.url("/webhooks/999"), headers={"Accept-Language": "de"})
    assert r.json()["message"] == "webhook 999 not found"


def test_the_web_ui_ships_no_regex_table_and_asks_the_api_in_its_language(web, api):
    sign_in(web)
    page = web.get("/admin/catalogs?lang=ru").text
    assert "ui-config" in page and '"messages"' not in page
