"""Import options: what a client may ask of an import, checked before anything is read."""

from __future__ import annotations

import codecs
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from kartoteka.errors import ValidationFailed

from . import readers

MODES = ("create", "upsert", "update")
ON_ERROR = ("skip", "stop")
OPTION_KEYS = {
    "mode", "key", "mapping", "dry_run", "on_error", "link_keys",
    "encoding", "delimiter", "date_format", "decimal_comma", "sheet", "list_separator",
    "create_missing", "skip_webhooks", "skip_scenarios", "duplicates", "keep_stamps",
}  # fmt: skip
#: What a row that would create a duplicate does (docs/duplicates.md#imports).
DUPLICATES = ("report", "skip", "merge", "allow")
#: Columns of every catalog a file may fill for historical data (mapping values).
STAMPS = ("created_at", "updated_at", "created_by", "updated_by")


@dataclass
class ImportOptions:
    """Validated import options (see docs/api.md#imports)."""

    mode: str = "create"
    key: list[str] = field(default_factory=list)
    mapping: dict[str, str] | None = None
    dry_run: bool = False
    on_error: str = "skip"
    link_keys: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    date_format: str | None = None
    decimal_comma: bool | None = None
    sheet: str | int | None = None  # XLSX: a sheet's name or its number (1 = first)
    list_separator: str | None = None  # splits a multi-value link cell
    create_missing: list[str] = field(default_factory=list)  # link fields
    skip_webhooks: bool = False  # no notify webhooks for the imported rows
    skip_scenarios: bool = False  # no scenario triggers for the imported rows
    duplicates: str = "report"  # rows duplicating a record: report, skip, merge or allow
    keep_stamps: bool = False  # created/updated dates and authors from the file (stamps.py)

    def to_json(self) -> dict[str, Any]:
        """The options as stored with the job."""
        return dataclasses.asdict(self)


def option_error(name: str, code: str, /, **params: Any) -> ValidationFailed:
    """A 422 naming the offending option: a code of `messages/imports.py` and its params."""
    return ValidationFailed.of(code, f"options.{name}", **params)


def parse_options(raw: Any) -> ImportOptions:
    """Options from a dict or a JSON string; unknown or malformed ones are a 422 naming them."""
    if raw is None or raw == "":
        raw = {}
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise option_error("options", "import_options_json", reason=str(exc)) from None
    if not isinstance(raw, dict):
        raise option_error("options", "import_options_object")
    unknown = sorted(set(raw) - OPTION_KEYS)
    if unknown:
        raise option_error(unknown[0], "import_unknown_option")
    opts = ImportOptions()
    opts.mode = _choice(raw, "mode", MODES, "create")
    opts.on_error = _choice(raw, "on_error", ON_ERROR, "skip")
    opts.key = _names(raw.get("key"), "key")
    opts.mapping = _str_map(raw, "mapping") if raw.get("mapping") is not None else None
    opts.link_keys = _str_map(raw, "link_keys")
    opts.dry_run = _flag(raw, "dry_run") or False
    opts.decimal_comma = _flag(raw, "decimal_comma")
    opts.encoding = _encoding(raw.get("encoding"))
    opts.delimiter = _delimiter(raw.get("delimiter"))
    opts.date_format = _date_format(raw.get("date_format"))
    opts.sheet = _sheet(raw.get("sheet"))
    opts.list_separator = _separator(raw.get("list_separator"))
    opts.create_missing = _names(raw.get("create_missing"), "create_missing")
    for name in opts.create_missing:
        if name not in opts.link_keys:
            raise option_error("create_missing", "import_create_missing", name=name)
    opts.skip_webhooks = _flag(raw, "skip_webhooks") or False
    opts.skip_scenarios = _flag(raw, "skip_scenarios") or False
    opts.duplicates = _choice(raw, "duplicates", DUPLICATES, "report")
    opts.keep_stamps = _flag(raw, "keep_stamps") or False
    if opts.mode != "create" and not opts.key:
        raise option_error("key", "import_key_needed", mode=opts.mode)
    return opts


def _choice(raw: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = raw.get(name, default)
    if value not in allowed:
        raise option_error(name, "import_one_of", allowed=", ".join(allowed))
    return str(value)


def _names(value: Any, name: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise option_error(name, "import_field_list")
    return list(dict.fromkeys(value))


def _str_map(raw: dict[str, Any], name: str) -> dict[str, str]:
    value = raw.get(name) or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise option_error(name, "import_string_map")
    return dict(value)


def _flag(raw: dict[str, Any], name: str) -> bool | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, bool):
        raise option_error(name, "boolean")
    return value


def _encoding(value: Any) -> str | None:
    if value in (None, ""):
        return None

    try:
        info = codecs.lookup(str(value))
    except (LookupError, ValueError):
        raise option_error("encoding", "import_encoding_unknown", value=value) from None
    # rot13, base64, zlib... are codecs too, but not between bytes and text: decoding a
    # file with one of them fails deep in the reader.
    if not getattr(info, "_is_text_encoding", True):
        raise option_error("encoding", "import_encoding_not_text", value=value)
    return info.name


def _delimiter(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if value in ("tab", "\\t"):
        return "\t"
    if not isinstance(value, str) or len(value) != 1 or value in '"\r\n':
        raise option_error("delimiter", "import_delimiter")
    return value


def _date_format(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 100:
        raise option_error("date_format", "import_date_format")
    try:
        readers.pattern_format(value)
    except ValueError:
        raise option_error("date_format", "import_date_format_parts") from None
    return value


def _sheet(value: Any) -> str | int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise option_error("sheet", "import_sheet")
    if isinstance(value, int) and value < 1:
        raise option_error("sheet", "import_sheet_number")
    return value


def _separator(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if value in ("tab", "\\t", "\t"):
        return "\t"
    if not isinstance(value, str) or len(value) > 5 or value.strip() == "":
        raise option_error("list_separator", "import_list_separator")
    return value
