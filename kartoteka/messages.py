"""Messages of domain error codes, in English and Russian.

Services report problems as a code with parameters (`ItemError`, `FieldValueError`);
the edges (REST API, HTML UI, CLI) turn them into text here, in the reader's language.
Templates use `str.format` fields named after the parameters; a code missing from a
language falls back to English, and an unknown code to its `message` parameter (the
field type's own English text) or to the code itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGUAGES = ("en", "ru")

#: code -> English template.
EN: dict[str, str] = {
    # shape of a write request
    "body_object": "must be an object",
    "unknown_key": "unknown key",
    "must_be_list": "must be a list",
    "upsert_shape": "must be {{key, items}}",
    "upsert_key": "must be a unique field, or a list of stored fields",
    "key_matches_many": "the key matches {count} records",
    "item_shape": 'each item must be {{"values": {{...}}}}',
    "update_item_shape": "each item must be {{id, values}}",
    "values_object": "must be an object keyed by field api_name",
    "record_id": "must be a record id",
    "version": "must be a positive integer",
    "duplicate_id": "duplicate id",
    "batch_too_large": "at most {limit} records per batch (got {total})",
    # values
    "invalid": "{message}",
    "required": "required",
    "unknown_field": "unknown field",
    "read_only_field": "read-only field",
    "email": "not a valid e-mail address",
    "phone": "not a valid phone number",
    "url": "not a valid http(s) URL",
    "url_spaces": "a URL must not contain spaces",
    "number": "expected a number",
    "finite_number": "expected a finite number",
    "whole_number": "expected a whole number",
    "number_too_long": "number is too long",
    "number_range": "number out of range (|x| < {max})",
    "date": "expected a date YYYY-MM-DD",
    "datetime": "expected an ISO 8601 date-time",
    "checkbox": "expected true or false",
    "string": "expected a string",
    "max_length": "at most {max} characters",
    "max_decimals": "at most {max} digits after the point",
    "unknown_choice": "unknown choice {choice!r}",
    "one_choice": "only one choice allowed",
    "one_file": "only one file allowed",
    "one_link": "only one linked record allowed",
    "one_user": "only one user allowed",
    "nul": "text must not contain NUL characters",
    # references and uniqueness
    "link_catalog_gone": "the linked catalog no longer exists",
    "link_not_found": "linked record {id} not found",
    "link_outside_view": "linked record {id} outside the allowed view",
    "link_not_accessible": "linked record {id} not found or not accessible",
    "user_not_found": "user {id} not found",
    "file_unavailable": "file {id} not found or already used",
    "unique_repeats": "value {value!r} repeats in this batch",
    "unique_exists": "value {value!r} already exists",
    "key_value": "the upsert key needs a value",
    # records and rights
    "record_not_found": "record {id} not found",
    "version_mismatch": "record {id} was changed (version {current}, expected {expected})",
    "create_forbidden": "you may not create records in {catalog!r}",
    "edit_forbidden": "you may not change record {id}",
    "delete_forbidden": "you may not delete record {id}",
    "field_forbidden": "you may not change this field",
    "system_catalog": "records of the system catalog {catalog!r} are read-only here; "
    "change them at {managed_at}",
    "rejected": "{message}",
    "loop_protection": "loop protection: this write comes from a chain of {depth} webhook "
    "deliveries, and request webhooks are not called past {limit} "
    "(KARTOTEKA_WEBHOOK_MAX_DEPTH)",
    "key_unavailable": "the key belongs to a record you may not change",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "body_object": "должно быть объектом",
    "unknown_key": "неизвестный ключ",
    "must_be_list": "должно быть списком",
    "upsert_shape": "должно быть {{key, items}}",
    "upsert_key": "должно быть уникальным полем или списком хранимых полей",
    "key_matches_many": "ключу соответствуют {count} записей",
    "item_shape": 'каждый элемент должен быть {{"values": {{...}}}}',
    "update_item_shape": "каждый элемент должен быть {{id, values}}",
    "values_object": "должно быть объектом с api_name полей в ключах",
    "record_id": "должно быть номером записи",
    "version": "должно быть целым положительным числом",
    "duplicate_id": "запись указана дважды",
    "batch_too_large": "не более {limit} записей за раз (передано {total})",
    "required": "обязательное поле",
    "unknown_field": "неизвестное поле",
    "read_only_field": "это поле нельзя изменить",
    "email": "неверный адрес эл. почты",
    "phone": "неверный номер телефона",
    "url": "неверный адрес http(s)",
    "url_spaces": "адрес не должен содержать пробелов",
    "number": "ожидается число",
    "finite_number": "ожидается число",
    "whole_number": "ожидается целое число",
    "number_too_long": "слишком длинное число",
    "number_range": "число вне допустимого диапазона",
    "date": "ожидается дата (ГГГГ-ММ-ДД)",
    "datetime": "ожидаются дата и время",
    "checkbox": "ожидается да или нет",
    "string": "ожидается текст",
    "max_length": "не более {max} символов",
    "max_decimals": "не более {max} знаков после запятой",
    "unknown_choice": "нет такого варианта: {choice}",
    "one_choice": "можно выбрать только один вариант",
    "one_file": "можно приложить только один файл",
    "one_link": "можно связать только одну запись",
    "one_user": "можно выбрать только одного пользователя",
    "nul": "текст содержит запрещённый символ",
    "link_catalog_gone": "связанного каталога больше нет",
    "link_not_found": "связанная запись {id} не найдена",
    "link_outside_view": "связанная запись {id} вне разрешённого представления",
    "link_not_accessible": "связанная запись {id} не найдена или недоступна",
    "user_not_found": "пользователь {id} не найден",
    "file_unavailable": "файл {id} не найден или уже используется",
    "unique_repeats": "значение {value} повторяется в этом наборе",
    "unique_exists": "значение {value} уже есть",
    "key_value": "у ключа должно быть значение",
    "record_not_found": "запись {id} не найдена",
    "version_mismatch": "запись {id} уже изменили (версия {current}, ожидалась {expected})",
    "create_forbidden": "вы не можете создавать записи в «{catalog}»",
    "edit_forbidden": "вы не можете изменять запись {id}",
    "delete_forbidden": "вы не можете удалить запись {id}",
    "field_forbidden": "вы не можете изменять это поле",
    "system_catalog": "записи системного каталога «{catalog}» здесь только читаются; "
    "меняйте их в {managed_at}",
    "loop_protection": "защита от зацикливания: запись пришла через цепочку из {depth} "
    "вызовов вебхуков, а проверочные вебхуки вызываются не глубже {limit}",
    "key_unavailable": "ключ принадлежит записи, которую вы не можете изменить",
}

CATALOGS: dict[str, dict[str, str]] = {"en": EN, "ru": RU}


def message(code: str, params: Mapping[str, Any] | None = None, lang: str = "en") -> str:
    """The text of one code with its parameters, in `lang` (English when unknown there)."""
    params = params or {}
    template = CATALOGS.get(lang, EN).get(code) or EN.get(code)
    if template is None:
        return str(params.get("message") or code)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        # A parameter missing from the call is a bug, but never a reason to lose the error.
        return str(params.get("message") or code)
