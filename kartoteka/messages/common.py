"""Messages every service uses for the shape of a request: objects, flags, numbers and
lists of allowed values."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "expected_object": "expected an object",
    "boolean": "must be true or false",
    "integer": "must be an integer",
    "whole_number_range": "a whole number from 1 to {max}",
    "one_of": "one of: {allowed}",
    "read_only_key": "read-only",
    "text_length": "{min}..{max} characters",
    "json_invalid": "not valid JSON",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "expected_object": "ожидается объект",
    "boolean": "должно быть да или нет",
    "integer": "должно быть целым числом",
    "whole_number_range": "целое число от 1 до {max}",
    "one_of": "допустимо: {allowed}",
    "read_only_key": "только для чтения",
    "text_length": "от {min} до {max} символов",
    "json_invalid": "это не JSON",
}
