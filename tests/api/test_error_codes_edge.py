"""The HTTP edge's own refusals (credentials, CSRF, token limits, bodies, list parameters)
answer with a code and a message in the caller's language, like the services' errors."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import orjson
import pytest
from support.web import sign_in

RU = {"Accept-Language": "ru"}


def _coded(r: Any, status: int, error: str, code: str) -> dict[str, Any]:
    """The body of a refusal, checked for its status, error and first message code."""
    body = r.json()
    assert (r.status_code, body["error"], body["errors"][0]["code"]) == (status, error, code), (
        r.text
    )
    return body


def _raw(app: Any, method: str, path: str, headers: list, chunks: list[dict]) -> list[dict]:
    """Drive the app as raw ASGI (the test client would buffer or fix up the body)."""
    sent: list[dict] = []
    pending = list(chunks)

    async def receive() -> dict:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    anyio.run(app, scope, receive, send)
    return sent


def test_credential_refusals_in_russian(client: Any) -> None:
    r = client.get("/api/v1/catalogs", headers=RU)
    assert _coded(r, 401, "UNAUTHENTICATED", "auth_required")["message"] == "нужно войти"
    r = client.get("/api/v1/catalogs", headers={**RU, "Authorization": "Digest x"})
    body = _coded(r, 401, "UNAUTHENTICATED", "auth_scheme")
    assert body["message"].startswith("неподдерживаемая схема Authorization")
    r = client.get("/api/v1/catalogs", headers={"Authorization": "Basic !!!"})
    assert _coded(r, 401, "UNAUTHENTICATED", "basic_malformed")["message"] == (
        "malformed Basic credentials"
    )


def test_a_session_without_csrf_is_refused_in_russian(web: Any) -> None:
    sign_in(web)
    r = web.post("/api/v1/catalogs", json={"name": "X"}, headers=RU)
    body = _coded(r, 403, "CSRF", "csrf_missing")
    assert body["message"].startswith("нет CSRF-токена")


def test_token_limits_in_russian(api: Any) -> None:
    api.catalog("Deals", [{"name": "Title", "type": "text"}])
    made = api.post("/auth/tokens", {"name": "ro", "scopes": {"read_only": True}}).json()
    headers = {**RU, "Authorization": f"Bearer {made['token']}"}
    r = api.client.post("/api/v1/catalogs/deals/records", json={"values": {}}, headers=headers)
    body = _coded(r, 403, "FORBIDDEN", "token_read_only")
    assert body["message"] == "этот токен API только для чтения"
    made = api.post("/auth/tokens", {"name": "one", "scopes": {"catalogs": []}}).json()
    headers = {**RU, "Authorization": f"Bearer {made['token']}"}
    r = api.client.get("/api/v1/catalogs/deals/records", headers=headers)
    _coded(r, 403, "FORBIDDEN", "token_scope_refused")
    r = api.client.get("/api/v1/users", headers=headers)
    _coded(r, 403, "FORBIDDEN", "token_scope_route")


def test_body_and_parameter_refusals_in_russian(api: Any) -> None:
    api.catalog("Deals", [{"name": "Title", "type": "text"}])
    url = api.url("/catalogs/deals/records")
    r = api.client.post(url, content=b"{", headers={**RU, "content-type": "application/json"})
    assert _coded(r, 400, "BAD_REQUEST", "json_body")["message"].startswith(
        "тело запроса — не JSON"
    )
    r = api.client.post(url, json={"vals": {}}, headers=RU)
    body = _coded(r, 422, "VALIDATION", "required")
    assert body["fields"] == {"values": "обязательное поле"}
    r = api.client.post(url + "/query", json={"zap": 1, "bad": 2}, headers=RU)
    body = _coded(r, 422, "VALIDATION", "unknown_key")
    assert body["fields"] == {"bad": "неизвестный ключ", "zap": "неизвестный ключ"}
    r = api.client.post(url + "/query", json={"limit": 0}, headers=RU)
    body = _coded(r, 422, "VALIDATION", "whole_number_range")
    assert body["fields"] == {"limit": "целое число от 1 до 1000"}
    r = api.client.get(url + "?fields=nope", headers=RU)
    assert _coded(r, 422, "VALIDATION", "field_list_unknown")["fields"] == {
        "fields": "неизвестное поле «nope»"
    }
    r = api.client.get(url + "/99", headers=RU)
    assert _coded(r, 404, "NOT_FOUND", "record_not_found")["message"] == "запись 99 не найдена"
    r = api.client.get(api.url("/events/stream?after=x"), headers=RU)
    _coded(r, 422, "VALIDATION", "event_sequence")
    r = api.client.post(api.url("/auth/tokens"), json={"name": ""}, headers=RU)
    assert _coded(r, 422, "VALIDATION", "text_length")["fields"] == {"name": "от 1 до 200 символов"}


def test_parameter_errors_caught_by_the_framework_are_coded(api: Any) -> None:
    api.catalog("Deals", [{"name": "Title", "type": "text"}])
    r = api.client.get(api.url("/catalogs/deals/records?limit=0"), headers=RU)
    body = _coded(r, 422, "VALIDATION", "number_at_least")
    assert body["fields"] == {"limit": "должно быть не меньше 1"}
    assert body["errors"][0]["params"] == {"min": 1}
    r = api.client.get(api.url("/catalogs/deals/records?limit=many"))
    assert _coded(r, 422, "VALIDATION", "integer")["message"] == "limit: must be an integer"
    r = api.client.get(api.url("/no/such/path"), headers=RU)
    assert (r.status_code, r.json()["message"]) == (404, "не найдено")
    r = api.client.put(api.url("/catalogs"), json={}, headers=RU)
    assert (r.status_code, r.json()["message"]) == (405, "метод PUT здесь не принимается")


def test_nul_in_a_value_is_named_and_coded(api: Any) -> None:
    api.catalog("Deals", [{"name": "Title", "type": "text"}])
    r = api.client.post(
        api.url("/catalogs/deals/records"), json={"values": {"title": "a\x00b"}}, headers=RU
    )
    body = _coded(r, 422, "VALIDATION", "nul")
    assert list(body["fields"]) == ["title"] and body["where"] == "values.title"


def test_refusals_before_any_route_follow_accept_language(app: Any, client: Any) -> None:
    headers = [(b"content-length", str(10**12).encode()), (b"accept-language", b"ru")]
    sent = _raw(app, "POST", "/api/v1/auth/login", headers, [])
    body = orjson.loads(sent[1]["body"])
    assert (sent[0]["status"], body["error"]) == (413, "TOO_LARGE")
    assert body["message"].startswith("тело запроса больше")
    sent = _raw(app, "GET", "/api/v1/catalogs%00", [(b"accept-language", b"en")], [])
    body = orjson.loads(sent[1]["body"])
    assert (sent[0]["status"], body["message"]) == (
        400,
        "NUL characters are not allowed in the path or query",
    )


def test_a_client_gone_mid_body_is_one_info_line(
    app: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    headers = [(b"content-type", b"application/json")]
    part = {"type": "http.request", "body": b'{"email": "a', "more_body": True}
    with caplog.at_level(logging.INFO):
        sent = _raw(app, "POST", "/api/v1/auth/login", headers, [part])
    assert sent[0]["status"] == 400
    assert orjson.loads(sent[1]["body"])["errors"][0]["code"] == "body_disconnected"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO


def test_list_fields_and_search_in_a_rule_are_refused_in_russian(api) -> None:
    api.catalog("Notes", [{"name": "Title", "type": "text"}])
    r = api.get("/catalogs/notes/records?fields=title,nope", headers=RU)
    body = _coded(r, 422, "VALIDATION", "field_list_unknown")
    assert body["errors"][0]["message"] == "неизвестное поле «nope»"
    readers = api.post("/groups", {"name": "readers"}).json()["id"]
    rule = {"groups": {str(readers): {"view": {"search": "договор"}}}}
    r = api.put("/catalogs/notes/rights", rule, headers=RU)
    assert r.status_code == 422, r.text
    codes = [e["code"] for e in r.json()["errors"]]
    assert "search_in_rule" in codes, r.text
    assert "полнотекстовый поиск" in r.text
