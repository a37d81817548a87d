"""Options every field takes besides its type's own: `help` and `default`.

- `help`: a short explanation for the people who fill the field in (shown under the
  input in the card and as a tooltip on the grid's column header).
- `default`: the value a new record gets when the write names no value for the field.
  Written as the API writes a value of the field's type, checked by the type exactly as a
  record's value is, and kept in the type's canonical written form (a select's choice by
  id, so renaming the choice keeps the default; a date and time in UTC). A user field
  may default to `"me"`: the person creating the record.

The catalogs service splits these keys off before the type cleans its own options (a
type refuses unknown keys) and puts them back after; the records write path fills
defaults in (`default_values`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kartoteka.errors import problem
from kartoteka.fields.base import FieldType, FieldValueError

from .errors import BadFieldSpec

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Catalog, Field
    from kartoteka.context import Actor

COMMON_KEYS = ("help", "default")
MAX_HELP = 500
#: The memo key of a field's default as stored (for defaults that do not name "me").
_MEMO = "default_db"
_UNSET = object()


def split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The type's own options and the common ones, apart."""
    own = {k: v for k, v in options.items() if k not in COMMON_KEYS}
    common = {k: options[k] for k in COMMON_KEYS if k in options}
    return own, common


def may_default(ftype: FieldType) -> bool:
    """Whether a field of this type may have a default value: not computed values, links
    (records differ per record) or files (an upload belongs to one record)."""
    return not ftype.read_only and ftype.storage == "column" and ftype.references != "files"


def _names_me(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(v == "me" for v in items)


def _written(rendered: Any) -> Any:
    """A rendered value in the form a write takes (`{"id", "label"}` -> its id)."""
    if isinstance(rendered, dict):
        return rendered.get("id")
    if isinstance(rendered, list):
        return [_written(v) for v in rendered]
    return rendered


def clean(field: Field, common: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check `help` and `default` against the field (its type's options already cleaned);
    FieldValueError names the key that is wrong. An empty help or default is dropped."""
    out: dict[str, Any] = {}
    text = common.get("help")
    if text is not None:
        if not isinstance(text, str):
            raise FieldValueError(
                "help must be a string", "help_string", short="help: must be a string"
            )
        text = " ".join(text.split())
        if len(text) > MAX_HELP:
            raise FieldValueError(
                f"help: at most {MAX_HELP} characters",
                "max_length",
                short=f"help: at most {MAX_HELP} characters",
                max=MAX_HELP,
            )
        if text:
            out["help"] = text
    value = common.get("default")
    if value is None or value == "" or value == []:
        return out
    ftype = field.ftype
    if not may_default(ftype):
        raise FieldValueError(
            f"default: a {field.type} field cannot have a default value",
            "default_not_allowed",
            short="default: not allowed for this type",
            type=field.type,
        )
    try:
        stored = ftype.to_db(value, field, actor)
    except FieldValueError as exc:
        raise FieldValueError(
            f"default: {exc.message}", exc.code, short=f"default: {exc.short}", **exc.params
        ) from None
    if ftype.is_empty(stored):
        return out
    out["default"] = value if _names_me(value) else _written(ftype.from_db(stored, field, None))
    return out


def stored_default(field: Field, actor: Actor | None) -> Any:
    """The field's default as its column stores it, or `_UNSET` when it has none (or it
    names "me" and there is no signed-in actor to be "me")."""
    value = field.options.get("default")
    if value is None or not may_default(field.ftype):
        return _UNSET
    if _names_me(value):
        if actor is None or actor.user_id is None:
            return _UNSET
        return field.ftype.to_db(value, field, actor)
    cached = field.memo.get(_MEMO, _UNSET)
    if cached is _UNSET:
        try:
            # A canonical default (no "me", times in UTC) reads the same for every actor.
            cached = field.ftype.to_db(value, field, actor)  # type: ignore[arg-type]
        except FieldValueError:
            cached = None  # a default its field no longer accepts is no default
        field.memo[_MEMO] = cached
    return _UNSET if cached is None else cached


def is_unset(value: Any) -> bool:
    """`stored_default` found no default."""
    return value is _UNSET


def rendered_default(field: Field, actor: Actor) -> Any:
    """The default as a record renders it (what a new record's form shows), or None."""
    stored = stored_default(field, actor)
    if stored is _UNSET:
        return None
    return field.ftype.from_db(stored, field, actor)


def fill_defaults(
    catalog: Catalog, given: dict[int, Any], columns: dict[str, Any], actor: Actor | None
) -> None:
    """A new record's values (`given` by field id, `columns` by column) get the default of
    every field the write did not name."""
    for f in catalog.fields:
        if f.id in given or "default" not in f.options:
            continue
        value = stored_default(f, actor)
        if value is not _UNSET:
            given[f.id] = value
            columns[f.col] = value


def attach(actor: Actor, probe: Field, common: dict[str, Any]) -> None:
    """Check `common` against `probe` (the field as it will be) and add what stays to its
    options; BadFieldSpec names `options.help` or `options.default`."""
    try:
        probe.options.update(clean(probe, common, actor))
    except FieldValueError as exc:
        key, _sep, reason = exc.short.partition(": ")
        raise BadFieldSpec(errors=[problem(exc.code, f"options.{key}", **exc.params)]) from None
