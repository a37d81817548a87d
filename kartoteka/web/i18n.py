"""UI translations: one JSON file per language, and the choice of language for a request.

The choice, most explicit first: a `?lang=` switch (remembered in a cookie), the
signed-in user's `lang`, the browser's Accept-Language, then English. The switch
wins over the account setting because it is what the person just clicked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ru")
DEFAULT_LANG = "en"
LANG_COOKIE = "kartoteka_lang"

#: English messages of the services (field types, the write path) -> locale key.
#: Patterns capture the parts the translation repeats ({0}, {1}...). A message not
#: listed here is shown as the service wrote it.
FIELD_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), key)
    for pattern, key in [
        (r"required", "err.required"),
        (r"unknown field", "err.unknown_field"),
        (r"read-only field", "err.read_only"),
        (r"not a valid e-mail address", "err.email"),
        (r"not a valid phone number", "err.phone"),
        (r"not a valid http\(s\) URL", "err.url"),
        (r"a URL must not contain spaces", "err.url_spaces"),
        (r"expected a number", "err.number"),
        (r"expected a finite number", "err.number"),
        (r"expected a whole number", "err.whole_number"),
        (r"number is too long", "err.number_too_long"),
        (r"number out of range \(.*\)", "err.number_range"),
        (r"expected a date YYYY-MM-DD", "err.date"),
        (r"expected an ISO 8601 date-time", "err.datetime"),
        (r"expected true or false", "err.checkbox"),
        (r"expected a string", "err.string"),
        (r"at most (\d+) characters", "err.max_length"),
        (r"at most (\d+) digits after the point", "err.max_decimals"),
        (r"unknown choice (.*)", "err.unknown_choice"),
        (r"only one choice allowed", "err.one_choice"),
        (r"value (.*) already exists", "err.unique"),
        (r"text must not contain NUL characters", "err.nul"),
    ]
]


@cache
def messages(lang: str) -> dict[str, str]:
    """Every UI string of a language (read once per process)."""
    path = LOCALES_DIR / f"{lang}.json"
    with path.open(encoding="utf-8") as fh:
        data: dict[str, str] = json.load(fh)
    return data


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
        tag, _, params = part.strip().partition(";")
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


def choose(
    switch: str | None, cookie: str | None, user_lang: str | None, accept: str | None
) -> str:
    """The language of one response (see the module docstring for the order)."""
    for candidate in (switch, cookie, user_lang):
        code = normalise(candidate)
        if code:
            return code
    return from_accept_language(accept) or DEFAULT_LANG


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **params)` for one language; falls back to English, then to the key."""
    own, english = messages(lang), messages(DEFAULT_LANG)

    def t(key: str, **params: Any) -> str:
        text = own.get(key) or english.get(key) or key
        return text.format(**params) if params else text

    return t


def field_message(message: str, lang: str) -> str:
    """A service's English field message in `lang`; unknown messages pass through."""
    own = messages(lang)
    for pattern, key in FIELD_MESSAGES:
        match = pattern.fullmatch(message.strip())
        if match and key in own:
            return own[key].format(*match.groups())
    return message
