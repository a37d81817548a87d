"""Real response shapes in the generic OpenAPI document (`/api/v1/openapi.json`).

Endpoints return plain dicts handed straight to orjson (decision 0004), so FastAPI
cannot see what they answer: it documented every 200 as a string and every error as
its own `HTTPValidationError`. `decorate` puts the truth in after generation, in one
place: the schemas of records, pages, catalogs, fields and batch results on the main
endpoints, Kartoteka's error shape on every error answer, and `429` with
`Retry-After` and the `X-RateLimit-*` headers on every operation.
"""

from __future__ import annotations

from typing import Any

from . import openapi_schemas

REF = "#/components/schemas/"
_NULLABLE_STAMP = {"type": ["string", "null"], "format": "date-time"}
_USER = {"oneOf": [{"$ref": REF + "UserRef"}, {"type": "null"}]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "Every error answer. `error` is a stable code (docs/api.md lists them).",
        "properties": {
            "error": {"type": "string", "examples": ["VALIDATION", "NOT_FOUND"]},
            "message": {"type": "string"},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "VALIDATION: the problem with each field or parameter",
            },
            "index": {"type": "integer", "description": "batch: the item that failed"},
            "where": {"type": "string"},
            "field": {"type": "string"},
            "report": {"type": "object"},
            "errors": {
                "type": "array",
                "description": "each problem as a message code with its parameters; `message` "
                "is in the language of Accept-Language (docs/api.md, Errors)",
                "items": {
                    "type": "object",
                    "properties": {
                        "where": {"type": ["string", "null"]},
                        "index": {"type": ["integer", "null"]},
                        "field": {"type": ["string", "null"]},
                        "code": {"type": "string", "examples": ["required", "unknown_key"]},
                        "params": {"type": "object"},
                        "message": {"type": "string"},
                    },
                    "required": ["code", "params", "message"],
                },
            },
        },
        "required": ["error", "message"],
    },
    "UserRef": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}},
        "required": ["id"],
    },
    "Record": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "catalog": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "api_name": {"type": "string"}},
                "required": ["id", "api_name"],
            },
            "title": {"type": ["string", "null"]},
            "values": {
                "type": "object",
                "description": "field api_name -> value; /api/v1/openapi/catalogs.json types "
                "them per catalog",
            },
            "created_at": _NULLABLE_STAMP,
            "updated_at": _NULLABLE_STAMP,
            "created_by": _USER,
            "updated_by": _USER,
        },
        "required": ["id", "catalog", "values"],
    },
    "RecordPage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": REF + "Record"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "pass back as `cursor` for the next page; null on the last",
            },
            "count": {"type": "integer", "description": "with count=true: all matches"},
        },
        "required": ["items", "next_cursor"],
    },
    "BatchResult": {
        "type": "object",
        "properties": {
            key: {"type": "array", "items": {"type": "integer"}}
            for key in ("created", "updated", "deleted", "upserted", "unchanged")
        },
        "required": ["created", "updated", "deleted"],
    },
    "Field": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "api_name": {"type": "string"},
            "type": {"type": "string"},
            "required": {"type": "boolean"},
            "unique": {"type": "boolean"},
            "indexed": {"type": "boolean"},
            "read_only": {"type": "boolean"},
            "options": {"type": "object"},
        },
        "required": ["id", "name", "api_name", "type"],
    },
    "Catalog": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "api_name": {"type": "string"},
            "title_field": {"type": ["string", "null"]},
            "options": {"type": "object"},
            "fields": {"type": "array", "items": {"$ref": REF + "Field"}},
            "system": {"type": "boolean"},
        },
        "required": ["id", "name", "api_name", "fields"],
    },
    "CatalogList": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": REF + "Catalog"}}},
        "required": ["items"],
    },
}

_LIMIT_HEADERS = {
    "X-RateLimit-Limit": ("integer", "requests allowed in the current window"),
    "X-RateLimit-Remaining": ("integer", "requests left in the current window"),
    "X-RateLimit-Reset": ("integer", "when the window starts over, Unix seconds"),
}
HEADERS: dict[str, Any] = {
    name: {"description": text, "schema": {"type": kind}}
    for name, (kind, text) in {
        **_LIMIT_HEADERS,
        "Retry-After": ("integer", "seconds to wait before trying again"),
        "X-Request-ID": ("string", "the request's id (sent by the client or made up)"),
    }.items()
}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": REF + "Error"}}}
RESPONSES: dict[str, Any] = {
    "Invalid": {
        "description": "VALIDATION: `fields` names each problem",
        "content": _ERROR_CONTENT,
    },
    "Unauthenticated": {"description": "no or wrong credentials", "content": _ERROR_CONTENT},
    "Forbidden": {"description": "not allowed", "content": _ERROR_CONTENT},
    "NotFound": {"description": "no such thing (or not visible to you)", "content": _ERROR_CONTENT},
    "TooManyRequests": {
        "description": "a request limit is used up; wait `Retry-After` seconds",
        "headers": {
            name: {"$ref": f"#/components/headers/{name}"}
            for name in ("Retry-After", *_LIMIT_HEADERS)
        },
        "content": _ERROR_CONTENT,
    },
}
#: (method, path under /api/v1) -> schema of the success answer.
SUCCESS: dict[tuple[str, str], str] = {
    ("get", "/catalogs"): "CatalogList",
    ("post", "/catalogs"): "Catalog",
    ("get", "/catalogs/{catalog}"): "Catalog",
    ("patch", "/catalogs/{catalog}"): "Catalog",
    ("post", "/catalogs/{catalog}/fields"): "Field",
    ("get", "/catalogs/{catalog}/fields/{field}"): "Field",
    ("patch", "/catalogs/{catalog}/fields/{field}"): "Field",
    ("get", "/catalogs/{catalog}/records"): "RecordPage",
    ("post", "/catalogs/{catalog}/records/query"): "RecordPage",
    ("post", "/catalogs/{catalog}/records"): "Record",
    ("get", "/catalogs/{catalog}/records/{record_id}"): "Record",
    ("patch", "/catalogs/{catalog}/records/{record_id}"): "Record",
    ("post", "/catalogs/{catalog}/records/batch"): "BatchResult",
}
PREFIX = "/api/v1"
_METHODS = ("get", "post", "put", "patch", "delete")


def _success(
    operation: dict[str, Any], schema: str | None, files: dict[str, Any] | None = None
) -> None:
    """Type the 2xx answer (`schema`, a file's media types, else a JSON object), with headers."""
    for status, answer in operation.get("responses", {}).items():
        if not status.startswith("2"):
            continue
        if files is not None:
            answer["content"] = files
        content = answer.get("content", {}).get("application/json")
        if content is not None:
            if schema is not None:
                content["schema"] = {"$ref": REF + schema}
            elif content.get("schema") in ({"type": "string"}, {}):
                content["schema"] = {"type": "object"}
        answer["headers"] = {
            name: {"$ref": f"#/components/headers/{name}"}
            for name in ("X-Request-ID", *_LIMIT_HEADERS)
        }


def _errors(operation: dict[str, Any], path: str, public: bool) -> None:
    responses = operation.setdefault("responses", {})
    responses["422"] = {"$ref": "#/components/responses/Invalid"}
    responses["429"] = {"$ref": "#/components/responses/TooManyRequests"}
    if not public:
        responses.setdefault("401", {"$ref": "#/components/responses/Unauthenticated"})
        responses.setdefault("403", {"$ref": "#/components/responses/Forbidden"})
    if "{" in path:
        responses.setdefault("404", {"$ref": "#/components/responses/NotFound"})


def decorate(doc: dict[str, Any]) -> dict[str, Any]:
    """Put the real answers into a generated document (in place; returned for chaining)."""
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(SCHEMAS)
    components["schemas"].update(openapi_schemas.SCHEMAS)
    components.setdefault("headers", {}).update(HEADERS)
    components.setdefault("responses", {}).update(RESPONSES)
    for path, item in doc.get("paths", {}).items():
        local = path[len(PREFIX) :] if path.startswith(PREFIX) else path
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            known = SUCCESS.get((method, local)) or openapi_schemas.SUCCESS.get((method, local))
            _success(operation, known, openapi_schemas.FILES.get((method, local)))
            _errors(operation, path, public=operation.get("security") == [])
    # FastAPI's own error shape is never answered; nothing refers to it any more.
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    return doc
