"""The field designer's inputs for the options every field takes (`help`, `default`).

The default value is edited with the field type's own editor (the card's macro in
`templates/fields/`), bound to a probe field named `default_value` that carries the
options shown on the page, and read back with the card's parsers (`forms`); the catalogs
service checks it as it checks a record's value. A user field's default may also be
"me" (the person creating the record), offered by the designer's own picker.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from kartoteka.catalogs import common_options
from kartoteka.catalogs.models import Field
from kartoteka.context import Actor
from kartoteka.fields import all_types
from kartoteka.fields.base import FieldType, FieldValueError

from . import forms
from .i18n import _

DEFAULT_INPUT = "default_value"
#: The hidden input naming the type whose editor showed the default (a type change drops it).
DEFAULT_FOR = "default_for"


def probe(ftype: FieldType, options: dict[str, Any]) -> Field:
    """A stand-in field of the type, holding the page's options, for the default's editor."""
    own = dict(options)
    if ftype.has_choices:
        # Only saved choices (with ids) can be picked; new ones get theirs on save.
        own["choices"] = [
            c for c in own.get("choices") or [] if isinstance(c, dict) and c.get("id")
        ]
    return Field(0, 0, _("Default value"), DEFAULT_INPUT, ftype.type, None, options=own)


def default_editor(
    ftype: FieldType, options: dict[str, Any], actor: Actor, lang: str | None = None
) -> dict[str, Any] | None:
    """What the template needs to show the default's editor, or None when the type takes
    no default (computed values, links, files)."""
    if not common_options.may_default(ftype):
        return None
    field = probe(ftype, options)
    if not forms.has_editor(field):
        return None
    value = options.get("default")
    shown: Any
    if ftype.references == "users":
        items = value if isinstance(value, list) else ([] if value is None else [value])
        shown = [str(v) for v in items]
    else:
        try:
            rendered = common_options.rendered_default(field, actor)
        except FieldValueError:  # a value posted back after a refusal: shown as empty
            rendered = None
        shown = forms.form_value(field, rendered, actor.timezone, lang=lang)
    return {
        "field": field,
        "value": shown,
        "users_picker": ftype.references == "users",
        "no_choices": ftype.has_choices and not field.options.get("choices"),
    }


def read(
    form: FormData, type_name: str, options: dict[str, Any], tz: Any, lang: str | None = None
) -> dict[str, Any]:
    """The posted help and default as options (`None` clears one); `options` are the type's
    own posted options (a multiple select's default is a list). A number or amount default
    is read as typed in `lang` ('1 234,56'); one that is no number raises ValidationFailed
    naming `default_value`."""
    out: dict[str, Any] = {}
    if "opt:help" in form:
        text = form.get("opt:help")
        out["help"] = text.strip() or None if isinstance(text, str) else None
    if form.get(DEFAULT_FOR) != type_name:
        return out
    ftype = all_types().get(type_name)
    if ftype is None:
        return out
    field = probe(ftype, options)
    value = forms.submitted_values([field], form, tz, lang=lang).get(DEFAULT_INPUT)
    if ftype.references == "users":
        picked = [v for v in form.getlist(DEFAULT_INPUT) if isinstance(v, str) and v]
        ids: list[Any] = [int(v) if v.isdecimal() and len(v) < 12 else v for v in picked]
        value = ids if ids else None
        if ids and not options.get("multiple"):
            value = ids[0]
    if ftype.has_choices and value is not None:
        value = [_as_id(v) for v in value] if isinstance(value, list) else _as_id(value)
    # An unticked box is no default (an empty checkbox already reads as "no").
    out["default"] = None if value is False or value in ("", []) else value
    return out


def _as_id(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdecimal() and len(value) < 12 else value
