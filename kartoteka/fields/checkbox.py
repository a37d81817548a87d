"""`checkbox`: true or false."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from .base import ExportType, FieldType, FieldValueError, LinkRef, as_list

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


BOOLEAN_EXPORT = ExportType("boolean")

_TRUE = {"true", "1", "yes", "y", "да", "on", "x", "+"}
_FALSE = {"false", "0", "no", "n", "нет", "off", "-", ""}


class CheckboxType(FieldType):
    """A yes/no flag. Unset reads as false."""

    type = "checkbox"
    editor = "checkbox"
    cell = "check"
    inline_edit = True
    view_roles = frozenset({"group"})
    labels = {"en": "Checkbox", "ru": "Флажок"}
    operators = frozenset({"eq", "ne", "empty", "in", "nin"})
    can_be_unique = False
    can_be_title = False

    def board_columns(self, field: Field, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"key": "true", "label": None, "color": "green"}]

    def export_text(self, value: Any, field: Field) -> str:
        return "true" if value else "false"

    def export_type(self, field: Field) -> ExportType:
        return BOOLEAN_EXPORT

    def typed_value(self, value: Any, field: Field) -> Any:
        return bool(value)

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return {"type": "boolean"}

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.Boolean()

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise FieldValueError("expected true or false", "checkbox")

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        return bool(raw)

    def reader(self, field: Field, actor: Actor | None) -> Callable[[Any], Any]:
        return bool

    def is_empty(self, raw: Any) -> bool:
        return not raw

    def _empty_clause(self, col: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        if not isinstance(value, bool):
            raise FieldValueError("empty takes true or false", "operand_empty")
        unset = sa.or_(col.is_(None), col == sa.false())
        return unset if value else sa.not_(unset)

    def filter_clause(
        self, col: ColumnElement[Any], op: str, value: Any, field: Field, actor: Actor
    ) -> ColumnElement[bool]:
        if op in ("eq", "ne"):
            flag = self.to_db(value, field, actor)
            is_true = col == sa.true()
            clause = is_true if flag else sa.or_(col.is_(None), col == sa.false())
            return clause if op == "eq" else sa.not_(clause)
        if op in ("in", "nin"):
            # Unset reads as false, so `in [false]` must match NULL too: compile as eq/ne.
            flags = {self.to_db(v, field, actor) for v in as_list(value)}
            if not flags:
                return sa.false() if op == "in" else sa.true()
            if len(flags) == 2:
                return sa.true() if op == "in" else sa.false()
            return self.filter_clause(col, "eq" if op == "in" else "ne", flags.pop(), field, actor)
        return super().filter_clause(col, op, value, field, actor)
