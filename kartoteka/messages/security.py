"""Messages of the security log, request limits and the login throttle."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "integer_between": "an integer between {low} and {high}",
    "integer_at_least": "an integer of at least {low}",
    "security_log_admin_only": "only administrators read the security log",
    "log_cursor_invalid": "invalid cursor",
    "rate_limit_format": 'not a rate limit (write it like "100/30seconds" or "1000/minute")',
    "rate_limit_zero": "must allow at least one request",
    "rate_limit_window": "the window may be at most one day",
    "rate_limit_accounts": "an object of user id: limit",
    "rate_limit_user_id": "not a user id",
    "rate_limited_account": (
        "too many requests for this account (limit {limit}); retry after the window resets"
    ),
    "rate_limited_address": (
        "too many requests from this address (limit {limit}); retry after the window resets"
    ),
    "login_throttled": "too many failed logins; try again later",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "integer_between": "целое число от {low} до {high}",
    "integer_at_least": "целое число не меньше {low}",
    "security_log_admin_only": "журнал безопасности читают только администраторы",
    "log_cursor_invalid": "неверный курсор",
    "rate_limit_format": "это не лимит запросов (пишите как «100/30seconds» или «1000/minute»)",
    "rate_limit_zero": "лимит должен разрешать хотя бы один запрос",
    "rate_limit_window": "окно может быть не длиннее суток",
    "rate_limit_accounts": "объект «номер пользователя: лимит»",
    "rate_limit_user_id": "это не номер пользователя",
    "rate_limited_account": (
        "слишком много запросов от этой учётной записи (лимит {limit}); "
        "повторите, когда окно закончится"
    ),
    "rate_limited_address": (
        "слишком много запросов с этого адреса (лимит {limit}); повторите, когда окно закончится"
    ),
    "login_throttled": "слишком много неудачных входов; попробуйте позже",
}
