"""`date`: a calendar date `YYYY-MM-DD`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .base import ExportType, FieldType, FieldValueError, LinkRef, nullable
from .relative import parse_relative

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


DATE_EXPORT = ExportType("date")
_TEXT_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%y")


def parse_date(value: Any, today: date | None = None) -> date | None:
    """A date from ISO text (or, when `today` is given, a relative expression)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise FieldValueError("expected a date YYYY-MM-DD", "date")
    text = value.strip()
    if today is not None:
        try:
            relative = parse_relative(text, today)
        except ValueError as exc:
            raise FieldValueError(str(exc), "date_range") from None
        if relative is not None:
            return relative
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldValueError("expected a date YYYY-MM-DD", "date") from None


def render_date(raw: Any) -> str | None:
    """ISO 8601 text of a stored date."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw[:10]
    text: str = raw.isoformat()
    return text


class DateType(FieldType):
    """A date without time."""

    type = "date"
    editor = "date"
    cell = "text"
    inline_edit = True
    value_kind = "date"
    view_roles = frozenset({"date", "span"})
    labels = {"en": "Date", "ru": "Дата"}

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": "string", "format": "date"})

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.Date()

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        return parse_date(value)

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        return render_date(raw)

    def reader(self, field: Field, actor: Actor | None) -> Callable[[Any], Any]:
        return render_date

    def export_type(self, field: Field) -> ExportType:
        return DATE_EXPORT

    def typed_value(self, value: Any, field: Field) -> Any:
        return date.fromisoformat(value)

    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        return parse_date(value, actor.today())

    def from_text(self, text: str, field: Field, actor: Actor) -> Any:
        text = text.strip()
        if not text:
            return None
        for fmt in _TEXT_FORMATS:
            try:
                return datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        return text
