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

import re
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from . import (
    auth,
    catalogs,
    common,
    duplicates,
    files,
    filters,
    imports,
    pages,
    people,
    records,
    requests,
    rights,
    scenarios,
    search,
    security,
    users,
    views,
    webhooks,
    workspaces,
    writes,
)

LANGUAGES = ("en", "ru")

#: The modules holding codes, each with an `EN` and a `RU` dict.
AREAS: tuple[ModuleType, ...] = (
    common,
    writes,
    people,
    catalogs,
    views,
    filters,
    webhooks,
    files,
    duplicates,
    users,
    rights,
    auth,
    search,
    requests,
    records,
    scenarios,
    security,
    workspaces,
    pages,
    imports,
)

#: code -> English template, over every area.
EN: dict[str, str] = {code: text for area in AREAS for code, text in area.EN.items()}
#: code -> Russian template, over every area.
RU: dict[str, str] = {code: text for area in AREAS for code, text in area.RU.items()}

CATALOGS: dict[str, dict[str, str]] = {"en": EN, "ru": RU}

#: code -> (a parameter listing names of a closed set, those names per language): the
#: parameter keeps the set's codes (programs read them), the text shows the names.
LISTS: dict[str, tuple[str, dict[str, dict[str, str]]]] = {
    code: listed for area in AREAS for code, listed in getattr(area, "LISTS", {}).items()
}


def message(code: str, params: Mapping[str, Any] | None = None, lang: str = "en") -> str:
    """The text of one code with its parameters, in `lang` (English when unknown there)."""
    params = params or {}
    template = CATALOGS.get(lang, EN).get(code) or EN.get(code)
    if template is None:
        return str(params.get("message") or code)
    try:
        return template.format(**_named(code, params, lang))
    except (KeyError, IndexError, ValueError):
        # A parameter missing from the call is a bug, but never a reason to lose the error.
        return str(params.get("message") or code)


def from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The language of raw ASGI headers' Accept-Language (English when none fits), for
    answers made before a request object exists."""
    raw = next((value for name, value in headers if name == b"accept-language"), b"")
    return from_accept_language(raw.decode("latin-1")) or "en"


def _named(code: str, params: Mapping[str, Any], lang: str) -> Mapping[str, Any]:
    """`params` with a listed set's codes ("image, document") named in `lang`, and a
    `reason` given as a code (`reason_code`, `reason_params`) worded in `lang` too."""
    if isinstance(params.get("reason_code"), str):
        reason = message(params["reason_code"], params.get("reason_params") or {}, lang)
        params = {**params, "reason": reason}
    listed = LISTS.get(code)
    if listed is None or not isinstance(params.get(listed[0]), str):
        return params
    key, names = listed
    if lang not in names:
        return params
    parts = (part.strip() for part in params[key].split(","))
    return {**params, key: ", ".join(names[lang].get(part, part) for part in parts)}


def normalise(lang: Any) -> str | None:
    """A supported language code from 'ru', 'ru-RU', 'EN'...; None when unsupported."""
    if not isinstance(lang, str):
        return None
    code = lang.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The best supported language of an Accept-Language header, by its q-weights."""
    best: tuple[float, str] | None = None
    for part in (header or "").split(","):
        tag, _sep, params = part.strip().partition(";")
        code = normalise(tag)
        if code is None:
            continue
        q = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        if q > 0 and (best is None or q > best[0]):
            best = (q, code)
    return best[1] if best else None
