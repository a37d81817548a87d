"""`long_text`: multi-line text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import TEXT_OPS, FieldType, LinkRef, nullable
from .text import clean_string

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


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

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": "string"})

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        return clean_string(value, MAX_LONG_TEXT)

    def search_text(self, raw: Any, field: Field) -> str:
        """The stored string itself (no rendering needed)."""
        return str(raw)
