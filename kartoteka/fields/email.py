"""`email`: an e-mail address."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .base import TEXT_OPS, FieldType, FieldValueError, LinkRef, nullable
from .text import clean_string

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\".]{2,}$")


class EmailType(FieldType):
    """An e-mail address, stored lower-cased in its domain part."""

    type = "email"
    editor = "email"
    cell = "text"
    inline_edit = True
    names_records = True
    preferred_title = True
    labels = {"en": "E-mail", "ru": "E-mail"}
    operators = TEXT_OPS
    searchable = True

    def mask(self, text: str) -> str:
        """`a***@example.com`: the first letter and the domain stay."""
        if "@" not in text:
            return super().mask(text)
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": "string", "format": "email"})

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        text = clean_string(value, 320)
        if text is None:
            return None
        if not _EMAIL.match(text):
            raise FieldValueError("not a valid e-mail address", "email")
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"

    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        # Compare with what is stored: a valid address is normalised the way to_db does it.
        text = clean_string(value, 320)
        try:
            return self.to_db(text, field, actor)
        except FieldValueError:
            return text

    def search_text(self, raw: Any, field: Field) -> str:
        """The stored string itself (no rendering needed)."""
        return str(raw)
