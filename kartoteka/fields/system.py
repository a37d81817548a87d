"""Read-only types over a record's system columns: who and when created/updated it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import FieldType, FieldValueError
from .datetime import DateTimeType
from .user import UserType

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


class _SystemTime(DateTimeType):
    read_only = True
    editor = None
    cell = "when"
    inline_edit = False
    #: A calendar may show records by when they were made; Gantt bars and date
    #: triggers need a stored column.
    view_roles = frozenset({"date"})
    storage = "system"
    can_be_unique = False
    option_docs = {}

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        raise FieldValueError("read-only field", "read_only_field")


class _SystemUser(UserType):
    read_only = True
    editor = None
    cell = "people"
    view_roles = frozenset()
    storage = "system"
    can_be_unique = False
    option_docs = {}

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return FieldType.clean_options(self, options, previous)

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        raise FieldValueError("read-only field", "read_only_field")


class CreatedAtType(_SystemTime):
    """When the record was created."""

    type = "created_at"
    labels = {"en": "Created at", "ru": "Дата создания"}
    system_column = "created_at"


class UpdatedAtType(_SystemTime):
    """When the record was last changed."""

    type = "updated_at"
    labels = {"en": "Updated at", "ru": "Дата изменения"}
    system_column = "updated_at"


class CreatedByType(_SystemUser):
    """Who created the record."""

    type = "created_by"
    labels = {"en": "Created by", "ru": "Автор"}
    system_column = "created_by"


class UpdatedByType(_SystemUser):
    """Who changed the record last."""

    type = "updated_by"
    labels = {"en": "Updated by", "ru": "Изменил"}
    system_column = "updated_by"
