"""JSON Schemas of request bodies, for the OpenAPI document (bodies are parsed by services)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from kartoteka.fields import all_types

#: Numeric ids in paths. The bounds keep them within the column types (INTEGER for
#: platform tables, BIGINT for records), so a huge number is a 422 instead of a
#: database overflow (a 500) on SQLite and PostgreSQL.
MAX_ID = 2**31 - 1
MAX_RECORD_ID = 2**62
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="numeric id")]
RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="record id")]
#: The files service itself answers 404 for ids beyond its INTEGER column.
FileId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="file id")]


def fill_field_types() -> None:
    """Put the registered field type names into the documented field body."""
    FIELD_TYPE_NAMES[:] = sorted(all_types())


def body_doc(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    """`openapi_extra` that documents a JSON request body."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


FILTER = {
    "type": "object",
    "description": (
        'F := {"and": [F...]} | {"or": [F...]} | {"not": F} | {"search": "<words>"} '
        '| {"<field>": {"<op>": value}}; '
        "ops: eq ne lt lte gt gte in nin contains icontains startswith istartswith "
        "iendswith ieq between empty search (full-text: words in any form, "
        '"phrases", prefix*); '
        "relative dates: today, -7d, +2w, +1m, -1y; one hop: client.stage"
    ),
}

#: The registered field type names, filled in by `fill_field_types` when the OpenAPI
#: document is built (the types are registered by `plugins.install`, after import).
FIELD_TYPE_NAMES: list[str] = []

FIELD_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "api_name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"},
        "type": {"type": "string", "enum": FIELD_TYPE_NAMES},
        "required": {"type": "boolean"},
        "unique": {"type": "boolean"},
        "indexed": {"type": "boolean"},
        "options": {
            "type": "object",
            "description": "the type's own options (docs/api.md, Field types), plus `help` "
            "(a hint for the people who fill the field in, at most 500 characters) and "
            "`default` (the value a new record gets when its write names none), which every "
            "type takes; null removes an option",
        },
        "position": {"type": "integer"},
    },
}

CATALOG_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "api_name": {"type": "string"},
        "title_field": {"type": "string"},
        "fields": {"type": "array", "items": FIELD_BODY},
        "options": {"type": "object"},
    },
}

VERSION: dict[str, Any] = {
    "type": "integer",
    "minimum": 1,
    "description": "the record's version as read; a changed record answers 412 PRECONDITION_FAILED",
}

RECORD_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["values"],
    "properties": {
        "values": {"type": "object", "description": "values keyed by field api_name"},
        "version": VERSION,
    },
}

BATCH_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "create": {"type": "array", "items": RECORD_BODY},
        "update": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "values"],
                "properties": {
                    "id": {"type": "integer"},
                    "values": {"type": "object"},
                    "version": VERSION,
                },
            },
        },
        "delete": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "integer"},
                    {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "integer"}, "version": VERSION},
                    },
                ]
            },
        },
        "upsert": {
            "type": "object",
            "required": ["key", "items"],
            "properties": {
                "key": {
                    "oneOf": [
                        {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        {"type": "string", "description": "one api_name (the first shape)"},
                    ],
                    "description": "api_names: one unique field, or several stored fields",
                },
                "items": {"type": "array", "items": RECORD_BODY},
            },
        },
    },
    "description": "at most 1000 records in total; all or nothing",
}

QUERY_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "filter": FILTER,
        "sort": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        "cursor": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "string"}},
        "view": {"type": "integer"},
        "count": {"type": "boolean"},
        "search": {"type": "string", "description": "full-text search (docs/search.md)"},
    },
}

VIEW_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "type": {"type": "string", "enum": ["table", "kanban", "calendar", "gantt", "gallery"]},
        "filter": FILTER,
        "sort": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "string"}},
        "options": {
            "type": "object",
            "description": "kanban: group_field; calendar: date_field; "
            "gantt: start_field, end_field",
        },
    },
}

LOGIN_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["email", "password"],
    "properties": {
        "email": {"type": "string"},
        "password": {"type": "string"},
        "totp": {"type": "string"},
    },
}

TOKEN_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "expires_at": {"type": "string"},
        "scopes": {"type": "object"},
    },
}

USER_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {"type": "string"},
        "name": {"type": "string"},
        "password": {"type": "string"},
        "groups": {"type": "array", "items": {"type": "integer"}},
        "profile": {"type": "object"},
        "active": {"type": "boolean"},
        "is_admin": {"type": "boolean"},
    },
}

GROUP_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}},
}
