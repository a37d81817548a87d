"""Messages of users, groups and their administration (the people screens and API)."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "user_email": "a valid email address",
    "user_name": "required, a non-empty string",
    "user_groups": "a list of group ids",
    "user_profile": "an object of key: value",
    "user_profile_key": "key {key!r}: letters, digits and '_', not starting with a digit",
    "user_profile_value": "key {key!r}: value must be a string, number, boolean or null",
    "user_lang": "a language code such as 'en' or 'ru'",
    "unknown_key_allowed": "unknown key; allowed: {allowed}",
    "users_admin_only": "only administrators manage users and groups",
    "links_admin_only": "only administrators invite users or reset passwords",
    "sign_in_first": "sign in first",
    "no_group": "no group with id {id}",
    "no_user": "no user with id {id}",
    "email_taken": "a user with email {email} already exists",
    "last_administrator": "the workspace must keep at least one active administrator",
    "user_email_unknown": "no user with email {email}",
    "group_not_found": "group {id} not found",
    "group_taken": "a group named {name!r} already exists",
    "current_password_required": "required to change your own password",
    "current_password_wrong": "wrong password",
    "link_invalid": "this link is unknown, used or expired",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "user_email": "нужен правильный адрес эл. почты",
    "user_name": "обязательно, непустая строка",
    "user_groups": "должно быть списком номеров групп",
    "user_profile": "должно быть объектом ключ: значение",
    "user_profile_key": "ключ «{key}»: буквы, цифры и «_», не с цифры",
    "user_profile_value": "ключ «{key}»: значение — строка, число, да/нет или null",
    "user_lang": "код языка, например «en» или «ru»",
    "unknown_key_allowed": "неизвестный ключ; допустимо: {allowed}",
    "users_admin_only": "пользователями и группами управляют только администраторы",
    "links_admin_only": "приглашать и сбрасывать пароли могут только администраторы",
    "sign_in_first": "сначала войдите",
    "no_group": "нет группы с номером {id}",
    "no_user": "нет пользователя с номером {id}",
    "email_taken": "пользователь с адресом {email} уже есть",
    "last_administrator": "в пространстве должен остаться хотя бы один активный администратор",
    "user_email_unknown": "нет пользователя с адресом {email}",
    "group_not_found": "группа {id} не найдена",
    "group_taken": "группа «{name}» уже есть",
    "current_password_required": "чтобы сменить пароль, введите текущий",
    "current_password_wrong": "неверный пароль",
    "link_invalid": "ссылка неизвестна, уже использована или устарела",
}
