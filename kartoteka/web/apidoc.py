"""The browsable API page of one catalog: its fields as the API names them, an example
record, and copy-paste `curl` and Python (httpx) calls for every record operation.

What each field's values look like comes from the field types' own JSON Schemas
(`value_schema` for what reads return, `write_schema` for what writes accept) — the same
source as the per-catalog OpenAPI document `/api/v1/openapi/catalogs.json` — so the page
and a generated client never disagree. The caller's field rules apply: hidden fields are
not listed, masked and read-only ones are not offered for writing. Examples are built
from the schemas (never from anyone's data), so a page can be shared or printed.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.records.read import visible_fields

from .i18n import N_, _

_EG = re.compile(r"e\.g\. (\S+)")
#: The field types' schema descriptions the page shows, for `pybabel extract` (others
#: stay as the type wrote them).
NOTES = (
    N_("ids of the linked records"),
    N_("a choice by label (any case) or id"),
    N_("an exact amount"),
    N_("a user id or me"),
    N_("file ids"),
    N_("E.164, e.g. +74951234567"),
)


def _link_ref(catalog_id: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "title": {"type": ["string", "null"]}},
        "x-catalog": catalog_id,
    }


def _non_null(types: Any) -> str | None:
    if isinstance(types, list):
        rest = [t for t in types if t != "null"]
        # A type that takes a number or a string (money) is shown as a number.
        return "number" if "number" in rest else (rest[0] if rest else None)
    return types if isinstance(types, str) else None


def example(schema: dict[str, Any], field: Field, n: int = 1) -> Any:
    """A plausible value for `schema` (a field's read or write schema)."""
    if "const" in schema:
        return schema["const"]
    if "oneOf" in schema:
        options = [s for s in schema["oneOf"] if s.get("type") != "null"]
        return example(options[0], field, n) if options else None
    if schema.get("enum"):
        return schema["enum"][(n - 1) % len(schema["enum"])]
    kind = _non_null(schema.get("type"))
    if kind == "array":
        return [example(schema.get("items") or {}, field, n)]
    if kind == "object":
        props = schema.get("properties") or {}
        # Optional text inside a value (a choice's colour) is shown empty; names and
        # titles read better filled in.
        return {
            k: None
            if isinstance(v.get("type"), list)
            and "null" in v["type"]
            and k not in ("name", "title")
            else example(v, field, n)
            for k, v in props.items()
        }
    if kind == "integer":
        return 1  # integers are mostly ids (users, linked records): the first one exists
    if kind == "number":
        return 1500 * n
    if kind == "boolean":
        return True
    if kind == "string":
        return _string(schema, field, n)
    return None


def _string(schema: dict[str, Any], field: Field, n: int) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return date.today().isoformat()
    if fmt == "date-time":
        return datetime.now(UTC).replace(microsecond=0, second=0).isoformat().replace("+00:00", "Z")
    if fmt == "email":
        return f"person{n}@example.com"
    if fmt == "uri":
        return "https://example.com/"
    hint = _EG.search(schema.get("description") or "")
    if hint:
        return hint.group(1).rstrip(".,;)")
    pattern = schema.get("pattern") or ""
    if pattern.startswith("^-?\\d+"):
        decimals = re.search(r"\{(\d+)\}", pattern)
        return f"{1500 * n}.{'0' * int(decimals.group(1))}" if decimals else str(1500 * n)
    return f"{field.name} {n}"


def _wants(schema: dict[str, Any]) -> str:
    """A short human description of the accepted JSON ("string", "integer or null"...)."""
    if "oneOf" in schema:
        parts = [_wants(s) for s in schema["oneOf"]]
        return " | ".join(dict.fromkeys(p for p in parts if p))
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    words = []
    for k in kinds:
        if k == "object" and schema.get("properties"):
            words.append("{" + ", ".join(schema["properties"]) + "}")
        elif k == "array":
            words.append(f"[{_wants(schema.get('items') or {})}]")
        elif k == "string" and schema.get("format"):
            words.append(f"string ({schema['format']})")
        elif k:
            words.append(str(k))
    return " | ".join(words) or "JSON"


def field_rows(actor: Actor, catalog: Catalog) -> list[dict[str, Any]]:
    """The fields the actor may see, with what reads return and what writes accept."""
    rules = access.field_rules(actor, catalog)
    meta = actor.workspace.meta()
    rows = []
    for f in visible_fields(actor, catalog, None):
        rule = rules.get(f.api_name)
        writable = not f.ftype.read_only and rule not in ("read_only", "masked")
        read = f.ftype.value_schema(f, _link_ref)
        write = f.ftype.write_schema(f, _link_ref) if writable else None
        target_id = _target(read)
        target = meta.catalog(target_id) if target_id else None
        rows.append(
            {
                "field": f,
                "rule": rule,
                "writable": writable,
                "masked": rule == "masked",
                "reads": _("text (masked for you)") if rule == "masked" else _wants(read),
                "writes": _wants(write) if write else "",
                "note": (write or read).get("description") or "",
                "upload": f.ftype.references == "files",
                "choices": f.options.get("choices") or [],
                "target": target if target and access.can_see_catalog(actor, target) else None,
                "multiple": bool(f.options.get("multiple")),
                "read_schema": read,
                "write_schema": write,
            }
        )
    return rows


def _target(schema: dict[str, Any]) -> int | None:
    """The catalog a link schema points to (the `x-catalog` mark of `_link_ref`)."""
    items = schema.get("items") if isinstance(schema.get("items"), dict) else None
    found = (items or schema).get("x-catalog")
    return int(found) if isinstance(found, int) else None


def example_record(catalog: Catalog, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A record as `GET .../records/{id}` returns it, with example values."""
    values = {}
    for row in rows:
        f = row["field"]
        if row["masked"]:
            values[f.api_name] = "*** masked ***"
            continue
        value = example(row["read_schema"], f)
        if isinstance(value, dict):
            value.pop("x-catalog", None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    item.pop("x-catalog", None)
        values[f.api_name] = value
    stamp = "2026-01-15T09:30:00Z"
    admin = {"id": 1, "name": "Administrator"}
    return {
        "id": 1,
        "catalog": {"id": catalog.id, "api_name": catalog.api_name},
        "title": str(values.get(catalog.title_field.api_name)) if catalog.title_field else "#1",
        "values": values,
        "version": 1,
        "created_at": stamp,
        "updated_at": stamp,
        "created_by": admin,
        "updated_by": admin,
    }


def example_values(rows: list[dict[str, Any]], n: int = 1) -> dict[str, Any]:
    """The `values` of a write: every writable field (required ones first). Files are left
    out: their ids come from an upload first (`POST /api/v1/files`), the table says so."""
    writable = [r for r in rows if r["writable"] and r["field"].ftype.references != "files"]
    writable.sort(key=lambda r: not r["field"].required)
    return {r["field"].api_name: example(r["write_schema"], r["field"], n) for r in writable}


def _filter_example(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """A filter on the first filterable field with an `eq`, and a sort on it."""
    for row in rows:
        f = row["field"]
        if row["masked"] or "eq" not in f.ftype.operators:
            continue
        value = example(row["write_schema"] or row["read_schema"], f)
        if isinstance(value, list | dict):
            continue
        return {f.api_name: {"eq": value}}, f"-{f.api_name}" if f.ftype.sortable else "-id"
    return {}, "-id"


def operations(catalog: Catalog, rows: list[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    """Each record operation of this catalog with its curl and Python (httpx) call."""
    base = f"{origin}/catalogs/{catalog.api_name}"
    create = {"values": example_values(rows)}
    first = next((r for r in rows if r["writable"] and not r["upload"]), None)
    update: dict[str, Any] = {"values": {}}
    if first is not None:
        update["values"] = {
            first["field"].api_name: example(first["write_schema"], first["field"], 2)
        }
    flt, sort = _filter_example(rows)
    query: dict[str, Any] = {"limit": 100, "sort": sort}
    if flt:
        query["filter"] = flt
    batch = {
        "create": [{"values": example_values(rows, 1)}, {"values": example_values(rows, 2)}],
        "update": [{"id": 1, **update}],
        "delete": [2],
    }
    ops = [
        (
            "list",
            _("List records (a page; pass next_cursor to get the next one)"),
            "POST",
            "/records/query",
            query,
        ),
        ("get", _("Get one record"), "GET", "/records/1", None),
        ("create", _("Create a record"), "POST", "/records", create),
        (
            "update",
            _("Change a record (only the values you send; If-Match refuses a stale write)"),
            "PATCH",
            "/records/1",
            update,
        ),
        ("delete", _("Delete a record"), "DELETE", "/records/1", None),
        (
            "batch",
            _("Create, change and delete up to 1,000 records at once (all or nothing)"),
            "POST",
            "/records/batch",
            batch,
        ),
    ]
    return [
        {
            "id": key,
            "title": title,
            "method": method,
            "path": f"/api/v1/catalogs/{catalog.api_name}{path}",
            "curl": _curl(method, base + path, body, key == "update"),
            "python": _python(method, base + path, body, key),
        }
        for key, title, method, path, body in ops
    ]


_SCALAR_LIST = re.compile(r"\[\s*((?:[^\[\]{}\s][^\[\]{}]*?)?)\s*\]", re.S)


def dumps(body: Any, indent: int = 2) -> str:
    """JSON as the page shows it: indented, Cyrillic kept readable, lists of plain values
    (ids) on one line."""
    text = json.dumps(body, ensure_ascii=False, indent=indent)
    return _SCALAR_LIST.sub(lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text)


def _curl(method: str, url: str, body: Any, versioned: bool) -> str:
    lines = [f"curl -X {method} '{url}'", '  -H "Authorization: Bearer $KARTOTEKA_TOKEN"']
    if versioned:
        lines.append("  -H 'If-Match: \"1\"'")
    if body is not None:
        lines.append("  -H 'Content-Type: application/json'")
        text = dumps(body).replace("'", "'\\''")
        lines.append(f"  --data-raw '{text}'")
    return " \\\n".join(lines)


def _python(method: str, url: str, body: Any, key: str) -> str:
    head = [
        "import os",
        "",
        "import httpx",
        "",
        'headers = {"Authorization": f"Bearer {os.environ[\'KARTOTEKA_TOKEN\']}"}',
    ]
    call = f'httpx.{method.lower()}("{url}", headers=headers'
    if key == "update":
        head.append('headers["If-Match"] = \'"1"\'  # the version you read; 412 if it changed')
    if body is not None:
        head.append("body = " + _py_literal(body))
        call += ", json=body"
    call += ", timeout=30)"
    tail = [
        "if response.is_error:",
        '    raise SystemExit(f"{response.status_code}: {response.text}")',
    ]
    if key == "list":
        tail.append('for record in response.json()["items"]:')
        tail.append('    print(record["id"], record["title"])')
    elif key != "delete":
        tail.append("print(response.json())")
    return "\n".join([*head, f"response = {call}", *tail])


def _py_literal(value: Any) -> str:
    """JSON text as a Python literal (true/false/null spelled the Python way)."""
    text = dumps(value, indent=4)
    return re.sub(r'("(?:[^"\\]|\\.)*")|\btrue\b|\bfalse\b|\bnull\b', _py_word, text)


def _py_word(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1)
    return {"true": "True", "false": "False", "null": "None"}[match.group(0)]
