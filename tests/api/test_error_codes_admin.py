"""Refusals of the security log, request limits, notices, exports and workspaces carry a
code and read in the caller's language."""

from __future__ import annotations

from typing import Any

import pytest

RU = {"Accept-Language": "ru"}


def _coded(r: Any, status: int, code: str) -> dict[str, Any]:
    """The body of a refusal, checked for its status and first message code."""
    body = r.json()
    assert (r.status_code, body["errors"][0]["code"]) == (status, code), r.text
    return body


def _member(client: Any, api: Any) -> dict[str, str]:
    """Russian-speaking headers of a signed-in user who is not an administrator."""
    api.post("/users", {"email": "bob@example.com", "name": "Bob", "password": "password-bob"})
    r = client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": "password-bob"}
    )
    return {**RU, "Authorization": f"Bearer {r.json()['token']}"}


def test_security_log_refusals_in_russian(client: Any, api: Any) -> None:
    r = api.get("/security/log", params={"event": "nope"}, headers=RU)
    assert _coded(r, 422, "one_of")["fields"]["event"].startswith("допустимо: login")
    r = api.get("/security/log", params={"cursor": "abc"}, headers=RU)
    assert _coded(r, 400, "log_cursor_invalid")["message"] == "cursor: неверный курсор"
    r = client.get("/api/v1/security/log", headers=_member(client, api))
    body = _coded(r, 403, "security_log_admin_only")
    assert body["message"] == "журнал безопасности читают только администраторы"


@pytest.mark.parametrize(
    ("setting", "code", "field"),
    [
        ({"per_account": "lots"}, "rate_limit_format", "per_account"),
        ({"per_address": "0/second"}, "rate_limit_zero", "per_address"),
        ({"per_account": "5/month"}, "rate_limit_window", "per_account"),
        ({"nope": 1}, "unknown_key_allowed", "nope"),
        ({"accounts": "x"}, "rate_limit_accounts", "accounts"),
        ({"accounts": {"x": "5/minute"}}, "rate_limit_user_id", "accounts.x"),
        ([], "expected_object", "rate_limits"),
    ],
)
def test_request_limit_refusals_name_the_key(api: Any, setting: Any, code: str, field: str) -> None:
    r = api.put("/security/rate-limits", setting, headers=RU)
    body = _coded(r, 422, code)
    assert list(body["fields"]) == [field]
    assert any("а" <= ch <= "я" for ch in body["fields"][field]), r.text


def test_notices_exports_and_workspaces_in_russian(client: Any, api: Any) -> None:
    r = api.post("/notices/999/read", headers=RU)
    assert _coded(r, 404, "notice_not_found")["message"] == "уведомление 999 не найдено"
    api.catalog("Deals", [{"name": "Title", "type": "text"}])
    r = api.get("/catalogs/deals/export", params={"encoding": "koi8"}, headers=RU)
    assert _coded(r, 422, "export_encoding")["fields"] == {
        "encoding": "допустимо utf-8 или windows-1251 (cp1251)"
    }
    r = api.get("/catalogs/deals/export", params={"format": "xlsx", "delimiter": ";"})
    assert _coded(r, 422, "export_csv_only")["message"] == "delimiter: applies to csv only"
    r = api.get("/catalogs/deals/export", params={"fields": "title,title"}, headers=RU)
    assert _coded(r, 422, "field_list_twice")["fields"] == {"fields": "поле названо дважды"}
    r = client.get("/w/nope/api/v1/catalogs", headers={**RU, **api.client.headers})
    assert _coded(r, 404, "workspace_not_found")["message"] == "пространства «nope» нет"


def test_request_limits_are_for_administrators(client: Any, api: Any) -> None:
    r = client.put("/api/v1/security/rate-limits", json={}, headers=_member(client, api))
    assert _coded(r, 403, "limits_admin_only")["message"].startswith("лимиты запросов")
