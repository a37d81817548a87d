"""`email`: an e-mail address."""

from __future__ import annotations

import re

from .base import TEXT_OPS, FieldType, FieldValueError, nullable
from .text import clean_string

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

    def mask(self, text):
        """`a***@example.com`: the first letter and the domain stay."""
        if "@" not in text:
            return super().mask(text)
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"

    def value_schema(self, field, link_ref):
        return nullable({"type": "string", "format": "email"})

    def to_db(self, value, field, actor):
        text = clean_string(value, 320)
        if text is None:
            return None
        if not _EMAIL.match(text):
            raise FieldValueError("not a valid e-mail address", "email")
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"

    def filter_value(self, value, field, actor):
        # Compare with what is stored: a valid address is normalised the way to_db does it.
        text = clean_string(value, 320)
        try:
            return self.to_db(text, field, actor)
        except FieldValueError:
            return text

    def search_text(self, raw, field):
        """The stored string itself (no rendering needed)."""
        return str(raw)
