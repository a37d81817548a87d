"""Messages of invitations, password links, workspace settings and workspaces (the
administrators' people and settings screens)."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "link_purpose": "must be one of: {allowed}",
    "link_inactive_user": "the user is deactivated; activate them first",
    "new_password_short": "at least {min} characters",
    "new_password_long": "at most {max} characters",
    "passwords_differ": "the two passwords differ",
    "setting_timezone": "unknown time zone",
    "setting_lang": "must be one of: {allowed}",
    "setting_boolean": "must be true or false",
    "setting_title": "at most {max} characters",
    "setting_unknown": "unknown setting",
    "workspaces_not_allowed": "the operator does not allow this from the web interface",
    "restore_self": "this is the workspace you are signed in to",
    "backup_unreadable": "not a Kartoteka backup (not a .tar.gz file)",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "link_purpose": "допустимо: {allowed}",
    "link_inactive_user": "пользователь отключён; сначала включите его",
    "new_password_short": "не меньше {min} символов",
    "new_password_long": "не больше {max} символов",
    "passwords_differ": "пароли не совпадают",
    "setting_timezone": "неизвестный часовой пояс",
    "setting_lang": "допустимо: {allowed}",
    "setting_boolean": "должно быть да или нет",
    "setting_title": "не больше {max} символов",
    "setting_unknown": "неизвестная настройка",
    "workspaces_not_allowed": "администратор сервера не разрешил это в веб-интерфейсе",
    "restore_self": "это пространство, в котором вы сейчас работаете",
    "backup_unreadable": "это не резервная копия Картотеки (не файл .tar.gz)",
}
