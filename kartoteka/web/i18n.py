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

from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from kartoteka.messages import from_accept_language as from_accept_language
from kartoteka.messages import normalise as normalise

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ru")  # the same as kartoteka.messages.LANGUAGES
DEFAULT_LANG = "en"
LANG_COOKIE = "kartoteka_lang"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}

#: The language of the page being built; set by the page layer for each request.
current_lang: ContextVar[str] = ContextVar("kartoteka_ui_lang", default=DEFAULT_LANG)


def N_(message: str) -> str:  # noqa: N802  (the gettext convention for "mark only")
    """Mark a string for extraction without translating it yet."""
    return message


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


def choose(
    switch: str | None, cookie: str | None, user_lang: str | None, accept: str | None
) -> str:
    """The language of one response (see the module docstring for the order)."""
    for candidate in (switch, cookie, user_lang):
        code = normalise(candidate)
        if code:
            return code
    return from_accept_language(accept) or DEFAULT_LANG
