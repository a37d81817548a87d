"""`text`: a single line of text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .base import TEXT_OPS, FieldType, FieldValueError, LinkRef, nullable

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


DEFAULT_MAX = 10_000


def clean_string(value: Any, max_length: int) -> str | None:
    """A stripped string or None; numbers are accepted as their text."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldValueError("expected a string", "string")
    text = str(value)
    if "\x00" in text:
        raise FieldValueError("text must not contain NUL characters", "nul")
    text = text.strip()
    if len(text) > max_length:
        raise FieldValueError(f"at most {max_length} characters", "max_length", max=max_length)
    return text or None


class TextType(FieldType):
    """One line of text."""

    type = "text"
    editor = "text"
    cell = "text"
    inline_edit = True
    names_records = True
    preferred_title = True
    labels = {"en": "Text", "ru": "Текст"}
    operators = TEXT_OPS | {"between"}
    searchable = True
    option_docs = {"max_length": "maximum number of characters (default 10000)"}

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": "string"})

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.Text()

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        if "max_length" in options:
            value = options["max_length"]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
                raise FieldValueError(
                    "max_length must be an integer from 1 to 100000",
                    "max_length_option",
                    max=100000,
                )
        return options

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        text = clean_string(value, int(field.options.get("max_length") or DEFAULT_MAX))
        if text is not None and "\n" in text:
            text = " ".join(text.split())
        return text

    def search_text(self, raw: Any, field: Field) -> str:
        """The stored string itself (no rendering needed)."""
        return str(raw)
