"""Messages of saved views (the view designer and the views API)."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "view_not_found": "view {ref!r} not found in {catalog!r}",
    "view_type": "must be one of: {allowed}",
    "view_fields": "must list api_names of this catalog",
    "view_field_unusable": "no such field, or not one this view can use",
    "view_option_required": "a {type} view needs this field",
    "view_field_type": "must be a field of type {types}",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "view_not_found": "представление «{ref}» не найдено в «{catalog}»",
    "view_type": "допустимо: {allowed}",
    "view_fields": "должно быть списком api_name полей этого каталога",
    "view_field_unusable": "это поле здесь использовать нельзя",
    "view_option_required": "представлению «{type}» нужно это поле",
    "view_field_type": "нужно поле подходящего типа ({types})",
}
