"""`file`: uploaded files attached to a record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .base import (
    MAX_SMALL_ID,
    FieldType,
    FieldValueError,
    LinkRef,
    as_int_id,
    clean_flag,
    decode_multi,
    encode_multi,
)

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


class FileType(FieldType):
    """Files from `POST /api/v1/files`; written as a list of file ids."""

    type = "file"
    editor = "file"
    cell = "files"
    listed = True
    hop_filter = False
    on_cards = False
    labels = {"en": "File", "ru": "Файл"}
    operators = frozenset({"empty"})
    can_be_unique = False
    can_be_indexed = False
    can_be_title = False
    sortable = False
    option_docs = {"multiple": "allow several files (default true)"}
    #: The records service checks the ids are files the actor may attach.
    references = "files"

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        stored = {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "size": {"type": "integer"},
                "mime": {"type": "string"},
                "url": {"type": "string"},
            },
            "required": ["id"],
        }
        return {"type": "array", "items": stored}

    def write_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        ids = {"type": "array", "items": {"type": "integer"}}
        return {"oneOf": [ids, {"type": "integer"}, {"type": "null"}], "description": "file ids"}

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.Text()

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        options["multiple"] = clean_flag(options, "multiple", True)
        return options

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        if value is None or value == "" or value == []:
            return None
        items = value if isinstance(value, list) else [value]
        if len(items) > 100:
            raise FieldValueError("at most 100 files", "too_many_files", max=100)
        ids: list[int] = []
        for item in items:
            if isinstance(item, dict):
                item = item.get("id")
            fid = as_int_id(item, "file id", MAX_SMALL_ID)
            if fid not in ids:
                ids.append(fid)
        if len(ids) > 1 and not field.options.get("multiple", True):
            raise FieldValueError("only one file allowed", "one_file")
        return encode_multi(ids)

    def referenced_ids(self, raw: Any) -> list[int]:
        """File ids in a stored value."""
        return decode_multi(raw)

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        # The records service replaces these stubs with file metadata, in bulk.
        return [{"id": i} for i in decode_multi(raw)]

    def to_text(self, value: Any, field: Field) -> str:
        return ", ".join(str(v.get("name") or v["id"]) for v in value or [])

    def from_text(self, text: str, field: Field, actor: Actor) -> Any:
        raise FieldValueError("files cannot be imported from text", "files_from_text")
