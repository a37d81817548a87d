"""`file`: uploaded files attached to a record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow

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
    from sqlalchemy.engine import Connection

    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


#: The kinds of file a field may restrict itself to: what the browser's file chooser
#: offers (`accept`), and the MIME types and extensions each stands for.
FILE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "image": ("image/*", ()),
    "audio": ("audio/*", ()),
    "video": ("video/*", ()),
    "document": (
        ".pdf,.doc,.docx,.odt,.rtf,.txt,.xls,.xlsx,.ods,.csv,.ppt,.pptx,.odp",
        ("application/pdf", "application/msword", "application/vnd.", "application/rtf",
         "text/"),
    ),
    "archive": (
        ".zip,.7z,.rar,.gz,.tar",
        ("application/zip", "application/x-7z", "application/x-rar", "application/gzip",
         "application/x-tar", "application/x-zip"),
    ),
}  # fmt: skip
MAX_SIZE_MB = 10_240


def file_kind(mime: str, name: str) -> str | None:
    """Which of FILE_KINDS a stored file is (by its MIME type, else its extension)."""
    mime = (mime or "").lower()
    for kind, (_accept, prefixes) in FILE_KINDS.items():
        if mime.startswith(kind + "/") or any(mime.startswith(p) for p in prefixes):
            return kind
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    for kind, (accept, _prefixes) in FILE_KINDS.items():
        if ext and ext in accept.split(","):
            return kind
    return None


def accept_of(field: Field) -> str:
    """The file chooser's `accept` for the field's kinds ("" when any file goes)."""
    return ",".join(FILE_KINDS[k][0] for k in field.options.get("kinds") or [] if k in FILE_KINDS)


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
    option_docs = {
        "multiple": "allow several files (default true)",
        "kinds": "accept only these kinds: image, audio, video, document, archive (default any)",
        "max_size_mb": "the largest file accepted, in megabytes (default: the server's limit)",
    }
    #: The records service checks the ids are files the actor may attach.
    references = "files"

    def before_delete(self, conn: Connection, field: Field) -> None:
        # With the field gone no history can put its files back: they are detached now
        # and the files garbage collection deletes them after its grace period.
        t = schema.files
        conn.execute(
            sa.update(t)
            .where(t.c.field_id == field.id, t.c.detached_at.is_(None))
            .values(detached_at=utcnow())
        )

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
        kinds = options.get("kinds")
        if kinds is None or kinds == []:
            options.pop("kinds", None)
        elif not isinstance(kinds, list) or not all(k in FILE_KINDS for k in kinds):
            allowed = ", ".join(FILE_KINDS)
            raise FieldValueError(
                f"kinds must be a list of: {allowed}", "file_kinds_option", allowed=allowed
            )
        else:
            options["kinds"] = [k for k in FILE_KINDS if k in kinds]
        size = options.get("max_size_mb")
        if size is None:
            options.pop("max_size_mb", None)
        elif isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE_MB:
            raise FieldValueError(
                f"max_size_mb must be a whole number from 1 to {MAX_SIZE_MB}",
                "max_size_option",
                max=MAX_SIZE_MB,
            )
        return options

    def ui_options(self, field: Field) -> dict[str, Any]:
        return {"accept": accept_of(field), "max_size_mb": field.options.get("max_size_mb")}

    def refuses_file(
        self, field: Field, name: str, mime: str, size: int
    ) -> tuple[str, dict[str, Any]] | None:
        kinds = field.options.get("kinds")
        if kinds and file_kind(mime, name) not in kinds:
            return "file_kind", {"name": name, "kinds": ", ".join(kinds)}
        limit = field.options.get("max_size_mb")
        if limit and size > limit * 1024 * 1024:
            return "file_too_big", {"name": name, "max": limit}
        return None

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
