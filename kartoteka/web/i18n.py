"""UI translations with gettext (Babel catalogs), and the choice of language for a request.

Strings are written in English in templates (`_("Sign in")`, `ngettext(...)`) and in
Python (`_()` from this module); `pybabel extract` collects them (see `babel.cfg` and
docs/development.md) and `locales/<lang>/LC_MESSAGES/messages.po` hold the translations.
The .po files are read with Babel when first needed, so there is no compiled file to keep
in step. A test fails when a string is missing from a catalog.

The choice of language, most explicit first: a `?lang=` switch (remembered in a cookie),
the signed-in user's own setting, the browser's Accept-Language, then English. The
switch wins over the account setting because it is what the person just clicked.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ru")
DEFAULT_LANG = "en"
LANG_COOKIE = "kartoteka_lang"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}

#: The language of the page being built; set by the page layer for each request.
current_lang: ContextVar[str] = ContextVar("kartoteka_ui_lang", default=DEFAULT_LANG)


def N_(message: str) -> str:  # noqa: N802  (the gettext convention for "mark only")
    """Mark a string for extraction without translating it yet."""
    return message


#: English messages of the services (field types, the write path) -> the UI's msgid.
#: Patterns capture the parts the translation repeats (`%(0)s`). A message not listed
#: here is shown as the service wrote it. This goes when the services report codes.
FIELD_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), msgid)
    for pattern, msgid in [
        (r"required", N_("required")),
        (r"unknown field", N_("unknown field")),
        (r"read-only field", N_("this field cannot be changed")),
        (r"not a valid e-mail address", N_("not a valid e-mail address")),
        (r"not a valid phone number", N_("not a valid phone number")),
        (r"not a valid http\(s\) URL", N_("not a valid http(s) address")),
        (r"a URL must not contain spaces", N_("an address must not contain spaces")),
        (r"expected a number", N_("expected a number")),
        (r"expected a finite number", N_("expected a number")),
        (r"expected a whole number", N_("expected a whole number")),
        (r"number is too long", N_("the number is too long")),
        (r"number out of range \(.*\)", N_("the number is out of range")),
        (r"expected a date YYYY-MM-DD", N_("expected a date (YYYY-MM-DD)")),
        (r"expected an ISO 8601 date-time", N_("expected a date and time")),
        (r"expected true or false", N_("expected yes or no")),
        (r"expected a string", N_("expected text")),
        (r"at most (\d+) characters", N_("at most %(0)s characters")),
        (r"at most (\d+) digits after the point", N_("at most %(0)s digits after the point")),
        (r"unknown choice (.*)", N_("unknown choice %(0)s")),
        (r"only one choice allowed", N_("only one choice allowed")),
        (r"value (.*) already exists", N_("the value %(0)s already exists")),
        (r"text must not contain NUL characters", N_("the text contains a forbidden character")),
        # the catalog, field and view designers (catalogs and views services)
        (r"1\.\.200 characters", N_("1 to 200 characters")),
        (
            r"must start with a letter and use a-z, 0-9 and _ \(at most 63 characters\)",
            N_("must start with a Latin letter and use a-z, 0-9 and _ (at most 63)"),
        ),
        (r"'(.*)' is reserved", N_("“%(0)s” is reserved")),
        (r"unknown colour", N_("unknown colour")),
        (r"unknown icon", N_("unknown icon")),
        (r"catalog not found", N_("choose the catalog to link to")),
        (r"no such field", N_("no such field")),
        (r"not allowed", N_("not possible for this type")),
        (r"(\d+) record\(s\) are empty", N_("%(0)s records have no value; fill them first")),
        (r"duplicate values: (.*)", N_("values repeat: %(0)s; make them unique first")),
        (r"records would be empty", N_("some records would be left without a value")),
        (r"conversion not supported", N_("this change of type is not possible")),
        (r"catalog cannot change", N_("the linked catalog cannot change")),
        (r"currency must be a 3-letter ISO 4217 code", N_("a three-letter currency code")),
        (r"choices\[\d+\]: duplicate label (.*)", N_("the choice %(0)s is listed twice")),
        (r"not a usable field", N_("this field cannot be used here")),
        (r"must be (select|date)(, [a-z_]+)*", N_("a field of a fitting type is needed")),
    ]
]


@cache
def translations(lang: str) -> Translations:
    """The gettext catalog of a language, read from its .po file once per process."""
    path = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def gettext(message: str, **params: Any) -> str:
    """`message` in the current language, with `%(name)s` parameters filled in."""
    text = translations(current_lang.get()).ugettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, num: int, **params: Any) -> str:
    """The plural form for `num` in the current language (`%(num)s` is filled in)."""
    text = translations(current_lang.get()).ungettext(singular, plural, num)
    return text % {"num": num, **params}


_ = gettext


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


def choose(
    switch: str | None, cookie: str | None, user_lang: str | None, accept: str | None
) -> str:
    """The language of one response (see the module docstring for the order)."""
    for candidate in (switch, cookie, user_lang):
        code = normalise(candidate)
        if code:
            return code
    return from_accept_language(accept) or DEFAULT_LANG


def field_message(message: str, lang: str) -> str:
    """A service's English field message in `lang`; unknown messages pass through."""
    for pattern, msgid in FIELD_MESSAGES:
        match = pattern.fullmatch(message.strip())
        if match:
            text = translations(lang).ugettext(msgid)
            return text % {str(i): g for i, g in enumerate(match.groups())}
    return message
