"""What the designers (catalogs, fields, views) share: a refusal turned into messages
next to the inputs, in the reader's language, and the choices their forms offer.

The designers call the same services as the API, so they refuse what the API refuses;
`explain` only words the refusal: typed errors (`ItemError` codes) through
`kartoteka.messages`, older English `fields` reasons through the UI's translations.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from kartoteka.catalogs.layout import COLORS, ICONS
from kartoteka.errors import DomainError, ValidationFailed
from kartoteka.messages import message

from . import i18n
from .i18n import N_, _

#: The key of a message about the whole form rather than one input.
FORM = ""

COLOR_NAMES = {
    "gray": N_("Gray"),
    "red": N_("Red"),
    "orange": N_("Orange"),
    "yellow": N_("Yellow"),
    "green": N_("Green"),
    "teal": N_("Teal"),
    "blue": N_("Blue"),
    "purple": N_("Purple"),
    "pink": N_("Pink"),
    "brown": N_("Brown"),
}
ICON_NAMES = {
    "folder": N_("Folder"),
    "people": N_("People"),
    "phone": N_("Phone"),
    "mail": N_("Mail"),
    "star": N_("Star"),
    "heart": N_("Heart"),
    "flag": N_("Flag"),
    "gear": N_("Gear"),
    "pencil": N_("Pencil"),
    "check": N_("Check mark"),
    "home": N_("House"),
    "diamond": N_("Diamond"),
    "sun": N_("Sun"),
    "music": N_("Music"),
    "plane": N_("Plane"),
    "scales": N_("Scales"),
    "bolt": N_("Lightning"),
    "cup": N_("Cup"),
    "money": N_("Money"),
    "clock": N_("Clock"),
}


def colors() -> list[tuple[str, str]]:
    """(name, label) of every colour, in the palette's order."""
    return [(c, _(COLOR_NAMES[c])) for c in COLORS]


def icons() -> list[tuple[str, str, str]]:
    """(name, glyph, label) of every catalog icon."""
    return [(name, glyph, _(ICON_NAMES[name])) for name, glyph in ICONS.items()]


def explain(
    exc: DomainError, lang: str, inputs: Collection[str], rename: dict[str, str] | None = None
) -> dict[str, str]:
    """A refusal as {input name: message} for the form's `inputs`; `rename` maps service
    keys to input names. Reasons for keys the form has no input for go under FORM (the
    banner above the form), so nothing is lost."""
    rename = rename or {}
    reasons: list[tuple[str, str]] = []
    if exc.errors:
        for e in exc.errors:
            reasons.append((e.field or e.where or FORM, message(e.code, e.params, lang)))
    elif isinstance(exc, ValidationFailed):
        reasons.extend((str(key), str(text)) for key, text in exc.fields_in(lang).items())
    found: dict[str, str] = {}
    for key, text in reasons:
        name = rename.get(key, key)
        if name not in inputs:
            name, text = FORM, text if key == FORM else f"{key}: {text}"
        found[name] = f"{found[name]}; {text}" if name in found else text
    if not found:
        found[FORM] = exc.text(lang)
    return found


def impact_lines(impact: dict[str, Any]) -> list[str]:
    """What a deletion takes, one line per kind that is not empty, in the reader's language."""
    lines = []
    if impact["records"]:
        lines.append(i18n.ngettext("%(num)d record", "%(num)d records", impact["records"]))
    if impact["links"]:
        lines.append(
            i18n.ngettext(
                "%(num)d link between records", "%(num)d links between records", impact["links"]
            )
        )
    if impact["views"]:
        lines.append(
            i18n.ngettext("%(num)d saved view", "%(num)d saved views", len(impact["views"]))
            + ": "
            + ", ".join(impact["views"])
        )
    if impact["webhooks"]:
        lines.append(i18n.ngettext("%(num)d webhook", "%(num)d webhooks", impact["webhooks"]))
    if impact["link_fields"]:
        lines.append(
            i18n.ngettext(
                "%(num)d link field in other catalogs",
                "%(num)d link fields in other catalogs",
                len(impact["link_fields"]),
            )
            + ": "
            + ", ".join(impact["link_fields"])
        )
    return lines


def value_text(value: Any) -> str:
    """A stored value in a conversion report, as short text."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, dict):
        return str(value.get("label") or value.get("title") or value.get("name") or value)
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    text = str(value)
    return text if len(text) <= 120 else text[:119] + "…"
