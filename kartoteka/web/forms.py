"""Values between records and HTML: display text, editors, edit-form inputs and parsing.

Each field type's editor is one Jinja macro, `editor(field, value, id)`, in
`templates/fields/<name>.html`; the name is the type's `editor` attribute when it declares
one, else the type's name. A type without an editor template is shown read-only.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.records.read import visible_fields

from .i18n import _

FIELD_TEMPLATES = Path(__file__).parent / "templates" / "fields"


def editor_name(field: Field) -> str:
    """The name of the field's editor macro file (the type's `editor`, else its name)."""
    declared = getattr(field.ftype, "editor", None)
    return declared if isinstance(declared, str) and declared else field.type


def has_editor(field: Field) -> bool:
    """Whether the field's type brings an editor template."""
    return (FIELD_TEMPLATES / f"{editor_name(field)}.html").is_file()


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
    return str(value)


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


def form_value(field: Field, value: Any) -> Any:
    """A record value as the edit form's input holds it."""
    if field.type == "checkbox":
        return bool(value)
    if field.type == "select":
        items = value if isinstance(value, list) else ([value] if value else [])
        ids = [str(v["id"]) for v in items if isinstance(v, dict)]
        return ids if field.options.get("multiple") else (ids[0] if ids else "")
    return "" if value is None else str(value)


def submitted_values(fields: list[Field], form: FormData) -> dict[str, Any]:
    """The form's values by api_name; a checkbox is false when the browser sent nothing."""
    shown = set(form.getlist("_checkbox"))
    out: dict[str, Any] = {}
    for f in fields:
        if f.type == "checkbox":
            if f.api_name in shown:
                out[f.api_name] = f.api_name in form
        elif f.type == "select" and f.options.get("multiple"):
            if f"_multi_{f.api_name}" in form:
                out[f.api_name] = [v for v in form.getlist(f.api_name) if isinstance(v, str)]
        elif f.api_name in form:
            raw = form.get(f.api_name)
            out[f.api_name] = raw if isinstance(raw, str) else ""
    return out
