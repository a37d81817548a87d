"""The UI's gettext catalogs: every string in the templates and web code is translated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from kartoteka.web import i18n

WEB = Path(i18n.__file__).parent


def extracted(tmp_path: Path) -> dict[object, object]:
    """What `pybabel extract` finds in kartoteka/web now (msgid -> message)."""
    pot = tmp_path / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
    command += ["-k", "N_", "--no-location", "-o", str(pot), "."]
    subprocess.run(command, cwd=WEB, check=True, capture_output=True)
    with pot.open("rb") as fh:
        return {m.id: m for m in read_po(fh) if m.id}


def catalog(lang: str) -> dict[object, object]:
    """A language's .po file (msgid -> message); an entry without its msgstr (a bad merge of
    two branches' additions) fails instead of being read with a warning."""
    with (i18n.LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return {m.id: m for m in read_po(fh, abort_invalid=True) if m.id}


def test_every_ui_string_is_in_both_catalogs_and_translated_to_russian(tmp_path):
    wanted = extracted(tmp_path)
    assert len(wanted) > 50  # the extraction really ran over templates and code
    for lang in i18n.LANGUAGES:
        have = catalog(lang)
        assert sorted(map(str, set(wanted) - set(have))) == [], f"missing in {lang}.po"
        assert sorted(map(str, set(have) - set(wanted))) == [], f"stale entries in {lang}.po"
    untranslated = [
        m.id
        for m in catalog("ru").values()
        if not (all(m.string) if isinstance(m.string, tuple) else m.string)  # type: ignore[attr-defined]
    ]
    assert untranslated == []


def test_plural_forms_follow_each_language():
    i18n.current_lang.set("ru")
    assert [i18n.ngettext("%(num)d field", "%(num)d fields", n) for n in (1, 3, 5, 21)] == [
        "1 поле",
        "3 поля",
        "5 полей",
        "21 поле",
    ]
    i18n.current_lang.set("en")
    assert i18n.ngettext("%(num)d field", "%(num)d fields", 1) == "1 field"
    assert i18n.ngettext("%(num)d field", "%(num)d fields", 2) == "2 fields"
