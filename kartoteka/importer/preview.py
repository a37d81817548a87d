"""A look at a file before importing it: what was detected, the first rows, and which
column probably goes to which field (the import wizard's second and third steps).

Nothing is written. The suggestions match a column's header to a writable field by its
name, its api_name, the header's transliteration (`Телефон` -> `telefon`) and a small
table of Russian and English words that mean the same (`Телефон` -> a field `Phone`).
"""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path
from typing import Any

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.catalogs.naming import derive_api_name
from kartoteka.catalogs.service import get_catalog
from kartoteka.context import Actor
from kartoteka.errors import Forbidden

from . import readers
from .options import parse_options

PREVIEW_ROWS = 10
#: Words that name the same thing in Russian and English headers (compared folded).
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(group)
    for group in (
        {"name", "title", "full name", "название", "наименование", "имя", "фио", "полное имя"},
        {"phone", "telephone", "tel", "mobile", "телефон", "тел", "мобильный", "моб телефон"},
        {"email", "e mail", "mail", "почта", "эл почта", "электронная почта", "емейл"},
        {"region", "регион", "область"},
        {"city", "town", "город"},
        {"address", "адрес"},
        {"country", "страна"},
        {"date", "дата"},
        {"amount", "sum", "total", "сумма", "итого"},
        {"price", "cost", "цена", "стоимость"},
        {"status", "state", "статус", "состояние"},
        {"stage", "этап", "стадия"},
        {"comment", "comments", "note", "notes", "комментарий", "примечание", "заметки"},
        {"description", "описание"},
        {"company", "organization", "organisation", "компания", "организация"},
        {"client", "customer", "клиент", "заказчик", "покупатель"},
        {"owner", "manager", "responsible", "ответственный", "менеджер"},
        {"number", "no", "номер"},
        {"inn", "tax id", "инн"},
        {"birthday", "date of birth", "дата рождения", "день рождения"},
        {"start", "начало"},
        {"end", "finish", "окончание", "конец"},
        {"due", "deadline", "срок"},
        {"type", "kind", "тип", "вид"},
        {"category", "категория"},
        {"website", "site", "сайт"},
        {"policy", "полис"},
        {"product", "продукт", "страховой продукт"},
        {"sum insured", "insured sum", "страховая сумма"},
        {"premium", "премия"},
        {"active", "активен", "активный"},
    )
)
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """A header or name compared loosely: case, ё/е, punctuation and spacing ignored."""
    return _NOT_WORD.sub(" ", text.casefold().replace("ё", "е")).strip()


def _score(header: str, f: Field) -> int:
    """How surely a column with this header goes to the field (0: not at all)."""
    h = fold(header)
    names = {fold(f.name), fold(f.api_name)}
    if not h:
        return 0
    if h in names:
        return 100
    if derive_api_name(header, set()) == f.api_name:
        return 90
    if any(h in group and names & group for group in SYNONYMS):
        return 80
    if len(h) >= 3 and any(len(n) >= 3 and (h in n or n in h) for n in names):
        return 50
    return 0


def suggest(headers: list[str], fields: list[Field]) -> dict[str, str]:
    """header -> api_name: the surest pairs first, each field and header used once."""
    pairs = [
        (_score(h, f), i, f.api_name, h)
        for i, h in enumerate(headers)
        for f in fields
        if _score(h, f) > 0
    ]
    taken_fields: set[str] = set()
    taken_headers: set[int] = set()
    out: dict[str, str] = {}
    for _, i, api_name, header in sorted(pairs, key=lambda p: (-p[0], p[1])):
        if api_name in taken_fields or i in taken_headers or header in out:
            continue
        out[header] = api_name
        taken_fields.add(api_name)
        taken_headers.add(i)
    return out


def writable_fields(actor: Actor, catalog: Catalog) -> list[Field]:
    """The fields an import by this actor may fill (not computed, hidden or read-only)."""
    rules = access.field_rules(actor, catalog)
    return [
        f
        for f in catalog.fields
        if not f.ftype.read_only and rules.get(f.api_name) not in ("hidden", "read_only", "masked")
    ]


def _field_json(actor: Actor, f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {
        "api_name": f.api_name,
        "name": f.name,
        "type": f.type,
        "required": f.required,
        "unique": f.unique,
    }
    if f.is_link:
        target = actor.workspace.meta().catalog(f.options.get("catalog") or 0)
        if target is not None and access.can_see_catalog(actor, target):
            out["target"] = {"api_name": target.api_name, "name": target.name}
            out["keys"] = [
                {"api_name": g.api_name, "name": g.name, "unique": g.unique}
                for g in target.fields
                if g.ftype.names_records
            ]
    if f.ftype.has_choices:
        out["choices"] = [c.get("label") for c in f.options.get("choices", [])]
    return out


def _require_some_import(actor: Actor, catalog: Catalog) -> None:
    """Forbidden unless the actor may create or edit records here (some import mode)."""
    access.require_catalog(actor, catalog)
    if actor.is_admin or access.can_create(actor, catalog):
        return
    if not any(g.get("edit") not in (None, False) for g in access.grants(actor, catalog)):
        raise Forbidden.of("import_forbidden", catalog=catalog.api_name)


def preview_import(
    actor: Actor, catalog_ref: str | int, path: Path, options: Any
) -> dict[str, Any]:
    """What the file looks like to the importer, and a suggested mapping; writes nothing."""
    catalog = get_catalog(actor, catalog_ref)
    _require_some_import(actor, catalog)
    opts = parse_options(options)
    source = readers.open_source(path, opts.encoding, opts.delimiter, opts.sheet)
    rows = [cells for _, cells in islice(source.rows(), PREVIEW_ROWS)]
    fields = writable_fields(actor, catalog)
    width = len(source.headers)
    return {
        "catalog": {"id": catalog.id, "api_name": catalog.api_name, "name": catalog.name},
        "kind": source.kind,
        "sheet": source.sheet,
        "sheets": readers.sheet_titles(path) if source.kind == "xlsx" else [],
        "encoding": source.encoding,
        "delimiter": source.delimiter,
        "headers": source.headers,
        "rows": [(cells + [""] * width)[:width] for cells in rows],
        "suggested": suggest(source.headers, fields),
        "fields": [_field_json(actor, f) for f in fields],
    }
