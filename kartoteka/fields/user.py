"""`user`: one (or, with `multiple`, several) workspace users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from .base import (
    MAX_SMALL_ID,
    FieldValueError,
    LinkRef,
    as_int_id,
    decode_multi,
)
from .multi import MultiIdType

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


class UserType(MultiIdType):
    """A reference to users; written as ids, read as `{id, name}`. Filters accept `"me"`."""

    type = "user"
    editor: ClassVar[str | None] = "user"
    cell = "people"
    view_roles: ClassVar[frozenset[str]] = frozenset({"group"})
    labels = {"en": "User", "ru": "Пользователь"}
    item_noun = "user"
    option_docs = {"multiple": "allow several users"}
    can_be_title = False
    #: The records service checks that written ids are existing users.
    references = "users"

    def board_columns(self, field: Field, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "key": str(u["id"]),
                "label": u.get("name") or u.get("email") or f"#{u['id']}",
                "color": None,
            }
            for u in people
        ]

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        user = {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}},
            "required": ["id"],
        }
        return self.one_or_many(user, field)

    def write_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        one = {"oneOf": [{"type": "integer"}, {"const": "me"}], "description": "a user id or me"}
        return self.one_or_many_written(one, field)

    def one_id(self, value: Any, field: Any, actor: Any) -> int:
        if isinstance(value, dict):
            value = value.get("id")
        if value == "me":
            if actor is None or actor.user_id is None:
                raise FieldValueError('"me" needs a signed-in user', "me_needs_user")
            me: int = actor.user_id
            return me
        return as_int_id(value, "user id", MAX_SMALL_ID)

    def referenced_ids(self, raw: Any) -> list[int]:
        """The user ids a stored value refers to."""
        if raw is None:
            return []
        return decode_multi(raw) if isinstance(raw, str) else [int(raw)]

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        # Names are filled in by the records service, which looks users up in bulk.
        ids = self.referenced_ids(raw)
        if field.options.get("multiple"):
            return [{"id": i, "name": None} for i in ids]
        return {"id": ids[0], "name": None} if ids else None

    def to_text(self, value: Any, field: Field) -> str:
        if not value:
            return ""
        items = value if isinstance(value, list) else [value]
        return ", ".join(str(v.get("name") or v["id"]) for v in items)

    def from_text(self, text: str, field: Field, actor: Actor) -> Any:
        """A cell names users by id or by e-mail address (several, comma-separated)."""
        parsed = super().from_text(text, field, actor)
        if parsed is None or actor is None:
            return parsed
        items = parsed if isinstance(parsed, list) else [parsed]
        found = _ids_by_email(actor, {i.lower() for i in items if "@" in i})
        out = []
        for item in items:
            if "@" not in item:
                out.append(item)
            elif item.lower() in found:
                out.append(found[item.lower()])
            else:
                raise FieldValueError(f"user {item} not found", "user_not_found", id=item)
        return out if isinstance(parsed, list) else out[0]


def _ids_by_email(actor: Actor, emails: set[str]) -> dict[str, int]:
    """User ids by (lower-case) e-mail address; addresses are stored lower-cased."""
    if not emails:
        return {}
    users = schema.users
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(sa.select(users.c.email, users.c.id).where(users.c.email.in_(emails)))
        return {str(email).lower(): int(uid) for email, uid in rows}
