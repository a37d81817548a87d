"""`url`: a web address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .base import TEXT_OPS, FieldType, FieldValueError, LinkRef, nullable
from .text import clean_string

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


class UrlType(FieldType):
    """An http(s) address; a bare domain gets https:// in front."""

    type = "url"
    editor = "url"
    cell = "text"
    inline_edit = True
    names_records = True
    labels = {"en": "URL", "ru": "Ссылка (URL)"}
    operators = TEXT_OPS
    searchable = True

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": "string", "format": "uri"})

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        text = clean_string(value, 2048)
        if text is None:
            return None
        if " " in text:
            raise FieldValueError("a URL must not contain spaces", "url_spaces")
        if "://" not in text:
            text = "https://" + text
        try:
            parts = urlsplit(text)
            hostname = parts.hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            raise FieldValueError("not a valid http(s) URL", "url") from None
        if parts.scheme.lower() not in ("http", "https") or not hostname:
            raise FieldValueError("not a valid http(s) URL", "url")
        if "." not in hostname and hostname != "localhost":
            raise FieldValueError("not a valid http(s) URL", "url")
        return text

    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        return clean_string(value, 2048)

    def search_text(self, raw: Any, field: Field) -> str:
        """The stored string itself (no rendering needed)."""
        return str(raw)
