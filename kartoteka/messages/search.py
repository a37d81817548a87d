"""Messages of full-text search: queries, the workspace search's parameters."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "search_not_text": "search must be a string",
    "search_too_long": "search is longer than {max} characters",
    "search_no_words": "search needs at least one word of letters or digits",
    "search_too_many_parts": "search takes at most {max} words and phrases",
    "search_link_titles_hidden": (
        "you may not search this field: some of its linked titles are hidden from you"
    ),
    "search_cursor_invalid": "invalid cursor",
    "search_cursor_needs_catalog": "cursor pages through one catalog: give catalog too",
    "search_limit_integer": "limit must be an integer",
    "search_limit_range": "limit must be 1..{max}",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "search_not_text": "поисковый запрос должен быть строкой",
    "search_too_long": "поисковый запрос длиннее {max} символов",
    "search_no_words": "в поисковом запросе нужно хотя бы одно слово из букв или цифр",
    "search_too_many_parts": "в поисковом запросе не больше {max} слов и фраз",
    "search_link_titles_hidden": (
        "по этому полю искать нельзя: названия некоторых связанных записей от вас скрыты"
    ),
    "search_cursor_invalid": "неверный курсор",
    "search_cursor_needs_catalog": "курсор листает один каталог: укажите и catalog",
    "search_limit_integer": "limit должен быть целым числом",
    "search_limit_range": "limit должен быть от 1 до {max}",
}
