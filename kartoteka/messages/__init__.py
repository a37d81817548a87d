"""Messages of domain error codes, in English and Russian.

Services report problems as a code with parameters (`ItemError`, `FieldValueError`,
`errors.Invalid(code=...)`); the edges (REST API, HTML UI, CLI) turn them into text
here, in the reader's language. Templates use `str.format` fields named after the
parameters; a code missing from a language falls back to English, and an unknown
code to its `message` parameter (the field type's own English text) or to the code.

Each area keeps its codes in its own module (`writes.py`, ...), listed in `AREAS`;
a code is defined once across them (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from . import duplicates, people, writes

LANGUAGES = ("en", "ru")

#: The modules holding codes, each with an `EN` and a `RU` dict.
AREAS: tuple[ModuleType, ...] = (writes, people, duplicates)

#: code -> English template, over every area.
EN: dict[str, str] = {code: text for area in AREAS for code, text in area.EN.items()}
#: code -> Russian template, over every area.
RU: dict[str, str] = {code: text for area in AREAS for code, text in area.RU.items()}

CATALOGS: dict[str, dict[str, str]] = {"en": EN, "ru": RU}


def message(code: str, params: Mapping[str, Any] | None = None, lang: str = "en") -> str:
    """The text of one code with its parameters, in `lang` (English when unknown there)."""
    params = params or {}
    template = CATALOGS.get(lang, EN).get(code) or EN.get(code)
    if template is None:
        return str(params.get("message") or code)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        # A parameter missing from the call is a bug, but never a reason to lose the error.
        return str(params.get("message") or code)
