"""Messages of reading records: list parameters, field lists, reveals and link pickers."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "field_list": "a list of field api_names",
    "field_list_unknown": "unknown field {name!r}",
    "field_list_twice": "a field is named twice",
    "search_unavailable": "search is not available",
    "reveal_forbidden": "you may not reveal field {field!r}",
    "picker_not_link": "{field} is not a link field",
    "picker_catalog_gone": "the linked catalog no longer exists",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "field_list": "список api_name полей",
    "field_list_unknown": "неизвестное поле «{name}»",
    "field_list_twice": "поле названо дважды",
    "search_unavailable": "поиск недоступен",
    "reveal_forbidden": "вам нельзя раскрывать поле «{field}»",
    "picker_not_link": "поле {field} — не связь",
    "picker_catalog_gone": "связанного каталога больше нет",
}
