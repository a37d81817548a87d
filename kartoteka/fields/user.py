"""`user`: one (or, with `multiple`, several) workspace users."""

from __future__ import annotations

from typing import ClassVar

import sqlalchemy as sa

from .base import (
    MAX_SMALL_ID,
    FieldType,
    FieldValueError,
    as_int_id,
    clean_flag,
    decode_multi,
    encode_multi,
    multi_filter_clause,
)


class UserType(FieldType):
    """A reference to users; written as ids, read as `{id, name}`. Filters accept `"me"`."""

    type = "user"
    editor: ClassVar[str | None] = "user"
    cell = "people"
    labels = {"en": "User", "ru": "Пользователь"}
    operators = frozenset({"eq", "ne", "in", "nin", "empty"})
    option_docs = {"multiple": "allow several users"}
    can_be_title = False
    #: The records service checks that written ids are existing users.
    references = "users"

    def value_schema(self, field, link_ref):
        user = {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}},
            "required": ["id"],
        }
        if field.options.get("multiple"):
            return {"type": "array", "items": user}
        return {"oneOf": [user, {"type": "null"}]}

    def write_schema(self, field, link_ref):
        one = {"oneOf": [{"type": "integer"}, {"const": "me"}], "description": "a user id or me"}
        if field.options.get("multiple"):
            return {"type": ["array", "null"], "items": one}
        return {"oneOf": [*one["oneOf"], {"type": "null"}], "description": one["description"]}

    def sa_type(self, options):
        return sa.Text() if options.get("multiple") else sa.Integer()

    def clean_options(self, options, previous=None):
        options = super().clean_options(options, previous)
        options["multiple"] = clean_flag(options, "multiple", False)
        return options

    def _one(self, value, actor) -> int:
        if isinstance(value, dict):
            value = value.get("id")
        if value == "me":
            if actor is None or actor.user_id is None:
                raise FieldValueError('"me" needs a signed-in user')
            return actor.user_id
        return as_int_id(value, "user id", MAX_SMALL_ID)

    def to_db(self, value, field, actor):
        if value is None or value == "" or value == []:
            return None
        if field.options.get("multiple"):
            items = value if isinstance(value, list) else [value]
            if len(items) > 1000:
                raise FieldValueError("too many users")
            ids: list[int] = []
            for item in items:
                uid = self._one(item, actor)
                if uid not in ids:
                    ids.append(uid)
            return encode_multi(ids)
        if isinstance(value, list):
            if len(value) != 1:
                raise FieldValueError("only one user allowed", "one_user")
            value = value[0]
        return self._one(value, actor)

    def referenced_ids(self, raw) -> list[int]:
        """The user ids a stored value refers to."""
        if raw is None:
            return []
        return decode_multi(raw) if isinstance(raw, str) else [int(raw)]

    def from_db(self, raw, field, actor):
        # Names are filled in by the records service, which looks users up in bulk.
        ids = self.referenced_ids(raw)
        if field.options.get("multiple"):
            return [{"id": i, "name": None} for i in ids]
        return {"id": ids[0], "name": None} if ids else None

    def to_text(self, value, field):
        if not value:
            return ""
        items = value if isinstance(value, list) else [value]
        return ", ".join(str(v.get("name") or v["id"]) for v in items)

    def from_text(self, text, field, actor):
        # Exports write ids (or names, which only the importer can look up); split lists.
        text = text.strip()
        if not text:
            return None
        if field.options.get("multiple"):
            return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
        return text

    def filter_value(self, value, field, actor):
        return self._one(value, actor)

    def filter_clause(self, col, op, value, field, actor):
        if op == "empty" or not field.options.get("multiple"):
            return super().filter_clause(col, op, value, field, actor)
        return multi_filter_clause(col, op, value, lambda v: self._one(v, actor))
