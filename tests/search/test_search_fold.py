"""Case-insensitive text comparisons fold Unicode (and ё/е) the same way on both databases."""

from __future__ import annotations

import pytest
from conftest_support import *  # noqa: F403
from support.catalogs import deals_linking_clients

from kartoteka.catalogs import service as catalogs
from kartoteka.errors import ValidationFailed
from kartoteka.records import pickers
from kartoteka.records import service as records
from kartoteka.records.requests import BatchRequest

NAMES = ["ООО Ромашка", "ЗАО РОМАШКА-2", "Ёлки-палки", "Елки зеленые", "Acme Straße", "Plain"]


@pytest.fixture
def clients(admin) -> dict[str, int]:
    catalogs.create_catalog(
        admin,
        {
            "name": "Clients",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Note", "api_name": "note", "type": "long_text"},
            ],
        },
    )
    ids = records.batch(admin, "clients", BatchRequest.creating([{"name": n} for n in NAMES]))
    return dict(zip(NAMES, ids.created, strict=True))


def _names(actor, flt) -> list[str]:
    items = records.list_records(actor, "clients", flt, limit=100)["items"]
    return sorted(r["values"]["name"] for r in items)


@pytest.mark.parametrize("needle", ["ромашка", "Ромашка", "РОМАШКА", "рОмАшКа"])
def test_icontains_folds_cyrillic_case(admin, clients, needle) -> None:
    assert _names(admin, {"name": {"icontains": needle}}) == ["ЗАО РОМАШКА-2", "ООО Ромашка"]


def test_caseless_operators(admin, clients) -> None:
    assert _names(admin, {"name": {"istartswith": "ооо"}}) == ["ООО Ромашка"]
    assert _names(admin, {"name": {"iendswith": "ШКА"}}) == ["ООО Ромашка"]
    assert _names(admin, {"name": {"ieq": "ооо ромашка"}}) == ["ООО Ромашка"]
    assert _names(admin, {"name": {"ieq": "ооо ромашк"}}) == []
    # Wildcards in the operand are literal characters, not patterns.
    assert _names(admin, {"name": {"icontains": "%"}}) == []
    assert _names(admin, {"name": {"iendswith": "_2"}}) == []


def test_yo_folds_by_default_and_the_setting_turns_it_off(admin, clients) -> None:
    both = sorted(["Елки зеленые", "Ёлки-палки"])
    assert _names(admin, {"name": {"icontains": "елки"}}) == both
    assert _names(admin, {"name": {"icontains": "ЁЛКИ"}}) == both
    catalogs.set_setting(admin, "fold_yo", False)
    assert _names(admin, {"name": {"icontains": "елки"}}) == ["Елки зеленые"]
    assert _names(admin, {"name": {"icontains": "ЁЛКИ"}}) == ["Ёлки-палки"]


def test_case_sensitive_operators_stay_exact(admin, clients) -> None:
    assert _names(admin, {"name": {"startswith": "ООО"}}) == ["ООО Ромашка"]
    assert _names(admin, {"name": {"startswith": "ооо"}}) == []


def test_bad_operand_is_a_validation_error(admin, clients) -> None:
    with pytest.raises(ValidationFailed) as err:
        records.list_records(admin, "clients", {"name": {"ieq": ""}})
    assert "name" in err.value.fields


def test_link_picker_search_folds(admin, clients) -> None:
    deals_linking_clients(admin)
    found = pickers.link_choices(admin, "deals", "client", "РОМАШК", 50)
    assert sorted(c["title"] for c in found) == ["ЗАО РОМАШКА-2", "ООО Ромашка"]
    found = pickers.link_choices(admin, "deals", "client", "ёлки", 50)
    assert sorted(c["title"] for c in found) == sorted(["Елки зеленые", "Ёлки-палки"])
