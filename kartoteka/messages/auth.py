"""Messages of signing in: passwords, API tokens and two-factor login."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "no_active_user": "no such active user",
    "wrong_login": "wrong email or password",
    "wrong_token": "invalid or expired token",
    "totp_basic": "this account uses two-factor login; use an API token, not Basic",
    "totp_required": 'two-factor code required: send "totp" with the login',
    "totp_wrong": "wrong or already used two-factor code",
    "totp_code": "the current 6-digit code",
    "totp_user_only": "only a user can use two-factor login",
    "totp_restricted_token": "a restricted API token cannot change two-factor login",
    "totp_on_disable_first": "two-factor login is already on; disable it first",
    "totp_on": "two-factor login is already on",
    "totp_setup_first": "call POST /auth/totp/setup first",
    "totp_off": "two-factor login is not on",
    "totp_admin_only": "only administrators reset two-factor login",
    "tokens_user_only": "only a user can hold tokens",
    "tokens_admin_only": "only administrators see other users' tokens",
    "restricted_token": "a restricted token cannot create tokens",
    "token_not_found": "token {id} not found",
    "scope_key": "unknown key {key!r}; allowed: catalogs, read_only",
    "scope_catalogs": "catalogs must be a list of catalog ids",
    "future": "must be in the future",
    "settings_admin_only": "only administrators change workspace settings",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "no_active_user": "нет такого активного пользователя",
    "wrong_login": "неверный адрес эл. почты или пароль",
    "wrong_token": "токен неверен или устарел",
    "totp_basic": "у этой учётной записи двухфакторный вход; используйте токен API, а не Basic",
    "totp_required": "нужен код второго фактора: передайте «totp» при входе",
    "totp_wrong": "код второго фактора неверен или уже использован",
    "totp_code": "текущий шестизначный код",
    "totp_user_only": "двухфакторный вход бывает только у пользователя",
    "totp_restricted_token": "токен с ограничениями не может менять двухфакторный вход",
    "totp_on_disable_first": "двухфакторный вход уже включён; сначала выключите его",
    "totp_on": "двухфакторный вход уже включён",
    "totp_setup_first": "сначала вызовите POST /auth/totp/setup",
    "totp_off": "двухфакторный вход не включён",
    "totp_admin_only": "сбрасывать двухфакторный вход могут только администраторы",
    "tokens_user_only": "токены бывают только у пользователей",
    "tokens_admin_only": "чужие токены видят только администраторы",
    "restricted_token": "токен с ограничениями не может создавать токены",
    "token_not_found": "токен {id} не найден",
    "scope_key": "неизвестный ключ «{key}»; допустимо: catalogs, read_only",
    "scope_catalogs": "catalogs — список номеров каталогов",
    "future": "должно быть в будущем",
    "settings_admin_only": "настройки пространства меняют только администраторы",
}
