"""The per-workspace OpenAPI document: each catalog the caller may see as its own schema.

`GET /api/v1/openapi/catalogs.json` describes the records of every catalog the caller
may see — one `Deals` record schema with `Deals.values.amount: string`, select labels as
enums, links as references to the target catalog's `...Link` schema — and its record
paths with operation ids (`list_deals`, `create_deals`...), so a client generated from
it has typed records. Field types say what their values look like
(`FieldType.value_schema` / `write_schema`); the caller's field rules drop hidden
fields, type masked ones as text and keep read-only ones out of writes.

Documents are cached per workspace, metadata version and caller (groups, scopes), for a
minute at most: a schema change makes a new version, so it is seen at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from typing import Any

from kartoteka import __version__
from kartoteka.access import service as access
from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor

CACHE_SECONDS = 60.0
CACHE_SIZE = 256
_REF = "#/components/schemas/"
ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. VALIDATION"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["error", "message"],
}
USER_REF = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}},
    "required": ["id"],
}
SHARED = {"Error": ERROR, "UserRef": USER_REF}
_ERRORS = {
    code: {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
    }
    for code, text in (
        ("401", "not signed in"),
        ("403", "not allowed"),
        ("404", "no such record (or not visible to you)"),
        ("422", "invalid values; `fields` names each problem"),
        ("429", "request limit reached; wait `Retry-After` seconds"),
    )
}

_cache: OrderedDict[tuple[Any, ...], tuple[float, dict[str, Any]]] = OrderedDict()
_lock = threading.Lock()


def schema_name(catalog: Catalog, taken: set[str]) -> str:
    """`deals` -> `Deals`, `kontakty_2` -> `Kontakty2`; unique within the document."""
    words = re.split(r"[^0-9A-Za-z]+", catalog.api_name)
    name = "".join(w[:1].upper() + w[1:] for w in words if w) or f"Catalog{catalog.id}"
    if name[0].isdigit():
        name = "C" + name
    while name in taken or name in SHARED or any(name + s in taken for s in _SUFFIXES):
        name = f"{name}{catalog.id}"
    return name


_SUFFIXES = ("Values", "Input", "Page", "Link")


def _link_schema(title: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"a link to a record of {title}",
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": ["string", "null"]},
            "restricted": {"type": "boolean", "description": "you may not see that record"},
        },
        "required": ["id"],
    }


class _Builder:
    """Builds one document for one caller."""

    def __init__(self, actor: Actor, visible: list[Catalog]) -> None:
        self.actor = actor
        self.visible = visible
        taken: set[str] = set()
        self.names: dict[int, str] = {}
        for catalog in visible:
            self.names[catalog.id] = name = schema_name(catalog, taken)
            taken.add(name)
        self.schemas: dict[str, Any] = dict(SHARED)
        self.paths: dict[str, Any] = {}

    def link_ref(self, catalog_id: int) -> dict[str, Any]:
        name = self.names.get(catalog_id)
        if name is None:  # a catalog the caller may not see: ids and "#id" titles only
            return _link_schema("a catalog you cannot see")
        return {"$ref": f"{_REF}{name}Link"}

    def add(self, catalog: Catalog) -> None:
        name = self.names[catalog.id]
        rules = access.field_rules(self.actor, catalog)
        read, write, required = {}, {}, []
        for f in catalog.fields:
            rule = rules.get(f.api_name)
            if rule == "hidden":
                continue
            read[f.api_name] = self._read(f, masked=rule == "masked")
            if not f.ftype.read_only and rule not in ("read_only", "masked"):
                write[f.api_name] = _described(f, f.ftype.write_schema(f, self.link_ref))
                if f.required:
                    required.append(f.api_name)
        self.schemas[f"{name}Values"] = {
            "type": "object",
            "properties": read,
            "additionalProperties": False,
        }
        self.schemas[name] = _record_schema(catalog, name)
        self.schemas[f"{name}Input"] = {
            "type": "object",
            "properties": {
                "values": {
                    "type": "object",
                    "properties": write,
                    "required": required,
                    "additionalProperties": False,
                }
            },
            "required": ["values"],
        }
        self.schemas[f"{name}Page"] = {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": _REF + name}},
                "next_cursor": {"type": ["string", "null"]},
                "count": {"type": "integer"},
            },
            "required": ["items", "next_cursor"],
        }
        self.schemas[f"{name}Link"] = _link_schema(catalog.name)
        self.paths.update(_paths(catalog, name))

    def _read(self, f: Field, masked: bool) -> dict[str, Any]:
        if masked:
            return {"type": ["string", "null"], "description": f"{f.name} (masked for you)"}
        return _described(f, f.ftype.value_schema(f, self.link_ref))

    def document(self, server: str) -> dict[str, Any]:
        for catalog in self.visible:
            self.add(catalog)
        ws = self.actor.workspace
        return {
            "openapi": "3.1.0",
            "info": {
                "title": f"Kartoteka workspace {ws.name}: catalogs",
                "version": f"{__version__}+meta.{ws.meta().version}",
                "description": "The records of each catalog you may see, typed by its fields. "
                "The generic document is /api/v1/openapi.json.",
            },
            "servers": [{"url": server}],
            "security": [{"bearer": []}, {"basic": []}],
            "tags": [{"name": c.api_name, "description": c.name} for c in self.visible],
            "paths": self.paths,
            "components": {
                "schemas": self.schemas,
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "basic": {"type": "http", "scheme": "basic"},
                },
            },
        }


def _described(f: Field, schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "title": f.name, "x-kartoteka-type": f.type}


def _record_schema(catalog: Catalog, name: str) -> dict[str, Any]:
    stamp = {"type": ["string", "null"], "format": "date-time"}
    user = {"oneOf": [{"$ref": _REF + "UserRef"}, {"type": "null"}]}
    return {
        "type": "object",
        "description": f"A record of {catalog.name}",
        "properties": {
            "id": {"type": "integer"},
            "catalog": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "api_name": {"type": "string"}},
            },
            "title": {"type": ["string", "null"]},
            "values": {"$ref": f"{_REF}{name}Values"},
            "created_at": stamp,
            "updated_at": stamp,
            "created_by": user,
            "updated_by": user,
        },
        "required": ["id", "values"],
    }


def _json(name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF + name}}},
    }


def _paths(catalog: Catalog, name: str) -> dict[str, Any]:
    api, tag = catalog.api_name, [catalog.api_name]
    op = re.sub(r"[^0-9a-zA-Z]+", "_", api)
    record_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    query = [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
        },
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "sort", "in": "query", "schema": {"type": "string"}},
        {"name": "filter", "in": "query", "schema": {"type": "string"}, "description": "JSON"},
        {"name": "fields", "in": "query", "schema": {"type": "string"}},
    ]
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"{_REF}{name}Input"}}},
    }
    base = f"/catalogs/{api}/records"
    return {
        base: {
            "get": {
                "operationId": f"list_{op}",
                "summary": f"List {catalog.name}",
                "tags": tag,
                "parameters": query,
                "responses": {"200": _json(f"{name}Page", "a page"), **_ERRORS},
            },
            "post": {
                "operationId": f"create_{op}",
                "summary": f"Create a record in {catalog.name}",
                "tags": tag,
                "requestBody": body,
                "responses": {"201": _json(name, "the new record"), **_ERRORS},
            },
        },
        base + "/{id}": {
            "get": {
                "operationId": f"get_{op}",
                "summary": f"Get a record of {catalog.name}",
                "tags": tag,
                "parameters": record_id,
                "responses": {"200": _json(name, "the record"), **_ERRORS},
            },
            "patch": {
                "operationId": f"update_{op}",
                "summary": f"Change a record of {catalog.name}",
                "tags": tag,
                "parameters": record_id,
                "requestBody": body,
                "responses": {"200": _json(name, "the changed record"), **_ERRORS},
            },
            "delete": {
                "operationId": f"delete_{op}",
                "summary": f"Delete a record of {catalog.name}",
                "tags": tag,
                "parameters": record_id,
                "responses": {"204": {"description": "deleted"}, **_ERRORS},
            },
        },
    }


def _caller_key(actor: Actor) -> tuple[Any, ...]:
    scopes = repr(sorted((actor.token_scopes or {}).items())) if actor.token_scopes else None
    return (actor.user_id, actor.is_admin, actor.group_ids, scopes)


def catalogs_document(actor: Actor, server: str) -> dict[str, Any]:
    """The document for `actor` (cached per metadata version and caller)."""
    ws = actor.workspace
    key = (ws.name, ws.meta().version, server, *_caller_key(actor))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            _cache.move_to_end(key)
            return hit[1]
    visible = [c for c in catalogs.list_catalogs(actor) if c.system is None]
    doc = _Builder(actor, visible).document(server)
    with _lock:
        _cache[key] = (now + CACHE_SECONDS, doc)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return doc
