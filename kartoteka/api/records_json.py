"""JSON bodies of record writes <-> the typed write API (`records.requests`).

The HTTP layer alone knows the JSON shapes: this module checks a body's shape and
builds a `BatchRequest`, and renders a `BatchResult`. Shape errors are `ItemError`
values like the service's own, so the error handler renders both the same way.
"""

from __future__ import annotations

from typing import Any

from kartoteka.errors import ItemError, ValidationFailed
from kartoteka.records.batches import MAX_BATCH, MAX_RECORD_ID, too_large
from kartoteka.records.requests import (
    BatchRequest,
    BatchResult,
    CreateItem,
    DeleteItem,
    UpdateItem,
    Upsert,
)

BATCH_KEYS = ("create", "update", "delete", "upsert")


def _invalid(*errors: ItemError) -> ValidationFailed:
    return ValidationFailed(errors=errors)


def batch_request(body: Any) -> BatchRequest:
    """A batch body checked for shape (values are checked by the field types later)."""
    if not isinstance(body, dict):
        raise _invalid(ItemError(None, None, "body", "body_object"))
    unknown = sorted(str(k) for k in set(body) - set(BATCH_KEYS))
    if unknown:
        raise _invalid(*(ItemError(None, None, k[:100], "unknown_key") for k in unknown))
    lists = {key: body.get(key) or [] for key in ("create", "update", "delete")}
    for key, value in lists.items():
        if not isinstance(value, list):
            raise _invalid(ItemError(None, None, key, "must_be_list"))
    upsert = body.get("upsert")
    if upsert is not None and (
        not isinstance(upsert, dict) or not isinstance(upsert.get("items"), list)
    ):
        raise _invalid(ItemError(None, None, "upsert", "upsert_shape"))
    total = sum(len(v) for v in lists.values()) + len((upsert or {}).get("items") or [])
    if total > MAX_BATCH:
        raise too_large(total)
    return BatchRequest(
        create=[CreateItem(_values(it, "create", i)) for i, it in enumerate(lists["create"])],
        update=[_update_item(it, i) for i, it in enumerate(lists["update"])],
        delete=[_delete_item(it, i) for i, it in enumerate(lists["delete"])],
        upsert=_upsert(upsert) if upsert is not None else None,
    )


def _values(item: Any, where: str, index: int | None) -> Any:
    if not isinstance(item, dict) or "values" not in item:
        raise _invalid(ItemError(where, index, "values", "item_shape"))
    return item["values"]


def record_id(value: Any, where: str, index: int | None) -> int:
    """A record id from JSON: a positive integer (or its decimal string)."""
    if isinstance(value, str) and value.isdecimal() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_RECORD_ID:
        raise _invalid(ItemError(where, index, "id", "record_id"))
    return value


def version(value: Any, where: str | None, index: int | None) -> int | None:
    """An expected version from JSON: absent, or a positive integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_RECORD_ID:
        raise _invalid(ItemError(where, index, "version", "version"))
    return value


def _update_item(item: Any, index: int) -> UpdateItem:
    if not isinstance(item, dict):
        raise _invalid(ItemError("update", index, "id", "update_item_shape"))
    rid = record_id(item.get("id"), "update", index)
    values = _values(item, "update", index)
    return UpdateItem(rid, values, version(item.get("version"), "update", index))


def _delete_item(item: Any, index: int) -> DeleteItem:
    if isinstance(item, dict):
        rid = record_id(item.get("id"), "delete", index)
        return DeleteItem(rid, version(item.get("version"), "delete", index))
    return DeleteItem(record_id(item, "delete", index))


def _upsert(upsert: dict[str, Any]) -> Upsert:
    key = upsert.get("key")
    if isinstance(key, str):
        key = [key]  # the first shape of the API: one field's api_name
    if not isinstance(key, list) or not key or not all(isinstance(k, str) for k in key):
        raise _invalid(ItemError("upsert", None, "upsert.key", "upsert_key"))
    items = [CreateItem(_values(it, "upsert", i)) for i, it in enumerate(upsert["items"])]
    return Upsert(tuple(key), items)


def batch_result(result: BatchResult) -> dict[str, Any]:
    """The JSON answer of a batch."""
    body: dict[str, Any] = {
        "created": result.created,
        "updated": result.updated,
        "deleted": result.deleted,
        "unchanged": result.unchanged,
    }
    if result.upserted is not None:
        body["upserted"] = result.upserted
    return body


def record_write(body: Any) -> tuple[Any, int | None]:
    """The values and optional version of a single-record write `{"values", "version"?}`."""
    if not isinstance(body, dict):
        raise _invalid(ItemError(None, None, "body", "body_object"))
    if "values" not in body:
        raise ValidationFailed.of("required", "values")
    return body["values"], version(body.get("version"), None, None)
