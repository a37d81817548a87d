"""Values between records and HTML: display text, editors, edit-form inputs and parsing.

Each field type's editor is one Jinja macro, `editor(field, value, id)`, in
`templates/fields/<name>.html`; the name is the type's `editor` attribute when it declares
one, else the type's name. A type without an editor template is shown read-only. The
same module turns the posted form back into the values the records service takes:
`FORM_VALUES` and `PARSERS` below are keyed by editor name, like the templates. Given
the user's language, numbers and amounts are shown and read the way they type them
(`amounts.py`); without one they pass as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from starlette.datastructures import FormData

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import ItemError, ValidationFailed, problem
from kartoteka.fields.base import FieldValueError
from kartoteka.records.read import visible_fields

from . import amounts, i18n
from .i18n import _

FIELD_TEMPLATES = Path(__file__).parent / "templates" / "fields"


def editor_name(field: Field) -> str:
    """The name of the field's editor macro file: the type's `editor` ('' for none)."""
    declared = getattr(field.ftype, "editor", field.type)
    return declared if isinstance(declared, str) else ""


def has_editor(field: Field) -> bool:
    """Whether the field's type brings an editor template."""
    name = editor_name(field)
    return bool(name) and (FIELD_TEMPLATES / f"{name}.html").is_file()


def editor_template(field: Field) -> str:
    """The template holding the field's `editor` macro."""
    return f"fields/{editor_name(field)}.html"


def value_text(field: Field | None, value: Any) -> str:
    """A record value as plain text for tables, cards and history."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(value_text(field, v) for v in value)
    if isinstance(value, dict):
        for key in ("label", "title", "name"):
            if value.get(key) is not None:
                return str(value[key])
        return f"#{value.get('id', '?')}"
    if field is not None and field.ftype.cell == "number" and not isinstance(value, bool):
        return number_text(field, value)
    if field is not None and field.ftype.value_kind == "date" and isinstance(value, str):
        return date_text(value)
    if field is not None and isinstance(value, str):
        return field.ftype.shown_text(value)  # a phone as +7 912 000-00-00
    return str(value)


def date_text(value: str) -> str:
    """A date in the page's language, as the grid and the card show it ('21 нояб. 2026 г.')."""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return format_date(day, "medium", locale=i18n.current_lang.get())


def number_text(field: Field, value: Any) -> str:
    """A number or amount in the page's language: its decimals, the field's format
    (grouped, plain, percent) and a money field's currency. A mask stays as it is."""
    number = amounts.finite_decimal(value)
    if number is None:
        return str(value)
    options = field.ftype.ui_options(field)
    decimals = options.get("decimals")
    digits = int(decimals) if isinstance(decimals, int) else 0
    shown = options.get("format") or "grouped"
    pattern = amounts.decimal_pattern(digits, shown != "plain")
    text = format_decimal(number, format=pattern, locale=i18n.current_lang.get())
    if shown == "percent":
        return f"{text}\u00a0%"
    currency = options.get("currency")
    return f"{text} {currency}" if currency else text


def when_text(value: Any, tz: tzinfo) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM' in the workspace time zone."""
    if not isinstance(value, str) or not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime("%Y-%m-%d %H:%M")


def editable_fields(actor: Actor, catalog: Catalog) -> list[Field]:
    """Fields the actor may change through the edit form."""
    rules = access.field_rules(actor, catalog)
    return [
        f
        for f in visible_fields(actor, catalog, None)
        if has_editor(f)
        and not f.ftype.read_only
        and rules.get(f.api_name) not in ("read_only", "masked")
    ]


# ----- record value -> what the editor shows ---------------------------------------------
def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else ([value] if value not in (None, "") else [])
    return [str(v["id"]) if isinstance(v, dict) else str(v) for v in items]


def _select_value(field: Field, value: Any, tz: tzinfo, lang: str | None) -> Any:
    ids = _ids(value)
    return ids if field.options.get("multiple") else (ids[0] if ids else "")


def _datetime_value(field: Field, value: Any, tz: tzinfo, lang: str | None) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime("%Y-%m-%dT%H:%M")


def _as_list(field: Field, value: Any, tz: tzinfo, lang: str | None) -> list[Any]:
    # Links and files keep their titles/names so the editor can show them.
    return list(value) if isinstance(value, list) else []


def _decimals(field: Field) -> int | None:
    """The digits the field keeps after the separator (None: its type did not say)."""
    decimals = field.ftype.ui_options(field).get("decimals")
    return decimals if isinstance(decimals, int) and not isinstance(decimals, bool) else None


def _amount_value(field: Field, value: Any, tz: tzinfo, lang: str | None) -> str:
    if lang is None:
        return "" if value is None else str(value)
    # A "plain" number (a year, a code) is shown without thousands apart, as in the grid.
    grouped = field.ftype.ui_options(field).get("format") != "plain"
    return amounts.amount_for_input(value, lang, decimals=_decimals(field) or 0, grouped=grouped)


FORM_VALUES: dict[str, Callable[[Field, Any, tzinfo, str | None], Any]] = {
    "checkbox": lambda f, v, tz, lang: bool(v),
    "select": _select_value,
    "user": _select_value,
    "datetime": _datetime_value,
    "link": _as_list,
    "file": _as_list,
    "money": _amount_value,
    "number": _amount_value,
}


def form_value(
    field: Field, value: Any, tz: tzinfo | None = None, *, lang: str | None = None
) -> Any:
    """A record value as the edit form's input holds it (amounts written in `lang`)."""
    convert = FORM_VALUES.get(editor_name(field))
    if convert is not None:
        zone = tz or datetime.now().astimezone().tzinfo
        return convert(field, value, zone, lang)  # type: ignore[arg-type]
    return "" if value is None else str(value)


# ----- posted form -> values for the records service -----------------------------------
_MISSING = object()


def _text(field: Field, form: FormData, tz: tzinfo, lang: str | None) -> Any:
    raw = form.get(field.api_name)
    if raw is None:
        return _MISSING
    return raw if isinstance(raw, str) else ""


def _checkbox(field: Field, form: FormData, tz: tzinfo, lang: str | None) -> Any:
    # The browser sends nothing for an unchecked box; `_checkbox` says it was shown.
    if field.api_name not in set(form.getlist("_checkbox")):
        return _MISSING
    return field.api_name in form


def _listed(field: Field, form: FormData) -> list[str] | object:
    if f"_list_{field.api_name}" not in form:
        return _MISSING
    return [v for v in form.getlist(field.api_name) if isinstance(v, str) and v != ""]


def _choice(field: Field, form: FormData, tz: tzinfo, lang: str | None) -> Any:
    if field.options.get("multiple"):
        return _listed(field, form)
    raw = _text(field, form, tz, lang)
    return None if raw == "" else raw


def _reference(field: Field, form: FormData, tz: tzinfo, lang: str | None) -> Any:
    if field.options.get("multiple") or field.ftype.listed:
        found = _listed(field, form)
        if found is _MISSING or not isinstance(found, list):
            return found
        ids = [int(v) if v.isdigit() and len(v) < 19 else v for v in found]
        return ids
    raw = _text(field, form, tz, lang)
    if raw in ("", None):
        return None
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 19 else raw


def _datetime(field: Field, form: FormData, tz: tzinfo, lang: str | None) -> Any:
    raw = _text(field, form, tz, lang)
    if raw is _MISSING or raw == "":
        return None if raw == "" else raw
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        return raw  # the field type says what is wrong with it
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat()


def _typed_amount(
    field: Field, form: FormData, tz: tzinfo, lang: str | None, decimals: int | None
) -> Any:
    raw = _text(field, form, tz, lang)
    if raw is _MISSING or lang is None:
        return raw
    number = amounts.amount_from_input(raw, lang, decimals=decimals)
    # The records service reads a plain "-1234.56" in every language.
    return None if number is None else format(number, "f")


def _money(field: Field, form: FormData, tz: tzinfo, lang: str | None) -> Any:
    # Money is exact: a digit past its minor unit is refused here, in the user's words.
    return _typed_amount(field, form, tz, lang, _decimals(field))


def _number(field: Field, form: FormData, tz: tzinfo, lang: str | None) -> Any:
    # A number field rounds to its decimals on write (the API does the same).
    return _typed_amount(field, form, tz, lang, None)


PARSERS: dict[str, Callable[[Field, FormData, tzinfo, str | None], Any]] = {
    "checkbox": _checkbox,
    "select": _choice,
    "user": _reference,
    "link": _reference,
    "file": _reference,
    "datetime": _datetime,
    "money": _money,
    "number": _number,
}


def submitted_values(
    fields: list[Field], form: FormData, tz: tzinfo | None = None, *, lang: str | None = None
) -> dict[str, Any]:
    """The form's values by api_name (fields the form did not show are left out); numbers
    and amounts are read as typed in `lang`. Raises ValidationFailed naming every input
    that is no number, before anything reaches the records service."""
    zone = tz or datetime.now().astimezone().tzinfo
    out: dict[str, Any] = {}
    unreadable: list[ItemError] = []
    for f in fields:
        try:
            value = PARSERS.get(editor_name(f), _text)(f, form, zone, lang)  # type: ignore[arg-type]
        except FieldValueError as exc:
            unreadable.append(problem(exc.code, f.api_name, **exc.params, field=f.name))
            continue
        if value is not _MISSING:
            out[f.api_name] = value
    if unreadable:
        raise ValidationFailed(errors=unreadable)
    return out


def typed_amounts(fields: list[Field], form: FormData) -> dict[str, str]:
    """What was typed into the number and amount inputs, to show again after a refusal."""
    wanted = {f.api_name for f in fields if editor_name(f) in ("money", "number")}
    return {k: v for k, v in form.items() if k in wanted and isinstance(v, str)}
