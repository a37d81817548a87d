"""`long_text`: multi-line text."""

from __future__ import annotations

from typing import Any

from .base import TEXT_OPS, FieldType, nullable
from .text import clean_string

MAX_LONG_TEXT = 1_000_000


class LongTextType(FieldType):
    """Multi-line text (descriptions, notes)."""

    type = "long_text"
    editor = "long_text"
    cell = "text"
    inline_edit = True
    on_cards = False
    labels = {"en": "Long text", "ru": "Многострочный текст"}
    operators = TEXT_OPS
    searchable = True
    can_be_unique = False
    can_be_indexed = False

    def value_schema(self, field, link_ref):
        return nullable({"type": "string"})

    def to_db(self, value: Any, field, actor):
        return clean_string(value, MAX_LONG_TEXT)

    def search_text(self, raw, field):
        """The stored string itself (no rendering needed)."""
        return str(raw)
