"""Schemas of the duplicate rules, scan and merge answers (see `openapi_schemas`)."""

from __future__ import annotations

from typing import Any

REF = "#/components/schemas/"
_INT = {"type": "integer"}
_STR = {"type": "string"}


def _obj(required: str, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required.split()}


_RECORD_REF = _obj("id title", id=_INT, title=_STR)

SCHEMAS: dict[str, Any] = {
    "DuplicateRule": _obj(
        "id catalog name fields valid",
        id=_INT,
        catalog=_STR,
        name=_STR,
        fields={
            "type": "array",
            "items": _obj(
                "field normalise",
                field={"type": ["string", "null"], "description": "null: the field was deleted"},
                normalise={"type": "string", "enum": ["phone", "email", "name", "digits", "exact"]},
            ),
        },
        valid={"type": "boolean", "description": "false: a field it names is gone or changed"},
        created_at={"type": "string", "format": "date-time"},
    ),
    "DuplicateRuleList": _obj(
        "items", items={"type": "array", "items": {"$ref": REF + "DuplicateRule"}}
    ),
    "DuplicateGroups": _obj(
        "rule items next_cursor",
        rule={"$ref": REF + "DuplicateRule"},
        items={
            "type": "array",
            "items": _obj(
                "key count records",
                key={"type": "string", "description": "the normalised key the records share"},
                count={"type": "integer", "description": "records in the group you may see"},
                records={"type": "array", "items": _RECORD_REF, "maxItems": 100},
            ),
        },
        next_cursor={"type": ["string", "null"]},
    ),
}

SUCCESS: dict[tuple[str, str], str] = {
    ("get", "/catalogs/{catalog}/duplicate-rules"): "DuplicateRuleList",
    ("post", "/catalogs/{catalog}/duplicate-rules"): "DuplicateRule",
    ("get", "/catalogs/{catalog}/duplicate-rules/{rule_id}"): "DuplicateRule",
    ("patch", "/catalogs/{catalog}/duplicate-rules/{rule_id}"): "DuplicateRule",
    ("post", "/catalogs/{catalog}/duplicates/scan"): "DuplicateGroups",
    ("post", "/catalogs/{catalog}/duplicates/merge"): "Record",
}
