"""The shared base of `select` and `user`: one id, or with `multiple` several ids stored as
`,1,3,` in one text column (so "contains 3" is an indexable LIKE on both dialects)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from .base import FieldType, FieldValueError, clean_flag, encode_multi, multi_filter_clause

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


MAX_ITEMS = 1000


class MultiIdType(FieldType):
    """A type whose value is one id, or a list of ids when the field is `multiple`."""

    operators = frozenset({"eq", "ne", "in", "nin", "empty"})
    #: What one id names, for messages ("too many choices", "only one user allowed").
    item_noun: ClassVar[str] = "item"

    def one_id(self, value: Any, field: Any, actor: Any) -> int:
        """Resolve one written item (an id, a label, "me"...) to its id."""
        raise NotImplementedError

    def one_or_many(self, one: dict[str, Any], field: Any) -> dict[str, Any]:
        """The schema of a value: a list of `one` when multiple, else `one` or null."""
        if field.options.get("multiple"):
            return {"type": "array", "items": one}
        return {"oneOf": [one, {"type": "null"}]}

    def one_or_many_written(self, one: dict[str, Any], field: Any) -> dict[str, Any]:
        """The schema of a write: a list of `one` (or null) when multiple, else one or null."""
        if field.options.get("multiple"):
            return {"type": ["array", "null"], "items": one}
        return {"oneOf": [*one["oneOf"], {"type": "null"}], "description": one["description"]}

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.Text() if options.get("multiple") else sa.Integer()

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        options["multiple"] = clean_flag(options, "multiple", False)
        return options

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        if value is None or value == "" or value == []:
            return None
        if field.options.get("multiple"):
            items = value if isinstance(value, list) else [value]
            if len(items) > MAX_ITEMS:
                raise FieldValueError(
                    f"too many {self.item_noun}s", f"too_many_{self.item_noun}s", max=MAX_ITEMS
                )
            ids: list[int] = []
            for item in items:
                one = self.one_id(item, field, actor)
                if one not in ids:
                    ids.append(one)
            return encode_multi(ids)
        if isinstance(value, list):
            if len(value) != 1:
                raise FieldValueError(f"only one {self.item_noun} allowed", f"one_{self.item_noun}")
            value = value[0]
        return self.one_id(value, field, actor)

    def from_text(self, text: str, field: Field, actor: Actor) -> Any:
        text = text.strip()
        if not text:
            return None
        if field.options.get("multiple"):
            return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
        return text

    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        return self.one_id(value, field, actor)

    def filter_clause(
        self, col: ColumnElement[Any], op: str, value: Any, field: Field, actor: Actor
    ) -> ColumnElement[bool]:
        if op == "empty" or not field.options.get("multiple"):
            return super().filter_clause(col, op, value, field, actor)
        return multi_filter_clause(col, op, value, lambda v: self.one_id(v, field, actor))
