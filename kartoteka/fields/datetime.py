"""`datetime`: a moment in time, stored in UTC, read as ISO 8601 with `Z`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from .base import ExportType, FieldType, FieldValueError, LinkRef, nullable
from .relative import parse_relative

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


DATETIME_EXPORT = ExportType("datetime")


def parse_datetime(value: Any, actor: Actor | None) -> datetime | None:
    """Naive UTC datetime from ISO 8601; times without offset are in the workspace zone."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise FieldValueError("expected an ISO 8601 date-time", "datetime") from None
    else:
        raise FieldValueError("expected an ISO 8601 date-time", "datetime")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=actor.timezone if actor else UTC)
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise FieldValueError("date-time out of range", "datetime_range") from None


def render_datetime(raw: Any) -> str | None:
    """ISO 8601 UTC text of a stored naive-UTC value."""
    if raw is None:
        return None
    if type(raw) is str and raw[10:11] == " " and (len(raw) == 19 or raw[19:20] == "."):
        # SQLite's stored text (SQLAlchemy's `YYYY-MM-DD HH:MM:SS.ffffff`): the text the
        # parse and `isoformat` below give, cut out at a quarter of their cost (a page of
        # 100 records has hundreds of moments, issue 16).
        return f"{raw[:10]}T{raw[11:19]}Z"
    if isinstance(raw, str):
        raw = datetime.fromisoformat(raw)
    if raw.tzinfo is not None:
        raw = raw.replace(tzinfo=None)
    text: str = raw.isoformat(timespec="seconds")
    return text + "Z"


class DateTimeType(FieldType):
    """Date and time."""

    type = "datetime"
    editor: ClassVar[str | None] = "datetime"
    cell = "when"
    inline_edit = True
    value_kind = "datetime"
    view_roles: ClassVar[frozenset[str]] = frozenset({"date", "span"})
    labels = {"en": "Date and time", "ru": "Дата и время"}

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": "string", "format": "date-time"})

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.DateTime()

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        moment = parse_datetime(value, actor)
        return moment.replace(microsecond=0) if moment else None

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        return render_datetime(raw)

    def reader(self, field: Field, actor: Actor | None) -> Callable[[Any], Any]:
        return render_datetime

    def export_type(self, field: Field) -> ExportType:
        return DATETIME_EXPORT

    def typed_value(self, value: Any, field: Field) -> Any:
        return datetime.fromisoformat(value)

    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        moment = parse_datetime(value, actor)
        return moment.replace(microsecond=0) if moment else None

    def _day_bounds(self, value: Any, actor: Actor) -> tuple[datetime, datetime] | None:
        """For a date-only or relative operand: the UTC span of that local day."""
        if not isinstance(value, str):
            return None
        day = None
        try:
            day = parse_relative(value, actor.today())
        except ValueError as exc:
            raise FieldValueError(str(exc), "date_range") from None
        if day is None and len(value.strip()) == 10:
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                raise FieldValueError("expected an ISO 8601 date-time", "datetime") from None
        if day is None:
            return None
        try:
            start = datetime.combine(day, time(), tzinfo=actor.timezone).astimezone(UTC)
            start = start.replace(tzinfo=None)
            return start, start + timedelta(days=1)
        except OverflowError:
            raise FieldValueError("date out of range", "date_range") from None

    def _between_end(
        self, value: Any, upper: bool, field: Field, actor: Actor
    ) -> tuple[datetime, bool] | None:
        """One end of `between` as (moment, strict), None when open; a day end covers the day."""
        if value is None:
            return None
        bounds = self._day_bounds(value, actor)
        if bounds is not None:
            return (bounds[1], True) if upper else (bounds[0], False)
        moment = self.filter_value(value, field, actor)
        return None if moment is None else (moment, False)

    def filter_clause(
        self, col: ColumnElement[Any], op: str, value: Any, field: Field, actor: Actor
    ) -> ColumnElement[bool]:
        if op in ("eq", "ne", "lt", "lte", "gt", "gte", "between"):
            return self._day_aware_clause(col, op, value, field, actor)
        return super().filter_clause(col, op, value, field, actor)

    def _day_aware_clause(
        self, col: ColumnElement[Any], op: str, value: Any, field: Field, actor: Actor
    ) -> ColumnElement[bool]:
        # A whole day ("today", "2026-11-25") compares as the span of that day.
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise FieldValueError("between takes [from, to]", "operand_between")
            low = self._between_end(value[0], False, field, actor)
            high = self._between_end(value[1], True, field, actor)
            parts = []
            if low is not None:
                parts.append(col >= low[0])
            if high is not None:
                parts.append(col < high[0] if high[1] else col <= high[0])
            return sa.and_(*parts) if parts else col.is_not(None)
        bounds = self._day_bounds(value, actor)
        if bounds is None:
            return super().filter_clause(col, op, value, field, actor)
        start, end = bounds
        clauses: dict[str, ColumnElement[bool]] = {
            "eq": sa.and_(col >= start, col < end),
            "ne": sa.or_(col.is_(None), col < start, col >= end),
            "lt": col < start,
            "lte": col < end,
            "gt": col >= end,
            "gte": col >= start,
        }
        return clauses[op]
